import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { alertmanagerConfig, AlertRouting, Receivers } from "../renderers/monitoring/alertmanager";
import {
  aliasOf,
  ALERTMANAGER_CONFIG,
  BLACKBOX_CONFIG,
  MONITORING_LIMITS,
  MONITORING_PARTS,
  monitoringCommand,
  monitoringContainerName,
  MonitoringPart,
  REDIS_EXPORTER_PASSWORDS,
  redisExporterPasswords,
  TEXTFILE_DIR,
} from "../renderers/monitoring/containers";
import { blackboxConfig, prometheusConfig } from "../renderers/monitoring/prometheus";
import { rulesConfig } from "../renderers/monitoring/rules";
import { MonitoringSpec, PROMETHEUS_CONFIG, PROMETHEUS_RULES } from "../renderers/monitoring/spec";
import { dockerLabels, labelMap, StackIdentity, stackPrefix } from "../renderers/names";
import { hardening, LogSettings, SECRET_FILE_MODE, Upload } from "../renderers/services/containers";
import { serviceFiles } from "./serviceFiles";

/** What the monitoring is, on one host or a swarm. */
export interface MonitoringPartsArgs {
  /** Project and stack: every name and label carries them. */
  identity: StackIdentity;
  /** Each part's image (pinned upstream images by digest, config `images.*`). */
  images: Record<MonitoringPart, pulumi.Input<string>>;
  /** What is watched and the thresholds (components/renderers/monitoring/spec.ts). */
  spec: MonitoringSpec;
  /** Grouping and repeat timings. */
  routing: Omit<AlertRouting, "receivers" | "stack">;
  /** Where alerts go; their URLs and password are secrets. */
  receivers: pulumi.Input<Receivers>;
  /** Redis's password, for the exporter (a secret file). */
  redisPassword: pulumi.Input<string>;
  /** Days Prometheus keeps (config `monitoring.retentionDays`). */
  retentionDays: number;
  /** Log driver and rotation (config `logs`). @default DEFAULT_LOGS */
  logs?: LogSettings;
}

export interface MonitoringArgs extends MonitoringPartsArgs {
  /** The stack's private network: the probes reach the proxy there, Prometheus the exporters. */
  networkName: pulumi.Input<string>;
  /** Seconds to wait for each container to be healthy (config `healthTimeoutSeconds`). */
  healthTimeoutSeconds: number;
}

/**
 * Prometheus, Alertmanager and the blackbox, node and Redis exporters on the stack's network, no
 * port published (`npm run ops -- <stack> monitor` tunnels to them). Prometheus's and Alertmanager's
 * data live on retained volumes; the node exporter reads the host's memory and the free space of
 * Docker's data file system (no host folder bound in), and the textfile folder the host's jobs copy metrics into.
 */
export class Monitoring extends pulumi.ComponentResource {
  /** Container name of each part. */
  public readonly containerNames: Record<MonitoringPart, pulumi.Output<string>>;
  /** The textfile folder's volume: the host's jobs copy their metrics into it (components/renderers/monitoring/hostMetrics.ts). */
  public readonly textfileVolume: pulumi.Output<string>;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:monitoring:Monitoring", name, {}, opts);
    const prefix = stackPrefix(args.identity);
    const labels = dockerLabels({ ...labelMap(args.identity), "copilotos.monitoring": "true" });
    const volume = (part: string, retained: boolean) =>
      new docker.Volume(`${name}-${part}`, { name: `${prefix}-${part}`, labels }, { parent: this, retainOnDelete: retained, dependsOn: opts?.dependsOn });
    const data: Partial<Record<MonitoringPart, docker.Volume>> = {
      prometheus: volume("prometheus-data", true),
      alertmanager: volume("alertmanager-data", true),
    };
    const textfile = volume("metrics", false);
    const uploads: Record<MonitoringPart, Upload<pulumi.Input<string>>[]> = {
      prometheus: [
        { file: PROMETHEUS_CONFIG, content: prometheusConfig(args.spec), permissions: "0444" },
        { file: PROMETHEUS_RULES, content: rulesConfig(args.spec), permissions: "0444" },
      ],
      alertmanager: [
        {
          file: ALERTMANAGER_CONFIG,
          content: pulumi.secret(
            pulumi.output(args.receivers).apply((receivers) => alertmanagerConfig({ ...args.routing, stack: args.spec.stack, receivers })),
          ),
          permissions: SECRET_FILE_MODE,
        },
      ],
      blackbox: [{ file: BLACKBOX_CONFIG, content: blackboxConfig(args.spec), permissions: "0444" }],
      nodeExporter: [],
      redisExporter: [
        {
          file: REDIS_EXPORTER_PASSWORDS,
          content: pulumi.secret(pulumi.output(args.redisPassword).apply(redisExporterPasswords)),
          permissions: SECRET_FILE_MODE,
        },
      ],
    };
    const containers = MONITORING_PARTS.map((part) => {
      const c = monitoringCommand(part, args.retentionDays);
      const dataVolume = data[part];
      const volumes = [
        ...(dataVolume && c.dataPath ? [{ volumeName: dataVolume.name, containerPath: c.dataPath }] : []),
        // Writable for `docker cp` from the host's jobs (Docker refuses a copy into a read-only mount);
        // the exporter's own user cannot write the root-owned folder.
        ...(part === "nodeExporter" ? [{ volumeName: textfile.name, containerPath: TEXTFILE_DIR }] : []),
      ];
      // A part with files mounts them too and waits for their writer; one without has its volumes alone.
      const mounted = uploads[part].length
        ? serviceFiles(
            `${name}-${part}`,
            { identity: args.identity, base: monitoringContainerName(args.identity, part), image: args.images[part], uploads: uploads[part], mounts: volumes },
            { parent: this, dependsOn: opts?.dependsOn },
          )
        : { volumes, dependsOn: opts?.dependsOn };
      return new docker.Container(
        `${name}-${part}`,
        {
          name: monitoringContainerName(args.identity, part),
          image: args.images[part],
          command: c.command,
          labels,
          networksAdvanced: [{ name: args.networkName, aliases: [aliasOf(part)] }],
          healthcheck: c.healthcheck,
          wait: true,
          waitTimeout: args.healthTimeoutSeconds,
          ...hardening(MONITORING_LIMITS[part], args.logs),
          // Every part on a read-only root: its files (if any) are on volumes of their own.
          readOnly: true,
          volumes: mounted.volumes,
        },
        // A fixed name: the old container goes before the new one starts (a gap of seconds in the watching).
        { parent: this, dependsOn: mounted.dependsOn, deleteBeforeReplace: true },
      );
    });
    this.containerNames = Object.fromEntries(MONITORING_PARTS.map((p, i) => [p, containers[i].name])) as Record<MonitoringPart, pulumi.Output<string>>;
    this.textfileVolume = textfile.name;
    this.registerOutputs({ containerNames: this.containerNames, textfileVolume: this.textfileVolume });
  }
}

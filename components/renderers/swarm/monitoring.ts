/**
 * The monitoring's parts as swarm services (docker.Service arguments), the swarm's counterpart of
 * components/services/monitoring.ts: the same images, arguments, health checks and limits, on the
 * stack's overlay network under the same aliases. Pure and generic like swarmService.
 *
 * - The node exporter is global: one task per node, each named after its node (its hostname, so
 *   `node_uname_info` names the node) and found by Prometheus through `tasks.<service>` in Docker's DNS.
 * - Prometheus and Alertmanager keep their data on local volumes, so they are pinned to the data node.
 * - Files arrive as swarm configs (Prometheus's and the blackbox's) and Docker secrets
 *   (Alertmanager's receivers, the Redis exporter's password): every root is read-only.
 */
import { DEFAULT_LOGS, LogSettings, logOptions } from "../services/containers";
import { aliasOf, MONITORING_LIMITS, monitoringCommand, monitoringContainerName, MonitoringPart, TEXTFILE_DIR } from "../monitoring/containers";
import { dockerLabels, labelMap, StackIdentity, stackPrefix } from "../names";
import { SecretRef, updates } from "./services";

/** A swarm config a task reads, as which file. */
export interface ConfigRef<T> {
  configId: T;
  configName: T;
  fileName: string;
}

export interface SwarmMonitoringParts<T> {
  identity: StackIdentity;
  part: MonitoringPart;
  image: T;
  /** The stack's overlay network. */
  network: T;
  /** Days Prometheus keeps. */
  retentionDays: number;
  /** Node hostname of the parts with data (Prometheus, Alertmanager). */
  dataNode: string;
  monitorSeconds: number;
  logs?: LogSettings;
  configs?: ConfigRef<T>[];
  secrets?: SecretRef<T>[];
}

/** The swarm service of a monitoring part: `copilotos-<stack>-<alias>`, as the single host's container. */
export const swarmMonitoringName = monitoringContainerName;
/** The volume of a part's data (the same names as on one host); the node exporter's textfile folder. */
const VOLUMES: Partial<Record<MonitoringPart, string>> = { prometheus: "prometheus-data", alertmanager: "alertmanager-data", nodeExporter: "metrics" };

/** One monitoring part's docker.Service arguments. */
export function swarmMonitoringService<T>(p: SwarmMonitoringParts<T>) {
  const c = monitoringCommand(p.part, p.retentionDays);
  const labels = dockerLabels({ ...labelMap(p.identity), "copilotos.monitoring": "true" });
  const volume = VOLUMES[p.part];
  const target = p.part === "nodeExporter" ? TEXTFILE_DIR : "dataPath" in c ? c.dataPath : undefined;
  const h = c.healthcheck;
  const logs = p.logs ?? DEFAULT_LOGS;
  const limits = MONITORING_LIMITS[p.part];
  return {
    name: swarmMonitoringName(p.identity, p.part),
    labels,
    mode: p.part === "nodeExporter" ? { global: true } : { replicated: { replicas: 1 } },
    taskSpec: {
      containerSpec: {
        image: p.image,
        // Arguments to the image's entrypoint (the program), as on one host.
        args: c.command,
        ...(p.part === "nodeExporter" ? { hostname: "{{.Node.Hostname}}" } : {}),
        labels,
        healthcheck: { tests: [...h.tests], interval: h.interval, timeout: h.timeout, retries: h.retries, startPeriod: h.startPeriod },
        configs: p.configs ?? [],
        secrets: (p.secrets ?? []).map((s) => ({ secretId: s.secretId, secretName: s.secretName, fileName: s.file, fileMode: 0o444 })),
        readOnly: true,
        mounts: volume && target ? [{ type: "volume", source: `${stackPrefix(p.identity)}-${volume}`, target }] : [],
        stopGracePeriod: "15s",
        capDrops: ["ALL"],
        capAdds: [],
      },
      networksAdvanceds: [{ name: p.network, aliases: [aliasOf(p.part)] }],
      placement: { constraints: p.part === "prometheus" || p.part === "alertmanager" ? [`node.hostname == ${p.dataNode}`] : [] },
      resources: { limits: { memoryBytes: limits.memoryMb * 1024 * 1024, nanoCpus: Math.round(limits.cpus * 1e9) } },
      restartPolicy: { condition: "any", delay: "5s", window: "30s" },
      logDriver: { name: logs.driver, options: logOptions(logs) },
    },
    endpointSpec: { mode: "dnsrr", ports: [] },
    ...updates("monitoring", p.monitorSeconds),
  };
}

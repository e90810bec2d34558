import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { alertmanagerConfig } from "../renderers/monitoring/alertmanager";
import {
  ALERTMANAGER_CONFIG,
  BLACKBOX_CONFIG,
  MONITORING_PARTS,
  MonitoringPart,
  REDIS_EXPORTER_PASSWORDS,
  redisExporterPasswords,
} from "../renderers/monitoring/containers";
import { blackboxConfig, prometheusConfig } from "../renderers/monitoring/prometheus";
import { rulesConfig } from "../renderers/monitoring/rules";
import { PROMETHEUS_CONFIG, PROMETHEUS_RULES } from "../renderers/monitoring/spec";
import type { MonitoringPartsArgs } from "../services/monitoring";
import { ConfigRef, swarmMonitoringService } from "../renderers/swarm/monitoring";
import type { SecretRef } from "../renderers/swarm/services";
import { swarmConfig, swarmSecrets } from "./swarmObjects";

export interface SwarmMonitoringArgs extends MonitoringPartsArgs {
  /** The stack's overlay network. `spec.swarm` names the node exporter's service (Prometheus finds its tasks through Docker's DNS). */
  network: pulumi.Input<string>;
  /** Node of Prometheus's and Alertmanager's data (config `host.dataNode`). */
  dataNode: string;
  /** Seconds a new task is watched before an update goes on (config `host.updateMonitorSeconds`). */
  monitorSeconds: number;
}

/**
 * The stack's monitoring on a Docker Swarm: the same five parts as on one host
 * (components/services/monitoring.ts), as services on the stack's overlay network, no port
 * published. The node exporter runs on every node; Prometheus finds its tasks through Docker's DNS.
 * Their files are swarm configs, Alertmanager's receivers and the Redis exporter's password Docker
 * secrets. Builders: components/renderers/swarm/monitoring.ts.
 */
export class SwarmMonitoring extends pulumi.ComponentResource {
  /** Swarm service name of each part. */
  public readonly services: Record<MonitoringPart, pulumi.Output<string>>;

  constructor(name: string, args: SwarmMonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:swarm:SwarmMonitoring", name, {}, opts);
    const child: pulumi.CustomResourceOptions = { parent: this, dependsOn: opts?.dependsOn };
    const config = (key: string, fileName: string, content: string) => swarmConfig(`${name}-config-${key}`, args.identity, { key, fileName, content }, child);
    const secret = swarmSecrets(name, args.identity, child);
    const configs: Partial<Record<MonitoringPart, ConfigRef<pulumi.Output<string>>[]>> = {
      prometheus: [config("prometheus-yml", PROMETHEUS_CONFIG, prometheusConfig(args.spec)), config("rules-yml", PROMETHEUS_RULES, rulesConfig(args.spec))],
      blackbox: [config("blackbox-yml", BLACKBOX_CONFIG, blackboxConfig(args.spec))],
    };
    const receivers = pulumi.output(args.receivers);
    const secrets: Partial<Record<MonitoringPart, SecretRef<pulumi.Output<string>>[]>> = {
      alertmanager: [
        secret(
          "alertmanager.yml",
          pulumi.secret(receivers.apply((r) => alertmanagerConfig({ ...args.routing, stack: args.spec.stack, receivers: r }))),
          ALERTMANAGER_CONFIG,
        ),
      ],
      redisExporter: [
        secret("redis_exporter_passwords.json", pulumi.secret(pulumi.output(args.redisPassword).apply(redisExporterPasswords)), REDIS_EXPORTER_PASSWORDS),
      ],
    };
    const services = MONITORING_PARTS.map(
      (part) =>
        new docker.Service(
          `${name}-${part}`,
          swarmMonitoringService({
            identity: args.identity,
            part,
            image: args.images[part],
            network: args.network,
            retentionDays: args.retentionDays,
            dataNode: args.dataNode,
            monitorSeconds: args.monitorSeconds,
            logs: args.logs,
            configs: configs[part],
            secrets: secrets[part],
          }),
          child,
        ),
    );
    this.services = Object.fromEntries(MONITORING_PARTS.map((p, i) => [p, services[i].name])) as Record<MonitoringPart, pulumi.Output<string>>;
    this.registerOutputs({ services: this.services });
  }
}

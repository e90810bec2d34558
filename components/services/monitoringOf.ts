import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config";
import { monitoringEnabled } from "../config/monitoring";
import type { DockerHost } from "../hosts/dockerHost";
import type { Receivers } from "../renderers/monitoring/alertmanager";
import { MONITORING_PARTS, MonitoringPart } from "../renderers/monitoring/containers";
import { MonitoringSpec } from "../renderers/monitoring/spec";
import type { StackIdentity } from "../renderers/names";
import { ALIASES, API_READY_PATH } from "../renderers/services/containers";
import { PROXY_PORTS, PROXY_TLS_PORTS } from "../renderers/proxy";
import { AppImage, appImagesOf } from "./appImage";
import { ContainerMetrics } from "../operations/containerMetrics";
import { containerMetricsJob } from "../renderers/monitoring/hostMetrics";
import { Monitoring, MonitoringPartsArgs } from "./monitoring";
import { SwarmMonitoring } from "../swarm/swarmMonitoring";
import { swarmMetricsJob } from "../renderers/monitoring/swarmMetrics";
import { swarmMonitoringName } from "../renderers/swarm/monitoring";
import { swarmServiceName } from "../renderers/swarm/services";

/** What the stack's monitoring watches, from config: the probes through the proxy on the stack network. */
export function monitoringSpecOf(
  cfg: { stack: string; monitoring: StackConfig["monitoring"]; backup: Pick<StackConfig["backup"], "enabled" | "schedule">; tls?: object },
  serverName: string,
): MonitoringSpec {
  const m = cfg.monitoring;
  const proxy = `http://${ALIASES.proxy}`;
  return {
    stack: cfg.stack,
    scrapeIntervalSeconds: m.scrapeIntervalSeconds,
    evaluationIntervalSeconds: m.evaluationIntervalSeconds,
    thresholds: m.thresholds,
    probes: {
      apiReady: `${proxy}:${PROXY_PORTS.api}${API_READY_PATH}`,
      apiHealth: `${proxy}:${PROXY_PORTS.api}/api/health`,
      web: `${proxy}:${PROXY_PORTS.web}/`,
    },
    tls: cfg.tls ? { url: `https://${ALIASES.proxy}:${PROXY_TLS_PORTS.web}/`, serverName } : undefined,
    // The scheduled backup records its result for the monitoring (components/renderers/monitoring/hostMetrics.ts).
    backups: cfg.backup.enabled && cfg.backup.schedule !== "off",
    checks: m.checks,
  };
}

/** The receivers from config and the alert secrets (a secret output). */
function receiversOf(cfg: StackConfig): pulumi.Output<Receivers> {
  const a = cfg.monitoring.alerts;
  return pulumi.secret(
    pulumi.all([cfg.alertWebhookUrl, cfg.alertSlackWebhookUrl, cfg.alertSmtpPassword]).apply(([webhook, slack, smtp]) => ({
      ...(webhook ? { webhook: { url: webhook } } : {}),
      ...(slack && a.slack ? { slack: { url: slack, channel: a.slack.channel } } : {}),
      ...(a.email ? { email: { ...a.email, password: smtp } } : {}),
    })),
  );
}

/** What the monitoring is from config, on one host or a swarm: its images, what it watches, its alerts' routing and receivers. */
function partsArgsOf(
  cfg: StackConfig,
  identity: StackIdentity,
  images: Record<MonitoringPart, AppImage>,
  redisPassword: pulumi.Input<string>,
  spec: MonitoringSpec,
): MonitoringPartsArgs {
  const m = cfg.monitoring;
  return {
    identity,
    images: Object.fromEntries(MONITORING_PARTS.map((p) => [p, images[p].image])) as Record<MonitoringPart, pulumi.Output<string>>,
    spec,
    routing: {
      groupWaitSeconds: m.alerts.groupWaitSeconds,
      groupIntervalSeconds: m.alerts.groupIntervalMinutes * 60,
      repeatIntervalSeconds: m.alerts.repeatIntervalHours * 3600,
    },
    receivers: receiversOf(cfg),
    redisPassword,
    retentionDays: m.retentionDays,
    logs: cfg.logs,
  };
}

/**
 * The stack's monitoring when config turns it on (by default on `prod`): each part's image delivered
 * like the stack's own (registry or transfer) after `imagesAfter`, the containers after `after` (once
 * the stack serves: a first deploy's rollout would otherwise look like an outage to the probes).
 */
export function monitoringOf(
  parent: pulumi.Resource,
  name: string,
  a: {
    host: DockerHost;
    identity: StackIdentity;
    cfg: StackConfig;
    networkName: pulumi.Input<string>;
    redisPassword: pulumi.Input<string>;
    serverName: string;
    imagesAfter: pulumi.Resource[];
    after: pulumi.Resource[];
  },
): Monitoring | undefined {
  const cfg = a.cfg;
  if (!monitoringEnabled(cfg.monitoring, cfg.stack)) return undefined;
  const images = appImagesOf(parent, name, MONITORING_PARTS, { host: a.host, identity: a.identity, cfg, after: a.imagesAfter });
  const monitoring = new Monitoring(
    name,
    {
      ...partsArgsOf(cfg, a.identity, images, a.redisPassword, monitoringSpecOf(cfg, a.serverName)),
      networkName: a.networkName,
      healthTimeoutSeconds: cfg.healthTimeoutSeconds,
    },
    { parent, providers: [a.host.provider], dependsOn: [...a.after, ...MONITORING_PARTS.flatMap((p) => images[p].ready)] },
  );
  new ContainerMetrics(
    `${name}-container-metrics`,
    {
      host: a.host,
      identity: a.identity,
      job: monitoring.containerNames.nodeExporter.apply((n) => containerMetricsJob(a.identity, n)),
      into: monitoring.containerNames.nodeExporter,
    },
    { parent, dependsOn: [monitoring] },
  );
  return monitoring;
}

/**
 * The swarm stack's monitoring when config turns it on (components/swarm/swarmMonitoring.ts): its
 * images by digest (after `imagesAfter`: the pre-flight), its services once the stack's serve
 * (`after`), and the manager's metrics job. The probes go through the proxy service on the overlay
 * network (Docker's DNS answers any edge node's task).
 */
export function swarmMonitoringOf(
  parent: pulumi.Resource,
  name: string,
  a: {
    host: DockerHost;
    identity: StackIdentity;
    cfg: StackConfig;
    network: pulumi.Input<string>;
    redisPassword: pulumi.Input<string>;
    imagesAfter: pulumi.Resource[];
    after: pulumi.Resource[];
  },
): SwarmMonitoring | undefined {
  const cfg = a.cfg;
  if (!monitoringEnabled(cfg.monitoring, cfg.stack) || cfg.host.kind !== "swarm") return undefined;
  const images = appImagesOf(parent, name, MONITORING_PARTS, { host: a.host, identity: a.identity, cfg, after: a.imagesAfter });
  const nodeExporter = swarmMonitoringName(a.identity, "nodeExporter");
  const monitoring = new SwarmMonitoring(
    name,
    {
      ...partsArgsOf(cfg, a.identity, images, a.redisPassword, { ...monitoringSpecOf(cfg, ""), swarm: { nodeExporterService: nodeExporter } }),
      network: a.network,
      dataNode: cfg.host.dataNode,
      monitorSeconds: cfg.host.updateMonitorSeconds,
    },
    { parent, providers: [a.host.provider], dependsOn: [...a.after, ...MONITORING_PARTS.flatMap((p) => images[p].ready)] },
  );
  new ContainerMetrics(
    `${name}-container-metrics`,
    {
      host: a.host,
      identity: a.identity,
      job: swarmMetricsJob(a.identity, { nodeExporter, proxy: swarmServiceName(a.identity, "proxy") }),
      into: `the ${nodeExporter} task on the manager`,
    },
    { parent, dependsOn: [monitoring] },
  );
  return monitoring;
}

/**
 * What the stack's monitoring watches and where it finds it: the shared input of the Prometheus,
 * blackbox and Alertmanager renderers. Pure names and numbers.
 */
import { StackIdentity, stackPrefix } from "../names";

export type MonitoringPart = "prometheus" | "alertmanager" | "blackbox" | "nodeExporter" | "redisExporter";
export const MONITORING_PARTS: MonitoringPart[] = ["prometheus", "alertmanager", "blackbox", "nodeExporter", "redisExporter"];

/** Where each monitoring part answers on the stack network (its alias and port). */
export const MONITORING_ADDRESSES: Record<MonitoringPart, string> = {
  prometheus: "prometheus:9090",
  alertmanager: "alertmanager:9093",
  blackbox: "blackbox:9115",
  nodeExporter: "node-exporter:9100",
  redisExporter: "redis-exporter:9121",
};

/** The network alias each part answers to, and its port: its address on the stack network. */
export const aliasOf = (part: MonitoringPart): string => MONITORING_ADDRESSES[part].split(":")[0];
export const portOf = (part: MonitoringPart): number => Number(MONITORING_ADDRESSES[part].split(":")[1]);
/** A part's container: `copilotos-prod-alertmanager`. */
export const monitoringContainerName = (id: StackIdentity, part: MonitoringPart): string => `${stackPrefix(id)}-${aliasOf(part)}`;

/** Where Prometheus reads its files inside its container. */
export const PROMETHEUS_CONFIG = "/etc/prometheus/prometheus.yml";
export const PROMETHEUS_RULES = "/etc/prometheus/rules.yml";

/** The thresholds the alerts fire at (config `monitoring.thresholds`). */
export interface Thresholds {
  /** Host file system free space below this percentage. */
  diskFreePercent: number;
  /** Host memory available below this percentage. */
  memoryAvailablePercent: number;
  /** A served certificate expiring within this many days. */
  certificateDays: number;
  /** No verified backup for this many hours (with a backup schedule). */
  backupMaxAgeHours: number;
  /** Redis's used memory above this percentage of its `maxmemory`. */
  redisMemoryPercent: number;
  /** Restarts of one container within {@link restartWindowMinutes}: a crash loop. */
  restarts: number;
  /** The window restarts are counted in, in minutes. */
  restartWindowMinutes: number;
  /** The share of the apps' responses through the proxy that are 5xx, in percent, above which it alerts. */
  proxyErrorPercent: number;
}

/** A check of a page the health endpoints do not cover (config `monitoring.checks`). */
export interface SyntheticCheck {
  /** Lower-case letters, digits and dashes: the alert's `check` label. */
  name: string;
  url: string;
  /** The HTTP status it must answer. */
  status: number;
  /** Text the body must contain. @default any body */
  contains?: string;
}

export interface MonitoringSpec {
  /** The stack's name: every alert carries it as `stack`. */
  stack: string;
  scrapeIntervalSeconds: number;
  evaluationIntervalSeconds: number;
  thresholds: Thresholds;
  /**
   * What a user reaches, through the stack's proxy on its network: the API's readiness and health
   * (`/api/health/ready`, `/api/health`) and the web's front page.
   */
  probes: { apiReady: string; apiHealth: string; web: string };
  /** The HTTPS address whose certificate's expiry is watched, and the name it is served for. @default no TLS watch */
  tls?: { url: string; serverName: string };
  /** Whether the stack backs up on a schedule (the backup alerts exist only then). */
  backups: boolean;
  checks: SyntheticCheck[];
  /**
   * On a Docker Swarm: the node exporter's service, whose tasks (one per node) Prometheus finds
   * through Docker's DNS (`tasks.<service>`); the nodes' state comes from the manager's metrics job
   * (NodeDown instead of HostUnreachable). @default one host
   */
  swarm?: { nodeExporterService: string };
}

/** The probes' `check` labels: how the alerts name what failed. */
export const CHECKS = { apiReady: "api-ready", apiHealth: "api-health", web: "web", tls: "tls" } as const;

/**
 * The monitoring containers as the upstream images run them: each part's command, port, health
 * check, limits and where its files go. Pure; the component (components/services/monitoring.ts)
 * adds names, labels, the network and the uploads.
 */
import { ALIASES, Limits, SERVICE_PORTS } from "../services/containers";
import { MonitoringPart, portOf, PROMETHEUS_CONFIG } from "./spec";

export { aliasOf, MONITORING_PARTS, monitoringContainerName, type MonitoringPart } from "./spec";

/** Where the parts read their files. */
export const ALERTMANAGER_CONFIG = "/etc/alertmanager/alertmanager.yml";
export const BLACKBOX_CONFIG = "/etc/blackbox_exporter/config.yml";
/** The Redis exporter's password file: a JSON map of Redis address → password. */
export const REDIS_EXPORTER_PASSWORDS = "/run/secrets/redis_exporter_passwords.json";
/** The node exporter's textfile folder: the host's jobs (backups, container health) write metrics there. */
export const TEXTFILE_DIR = "/textfile";
/** The node exporter's mount points left out: every one but its own root `/`. */
export const ROOT_ONLY = "^/.+";
/** File system types left out: none (its root is an overlay, left out by the exporter's default). */
export const NO_TYPE = "^$";
/** Where Redis is, for the exporter (its alias on the stack network). */
export const REDIS_ADDRESS = `redis://${ALIASES.redis}:${SERVICE_PORTS.redis}`;

/** Memory and CPU of each part: Prometheus keeps its head block in memory; the exporters are small. */
export const MONITORING_LIMITS: Record<MonitoringPart, Limits> = {
  prometheus: { memoryMb: 512, cpus: 0.5 },
  alertmanager: { memoryMb: 128, cpus: 0.25 },
  blackbox: { memoryMb: 64, cpus: 0.25 },
  nodeExporter: { memoryMb: 64, cpus: 0.25 },
  redisExporter: { memoryMb: 64, cpus: 0.25 },
};

/** Processes and threads of each part (the host step sets them: the provider cannot): Go runtimes use a few dozen. */
export const MONITORING_PIDS_LIMITS: Record<MonitoringPart, number> = {
  prometheus: 256,
  alertmanager: 128,
  blackbox: 128,
  nodeExporter: 64,
  redisExporter: 64,
};

/** A health check with busybox's wget (the prom/* images are built on busybox). */
const wget = (port: number, path: string) => ({
  tests: ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${port}${path}`],
  interval: "10s",
  timeout: "5s",
  retries: 3,
  startPeriod: "20s",
});

/**
 * Each part's arguments to its image's entrypoint and its health check. The Redis exporter's image
 * holds only its binary (no shell, no wget): its check runs the binary, which proves it is intact,
 * while `up{job="redis"}` (MonitoringTargetDown) watches that it serves.
 */
export function monitoringCommand(part: MonitoringPart, retentionDays: number) {
  switch (part) {
    case "prometheus":
      return {
        command: [
          `--config.file=${PROMETHEUS_CONFIG}`,
          "--storage.tsdb.path=/prometheus",
          `--storage.tsdb.retention.time=${retentionDays}d`,
          `--web.listen-address=:${portOf("prometheus")}`,
        ],
        healthcheck: wget(portOf("prometheus"), "/-/ready"),
        dataPath: "/prometheus",
      };
    case "alertmanager":
      return {
        command: [
          `--config.file=${ALERTMANAGER_CONFIG}`,
          "--storage.path=/alertmanager",
          "--cluster.listen-address=",
          `--web.listen-address=:${portOf("alertmanager")}`,
        ],
        healthcheck: wget(portOf("alertmanager"), "/-/ready"),
        dataPath: "/alertmanager",
      };
    case "blackbox":
      return { command: [`--config.file=${BLACKBOX_CONFIG}`], healthcheck: wget(portOf("blackbox"), "/-/healthy") };
    case "nodeExporter":
      return {
        // No bind of the host's `/`: its own root is an overlay on the file system Docker keeps its
        // data on (volumes, images), whose free space statfs reports (HostDiskFull); /proc/meminfo is
        // the host's (HostMemoryLow). A bind of `/` also copied every container's mounts into it,
        // nested anew at each restart: thousands, which outgrew the exporter's memory.
        command: [
          `--collector.filesystem.mount-points-exclude=${ROOT_ONLY}`,
          `--collector.filesystem.fs-types-exclude=${NO_TYPE}`,
          `--collector.textfile.directory=${TEXTFILE_DIR}`,
          `--web.listen-address=:${portOf("nodeExporter")}`,
        ],
        healthcheck: wget(portOf("nodeExporter"), "/metrics"),
      };
    case "redisExporter":
      return {
        // A Redis that is gone must fail fast: within Prometheus's 10 s scrape timeout the exporter
        // answers redis_up 0 (RedisDown) instead of the scrape itself failing (15 s by default).
        command: [`-redis.addr=${REDIS_ADDRESS}`, `-redis.password-file=${REDIS_EXPORTER_PASSWORDS}`, "-connection-timeout=3s"],
        healthcheck: { tests: ["CMD", "/redis_exporter", "-version"], interval: "10s", timeout: "5s", retries: 3, startPeriod: "10s" },
      };
  }
}

/** The Redis exporter's password file for the stack's Redis. */
export const redisExporterPasswords = (password: string): string => `${JSON.stringify({ [REDIS_ADDRESS]: password })}\n`;

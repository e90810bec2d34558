/**
 * The alert rules: what each alert means, when it fires, and the first command to run. Pure: YAML
 * from a {@link MonitoringSpec}, checked by the real `promtool check rules` and each alert proven by
 * `promtool test rules` in test/monitoring.test.ts. The documented list: docs/monitoring.md.
 */
import { stringify } from "yaml";
import { CHECKS, MonitoringSpec } from "./spec";
import { SWARM_NODE_METRIC } from "./swarmMetrics";

/** `scope: service` alerts are silenced while the host itself is unreachable (Alertmanager's inhibit rule). */
export type AlertScope = "host" | "service" | "monitoring";

export interface AlertRule {
  alert: string;
  expr: string;
  /** How long the condition holds before the alert fires (`0s`: at once). */
  for: string;
  severity: "page" | "warning";
  scope: AlertScope;
  summary: string;
  /** The first command to run. */
  action: string;
}

const probeDown = (check: string) => `probe_success{check="${check}"} == 0`;

/** ProxyErrorRate waits for this many counted requests in its 5 minutes: a handful of errors alone is noise. */
export const PROXY_MIN_REQUESTS = 20;
/** The proxy's counted responses (of a status class) over 5 minutes, summed over its classes. */
const sum5m = (selector: string) => `sum(increase(copilotos_proxy_responses_total${selector}[5m]))`;

/**
 * Every alert of the stack, in the order docs/monitoring.md lists them. What a user sees down waits
 * 30 s (two scrapes at the default 15 s): a container's restart or a route switch is shorter, and
 * with Alertmanager's 10 s group wait a fault is notified within 90 s.
 */
export function alertRules(spec: MonitoringSpec): AlertRule[] {
  const t = spec.thresholds;
  const ops = `npm run ops -- ${spec.stack}`;
  const rules: AlertRule[] = [
    {
      alert: "ApiNotReady",
      expr: probeDown(CHECKS.apiReady),
      for: "30s",
      severity: "page",
      scope: "service",
      summary: "The API does not answer ready through the proxy (503: it cannot reach or authenticate to Mongo; 502: no API behind the proxy).",
      action: `${ops} status; ${ops} logs api`,
    },
    {
      alert: "MongoUnavailable",
      expr: `${probeDown(CHECKS.apiHealth)} and on(instance) probe_http_status_code{check="${CHECKS.apiHealth}"} == 200`,
      for: "30s",
      severity: "page",
      scope: "service",
      summary: "The API answers, but degraded: it cannot reach Mongo or Mongo refuses its password.",
      action: `${ops} logs mongo; ${ops} status`,
    },
    {
      alert: "WebDown",
      expr: probeDown(CHECKS.web),
      for: "30s",
      severity: "page",
      scope: "service",
      summary: "The web app does not answer 200 through the proxy.",
      action: `${ops} status; ${ops} logs web`,
    },
    {
      alert: "SyntheticCheckFailing",
      expr: 'probe_success{kind="synthetic"} == 0',
      for: "2m",
      severity: "warning",
      scope: "service",
      summary: "A configured check (monitoring.checks) does not get its status or text.",
      action: `curl -sS -o /dev/null -w '%{http_code}' <the check's url>; ${ops} logs web`,
    },
    {
      alert: "ProxyErrorRate",
      expr: `${sum5m('{code="5xx"}')} / ${sum5m("")} * 100 > ${t.proxyErrorPercent} and ${sum5m("")} >= ${PROXY_MIN_REQUESTS}`,
      for: "2m",
      severity: "page",
      scope: "service",
      summary: `More than ${t.proxyErrorPercent}% of the apps' responses through the proxy in 5 minutes were 5xx (at least ${PROXY_MIN_REQUESTS} requests; the monitoring's probes and the maintenance page not counted).`,
      action: `${ops} logs proxy --since 10m (the status and upstream of each request), then ${ops} logs api --since 10m`,
    },
    {
      alert: "ContainerUnhealthy",
      expr: "copilotos_container_healthy == 0",
      for: "2m",
      severity: "page",
      scope: "service",
      summary: "A container of the stack is not running or its health check fails.",
      action: `${ops} status; ${ops} logs <service>`,
    },
    {
      alert: "ContainerCrashLooping",
      expr: `increase(copilotos_container_restarts_total[${t.restartWindowMinutes}m]) >= ${t.restarts}`,
      for: "0s",
      severity: "page",
      scope: "service",
      summary: `A container restarted ${t.restarts} times or more within ${t.restartWindowMinutes} minutes.`,
      action: `${ops} logs <service>`,
    },
    {
      alert: "RedisDown",
      expr: "redis_up == 0",
      for: "30s",
      severity: "page",
      scope: "service",
      summary: "Redis does not answer the exporter with the stack's password.",
      action: `${ops} logs redis`,
    },
    {
      alert: "RedisMemoryHigh",
      expr: `redis_memory_max_bytes > 0 and redis_memory_used_bytes / redis_memory_max_bytes * 100 > ${t.redisMemoryPercent}`,
      for: "5m",
      severity: "warning",
      scope: "service",
      summary: `Redis uses more than ${t.redisMemoryPercent}% of its maxmemory: it is evicting cache keys (volatile-lru) or will refuse writes.`,
      action: `${ops} exec redis -- sh -c 'redis-cli --no-auth-warning -a "$(cat /run/secrets/redis_password)" info memory' (resources.redis.memoryMb raises the limit)`,
    },
    {
      alert: "HostDiskFull",
      expr: `node_filesystem_avail_bytes{mountpoint="/"} / node_filesystem_size_bytes{mountpoint="/"} * 100 < ${t.diskFreePercent}`,
      // Two scrapes, as what a user sees: space taken stays taken (images, backups), and at 10% free the
      // next pull or backup may be the one that fails. (A minute measured 96 s to the notification.)
      for: "30s",
      severity: "page",
      scope: "host",
      summary: `The file system Docker keeps its data on (volumes, images) has less than ${t.diskFreePercent}% free.`,
      // No Go template braces: an annotation is a template.
      action: "ssh to the host: docker system df; df -h of Docker's root dir (docker info: Docker Root Dir)",
    },
    {
      alert: "HostMemoryLow",
      expr: `node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes * 100 < ${t.memoryAvailablePercent}`,
      for: "5m",
      severity: "warning",
      scope: "host",
      summary: `The host has less than ${t.memoryAvailablePercent}% of its memory available.`,
      action: "ssh to the host: free -m; docker stats --no-stream",
    },
    {
      alert: "HostUnreachable",
      expr: 'up{job="node"} == 0',
      for: "30s",
      severity: "page",
      scope: "host",
      summary: "Prometheus cannot scrape the host's node exporter: the per-service alerts are held back until it answers again.",
      action: `${ops} status`,
    },
    {
      alert: "MonitoringTargetDown",
      expr: 'up{job=~"redis|blackbox|alertmanager"} == 0',
      for: "2m",
      severity: "warning",
      scope: "monitoring",
      summary: "A part of the monitoring itself does not answer: alerts that depend on it cannot fire.",
      action: `${ops} status`,
    },
  ];
  if (spec.tls) {
    rules.push({
      alert: "CertificateExpiring",
      expr: `(probe_ssl_earliest_cert_expiry{check="${CHECKS.tls}"} - time()) / 86400 < ${t.certificateDays}`,
      // Two probes agreeing: the served certificate's expiry does not flap (a failed probe reports none).
      for: "30s",
      severity: "warning",
      scope: "service",
      summary: `The served certificate expires within ${t.certificateDays} days: its renewal on the host is failing.`,
      action: `${ops} status (the certificate line); on the host: crontab -l, the renewal's log`,
    });
  }
  if (spec.backups) {
    rules.push(
      {
        alert: "BackupFailed",
        expr: "copilotos_backup_last_result == 0",
        for: "0s",
        severity: "page",
        scope: "service",
        summary: "The last scheduled backup failed its verification or did not complete.",
        action: `npm run backup -- ${spec.stack} (prints what failed)`,
      },
      {
        alert: "BackupMissing",
        // The last success, or the schedule's start until there is one.
        expr: `time() - (copilotos_backup_last_success_timestamp_seconds or copilotos_backup_schedule_start_timestamp_seconds) > ${t.backupMaxAgeHours * 3600}`,
        for: "0s",
        severity: "page",
        scope: "service",
        summary: `No verified backup in ${t.backupMaxAgeHours} hours (or since the schedule started): the schedule did not run.`,
        action: `on the host: crontab -l; npm run backup -- ${spec.stack}`,
      },
    );
  }
  return spec.swarm ? onSwarm(rules) : rules;
}

/** A node's alert as the swarm's managers see it (the metrics job's `docker node ls`). */
const NODE_DOWN: AlertRule = {
  alert: "NodeDown",
  // A drained node is the operator's (maintenance): its tasks left it on purpose.
  expr: `${SWARM_NODE_METRIC}{availability!="drain"} == 0`,
  for: "30s",
  severity: "page",
  scope: "host",
  summary:
    "A node of the swarm is down as its managers see it (and not drained): its API and web tasks start on the others; on the data node, Mongo and Redis are down with it.",
  action: "on a manager: docker node ls; docker node ps <the alert's node>",
};

/**
 * On a swarm: NodeDown replaces HostUnreachable (a node's exporter that is gone drops out of
 * Docker's DNS, so no `up` of it says 0), and it holds no service alert back (the others still
 * serve). The host alerts carry the node's name (`nodename`: each node exporter task's hostname is its node's).
 */
function onSwarm(rules: AlertRule[]): AlertRule[] {
  return rules.map((r) =>
    r.alert === "HostUnreachable"
      ? NODE_DOWN
      : r.scope === "host"
        ? {
            ...r,
            expr: `(${r.expr}) * on(instance) group_left(nodename) node_uname_info`,
            action: r.action.replace("ssh to the host", "ssh to the alert's node"),
          }
        : r,
  );
}

/** rules.yml: one group, each alert labelled with its severity and scope, its summary and action as annotations. */
export function rulesConfig(spec: MonitoringSpec): string {
  return stringify({
    groups: [
      {
        name: "copilotos",
        rules: alertRules(spec).map((r) => ({
          alert: r.alert,
          expr: r.expr,
          for: r.for,
          labels: { severity: r.severity, scope: r.scope },
          annotations: { summary: r.summary, action: r.action },
        })),
      },
    ],
  });
}

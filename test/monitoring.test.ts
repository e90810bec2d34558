/**
 * The monitoring's config files, without a host: exact text for a small stack, then the real tools
 * read every variant (`promtool check config|rules`, the blackbox exporter's `--config.check`,
 * `amtool check-config`), and `promtool test rules` proves each alert fires on its fault and stays
 * quiet on the healthy series next to it.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { alertmanagerConfig, AlertRouting } from "../components/renderers/monitoring/alertmanager";
import { blackboxConfig, prometheusConfig, re2Literal } from "../components/renderers/monitoring/prometheus";
import { alertRules, rulesConfig } from "../components/renderers/monitoring/rules";
import { alertsScript, formatAlerts } from "../components/renderers/monitoring/alerts";
import { MonitoringSpec, PROMETHEUS_RULES } from "../components/renderers/monitoring/spec";
import { SPEC } from "./support/monitoringSpec";

/** The smallest stack: no TLS, no backups, no checks. */
const PLAIN: MonitoringSpec = { ...SPEC, stack: "staging", tls: undefined, backups: false, checks: [] };
const ROUTING: AlertRouting = {
  stack: "prod",
  groupWaitSeconds: 30,
  groupIntervalSeconds: 300,
  repeatIntervalSeconds: 14400,
  receivers: {
    webhook: { url: "http://127.0.0.1:9/hook" },
    slack: { url: "https://hooks.slack.example/services/T0/B0/x", channel: "#ops" },
    email: {
      to: "ops@example.com",
      from: "alerts@example.com",
      smarthost: "smtp.example.com:587",
      username: "alerts",
      password: "smtp-pass",
      requireTls: true,
    },
  },
};

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "cpt-monitoring-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Writes `files` into the scratch folder and runs `cmd` there; returns its exit code and output. */
function run(cmd: string, args: string[], files: Record<string, string>) {
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  const r = spawnSync(cmd, args, { cwd: dir, encoding: "utf8" });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

test("prometheus.yml, exact: the exporters, Alertmanager, and the probes through the blackbox exporter with their check labels", () => {
  expect(prometheusConfig(PLAIN)).toBe(
    [
      "global:",
      "  scrape_interval: 15s",
      "  evaluation_interval: 15s",
      "  external_labels:",
      "    stack: staging",
      "rule_files:",
      "  - /etc/prometheus/rules.yml",
      "alerting:",
      "  alertmanagers:",
      "    - static_configs:",
      "        - targets:",
      "            - alertmanager:9093",
      "scrape_configs:",
      ...["prometheus:9090", "alertmanager:9093", "node-exporter:9100", "redis-exporter:9121", "blackbox:9115"].flatMap((t) => [
        `  - job_name: ${t.split(":")[0].replace("node-exporter", "node").replace("redis-exporter", "redis")}`,
        "    static_configs:",
        "      - targets:",
        `          - ${t}`,
      ]),
      "  - job_name: probe",
      "    metrics_path: /probe",
      "    static_configs:",
      ...[
        ["http://proxy:8001/api/health/ready", "http_ready", "api-ready"],
        ["http://proxy:8001/api/health", "http_api_health", "api-health"],
        ["http://proxy:3000/", "http_web", "web"],
      ].flatMap(([url, module, check]) => [
        "      - targets:",
        `          - ${url}`,
        "        labels:",
        `          module: ${module}`,
        `          check: ${check}`,
        "          kind: app",
      ]),
      "    relabel_configs:",
      "      - source_labels:",
      "          - __address__",
      "        target_label: __param_target",
      "      - source_labels:",
      "          - module",
      "        target_label: __param_module",
      "      - source_labels:",
      "          - __param_target",
      "        target_label: instance",
      "      - target_label: __address__",
      "        replacement: blackbox:9115",
      "",
    ].join("\n"),
  );
});

test("the blackbox modules: ready and web want 200 without following redirects; health fails on the app's 'degraded'; a check's text is matched literally", () => {
  const modules = blackboxConfig(SPEC);
  expect(modules).toContain(
    "  http_api_health:\n    prober: http\n    timeout: 5s\n    http:\n      preferred_ip_protocol: ip4\n      headers:\n        User-Agent: copilotos-monitoring\n      valid_status_codes:\n        - 200\n      no_follow_redirects: true\n      fail_if_body_matches_regexp:\n        - degraded\n",
  );
  expect(modules).toContain("      fail_if_body_not_matches_regexp:\n        - Sign in \\(beta\\)\n");
  expect(modules).toContain("      tls_config:\n        server_name: chat.example.com\n        insecure_skip_verify: true\n");
  expect(re2Literal("a.b*c[d]")).toBe("a\\.b\\*c\\[d\\]");
});

test.each([
  ["with TLS, backups and a check", SPEC],
  ["plain", PLAIN],
])("the real tools read every file (%s): promtool check config and rules, blackbox_exporter --config.check", (_, spec) => {
  const rules = path.join(dir, "rules.yml");
  const files = {
    "prometheus.yml": prometheusConfig(spec).replace(PROMETHEUS_RULES, rules),
    "rules.yml": rulesConfig(spec),
    "blackbox.yml": blackboxConfig(spec),
  };
  const config = run("promtool", ["check", "config", "prometheus.yml"], files);
  expect([config.code, config.out]).toEqual([0, expect.stringContaining("SUCCESS: prometheus.yml is valid prometheus config file syntax")]);
  expect(run("promtool", ["check", "rules", "rules.yml"], {}).out).toContain(`SUCCESS: ${alertRules(spec).length} rules found`);
  const blackbox = run("prometheus-blackbox-exporter", ["--config.file=blackbox.yml", "--config.check"], {});
  expect([blackbox.code, blackbox.out]).toEqual([0, expect.stringContaining("Config file is ok")]);
});

test("the alert list: TLS and backup alerts only when the stack has them; every alert says what to run first", () => {
  const names = (s: MonitoringSpec) => alertRules(s).map((r) => r.alert);
  const base = [
    "ApiNotReady",
    "MongoUnavailable",
    "WebDown",
    "SyntheticCheckFailing",
    "ProxyErrorRate",
    "ContainerUnhealthy",
    "ContainerCrashLooping",
    "RedisDown",
    "RedisMemoryHigh",
  ];
  const host = ["HostDiskFull", "HostMemoryLow", "HostUnreachable", "MonitoringTargetDown"];
  expect(names(PLAIN)).toEqual([...base, ...host]);
  expect(names(SPEC)).toEqual([...base, ...host, "CertificateExpiring", "BackupFailed", "BackupMissing"]);
  for (const r of alertRules(SPEC)) expect([r.alert, r.action.length > 10]).toEqual([r.alert, true]);
});

/** An alert's fault: input series (15 s apart unless `interval`), when to look, and the series' labels the alert keeps. */
interface AlertCase {
  firing: [string, string][];
  healthy: [string, string][];
  at: string;
  labels: Record<string, string>;
  interval?: string;
}
const probe = (check: string, kind = "app") => `{check="${check}",instance="http://x",job="probe",kind="${kind}"}`;
/** A container's series as the host's job writes them (test/hostMetrics.test.ts). */
const API_CONTAINER = '{job="node",container="copilotos-prod-api-1a2b3c4d",service="api"}';
const PROBE_LABELS = (check: string, kind = "app") => ({ check, instance: "http://x", job: "probe", kind });
const CASES: Record<string, AlertCase> = {
  ApiNotReady: {
    firing: [[`probe_success${probe("api-ready")}`, "0x10"]],
    healthy: [[`probe_success${probe("api-ready")}`, "1x10"]],
    at: "2m",
    labels: PROBE_LABELS("api-ready"),
  },
  // The API down (no 200 at all) is ApiNotReady's, not Mongo's.
  MongoUnavailable: {
    firing: [
      [`probe_success${probe("api-health")}`, "0x10"],
      [`probe_http_status_code${probe("api-health")}`, "200x10"],
    ],
    healthy: [
      [`probe_success${probe("api-health")}`, "0x10"],
      [`probe_http_status_code${probe("api-health")}`, "502x10"],
    ],
    at: "2m",
    labels: PROBE_LABELS("api-health"),
  },
  WebDown: { firing: [[`probe_success${probe("web")}`, "0x10"]], healthy: [[`probe_success${probe("web")}`, "1x10"]], at: "2m", labels: PROBE_LABELS("web") },
  SyntheticCheckFailing: {
    firing: [[`probe_success${probe("login-page", "synthetic")}`, "0x14"]],
    healthy: [[`probe_success${probe("login-page", "synthetic")}`, "1x14"]],
    at: "3m",
    labels: PROBE_LABELS("login-page", "synthetic"),
  },
  // 10% of 80 requests a minute are 5xx; 2% is not past the threshold (the request floor: test/proxyMetrics.test.ts).
  ProxyErrorRate: {
    firing: [
      ['copilotos_proxy_responses_total{job="node",code="2xx"}', "0+18x30"],
      ['copilotos_proxy_responses_total{job="node",code="5xx"}', "0+2x30"],
    ],
    healthy: [
      ['copilotos_proxy_responses_total{job="node",code="2xx"}', "0+19.6x30"],
      ['copilotos_proxy_responses_total{job="node",code="5xx"}', "0+0.4x30"],
    ],
    at: "6m",
    labels: {},
  },
  ContainerUnhealthy: {
    firing: [[`copilotos_container_healthy${API_CONTAINER}`, "0x14"]],
    healthy: [[`copilotos_container_healthy${API_CONTAINER}`, "1x14"]],
    at: "3m",
    labels: { job: "node", container: "copilotos-prod-api-1a2b3c4d", service: "api" },
  },
  // Two restarts are not a loop.
  ContainerCrashLooping: {
    firing: [[`copilotos_container_restarts_total${API_CONTAINER}`, "0 1 2 3 3 3 3 3"]],
    healthy: [[`copilotos_container_restarts_total${API_CONTAINER}`, "0 0 1 2 2 2 2 2"]],
    at: "2m",
    labels: { job: "node", container: "copilotos-prod-api-1a2b3c4d", service: "api" },
  },
  RedisDown: { firing: [['redis_up{job="redis"}', "0x10"]], healthy: [['redis_up{job="redis"}', "1x10"]], at: "2m", labels: { job: "redis" } },
  RedisMemoryHigh: {
    firing: [
      ['redis_memory_max_bytes{job="redis"}', "100x30"],
      ['redis_memory_used_bytes{job="redis"}', "95x30"],
    ],
    healthy: [
      ['redis_memory_max_bytes{job="redis"}', "100x30"],
      ['redis_memory_used_bytes{job="redis"}', "50x30"],
    ],
    at: "6m",
    labels: { job: "redis" },
  },
  HostDiskFull: {
    firing: [
      ['node_filesystem_avail_bytes{job="node",mountpoint="/"}', "5x30"],
      ['node_filesystem_size_bytes{job="node",mountpoint="/"}', "100x30"],
    ],
    healthy: [
      ['node_filesystem_avail_bytes{job="node",mountpoint="/"}', "50x30"],
      ['node_filesystem_size_bytes{job="node",mountpoint="/"}', "100x30"],
    ],
    at: "1m",
    labels: { job: "node", mountpoint: "/" },
  },
  HostMemoryLow: {
    firing: [
      ['node_memory_MemAvailable_bytes{job="node"}', "5x30"],
      ['node_memory_MemTotal_bytes{job="node"}', "100x30"],
    ],
    healthy: [
      ['node_memory_MemAvailable_bytes{job="node"}', "40x30"],
      ['node_memory_MemTotal_bytes{job="node"}', "100x30"],
    ],
    at: "6m",
    labels: { job: "node" },
  },
  HostUnreachable: { firing: [['up{job="node"}', "0x10"]], healthy: [['up{job="node"}', "1x10"]], at: "2m", labels: { job: "node" } },
  MonitoringTargetDown: { firing: [['up{job="redis"}', "0x14"]], healthy: [['up{job="redis"}', "1x14"]], at: "3m", labels: { job: "redis" } },
  // promtool's clock starts at 0: an expiry at 5 days fires, one at 30 does not.
  CertificateExpiring: {
    firing: [[`probe_ssl_earliest_cert_expiry${probe("tls", "tls")}`, "432000x60"]],
    healthy: [[`probe_ssl_earliest_cert_expiry${probe("tls", "tls")}`, "2592000x60"]],
    at: "1m",
    labels: PROBE_LABELS("tls", "tls"),
  },
  BackupFailed: {
    firing: [['copilotos_backup_last_result{job="node"}', "0x8"]],
    healthy: [['copilotos_backup_last_result{job="node"}', "1x8"]],
    at: "1m",
    labels: { job: "node" },
  },
  // The last success at time 0, looked at after 27 hours, though the schedule started later (the
  // success counts); the healthy one succeeded every 10 minutes. No success yet: the schedule's start counts (below).
  BackupMissing: {
    firing: [
      ['copilotos_backup_last_success_timestamp_seconds{job="node"}', "0x170"],
      ['copilotos_backup_schedule_start_timestamp_seconds{job="node"}', "3600x170"],
    ],
    healthy: [
      ['copilotos_backup_last_success_timestamp_seconds{job="node"}', "0+600x170"],
      ['copilotos_backup_schedule_start_timestamp_seconds{job="node"}', "0x170"],
    ],
    at: "27h",
    labels: { job: "node" },
    interval: "10m",
  },
};

test("promtool test rules: every alert fires on its fault with its labels and annotations, and not on the healthy series beside it", () => {
  const rules = alertRules(SPEC);
  expect(Object.keys(CASES).sort()).toEqual(rules.map((r) => r.alert).sort());
  const tests = rules.flatMap((r) => {
    const c = CASES[r.alert];
    const series = (list: [string, string][]) => list.map(([s, values]) => ({ series: s, values }));
    const expected = { exp_labels: { ...c.labels, severity: r.severity, scope: r.scope }, exp_annotations: { summary: r.summary, action: r.action } };
    return [
      { interval: c.interval ?? "15s", input_series: series(c.firing), alert_rule_test: [{ eval_time: c.at, alertname: r.alert, exp_alerts: [expected] }] },
      { interval: c.interval ?? "15s", input_series: series(c.healthy), alert_rule_test: [{ eval_time: c.at, alertname: r.alert, exp_alerts: [] }] },
    ];
  });
  const r = run("promtool", ["test", "rules", "tests.yml"], {
    "rules.yml": rulesConfig(SPEC),
    "tests.yml": stringify({ rule_files: ["rules.yml"], evaluation_interval: "15s", tests }),
  });
  expect(r.out).toContain("SUCCESS");
  expect(r.code).toBe(0);
});

test("alertmanager.yml: grouped by alert and stack, resolved ones sent, repeats after the interval, host-unreachable holding back service alerts; amtool reads it", () => {
  const text = alertmanagerConfig({ ...ROUTING, receivers: { webhook: ROUTING.receivers.webhook } });
  expect(text).toBe(
    [
      "route:",
      "  receiver: stack",
      "  group_by:",
      "    - alertname",
      "    - stack",
      "  group_wait: 30s",
      "  group_interval: 300s",
      "  repeat_interval: 14400s",
      "receivers:",
      "  - name: stack",
      "    webhook_configs:",
      "      - url: http://127.0.0.1:9/hook",
      "        send_resolved: true",
      "inhibit_rules:",
      "  - source_matchers:",
      '      - alertname="HostUnreachable"',
      "    target_matchers:",
      '      - scope="service"',
      "    equal:",
      "      - stack",
      "",
    ].join("\n"),
  );
  for (const receivers of [
    ROUTING.receivers,
    { webhook: ROUTING.receivers.webhook },
    { email: { ...ROUTING.receivers.email!, username: undefined, password: undefined } },
  ]) {
    const r = run("amtool", ["check-config", "alertmanager.yml"], { "alertmanager.yml": alertmanagerConfig({ ...ROUTING, receivers }) });
    expect([r.code, r.out]).toEqual([0, expect.stringContaining("SUCCESS")]);
  }
});

test("docs/monitoring.md lists every alert, in the rules' order (the swarm's NodeDown after the HostUnreachable it replaces), with its first command", () => {
  const doc = fs.readFileSync(path.join(__dirname, "..", "docs", "monitoring.md"), "utf8");
  const rows = doc.split("\n").filter((l) => /^\| `[A-Za-z]+` \|/.test(l));
  const listed = rows.map((l) => /^\| `([A-Za-z]+)`/.exec(l)![1]);
  const swarm = alertRules({ ...SPEC, swarm: { nodeExporterService: "copilotos-prod-node-exporter" } }).map((r) => r.alert);
  expect(listed).toEqual(alertRules(SPEC).flatMap((r, i) => (r.alert === swarm[i] ? [r.alert] : [r.alert, swarm[i]])));
  expect(listed).toContain("NodeDown");
  for (const row of rows) expect(row.split("|")[3].trim().length).toBeGreaterThan(5);
});

test("ops alerts: the script reads Alertmanager inside its container, or says monitoring is off; the report is one entry per alert, oldest first", () => {
  const script = alertsScript({ project: "copilotos", stack: "prod" });
  expect(script).toContain(
    "if [ \"$(docker inspect -f '{{.State.Running}}' copilotos-prod-alertmanager 2>/dev/null)\" != true ]; then echo 'alerts: copilotos-prod-alertmanager is not running: monitoring is off for this stack (monitoring.enabled), or Alertmanager is down (npm run ops -- prod status)' >&2; exit 1; fi\n",
  );
  expect(script).toContain(
    "docker exec copilotos-prod-alertmanager wget -qO- 'http://127.0.0.1:9093/api/v2/alerts?active=true&silenced=false&inhibited=false'\n",
  );
  const now = new Date("2026-12-05T12:10:00Z");
  const alert = (alertname: string, startsAt: string, labels: Record<string, string>, annotations: Record<string, string>) => ({
    labels: { alertname, stack: "prod", scope: "service", ...labels },
    annotations,
    startsAt,
  });
  const json = JSON.stringify([
    alert("RedisMemoryHigh", "2026-12-05T12:05:00Z", { severity: "warning", job: "redis", instance: "redis-exporter:9121" }, { summary: "Redis is full." }),
    alert(
      "ApiNotReady",
      "2026-12-05T11:58:00Z",
      { severity: "page", check: "api-ready", kind: "app", module: "http_ready" },
      { summary: "Not ready.", action: "npm run ops -- prod status" },
    ),
  ]);
  expect(formatAlerts(json, now)).toBe(
    [
      "PAGE ApiNotReady (check=api-ready) for 12 min",
      "  Not ready.",
      "  first: npm run ops -- prod status",
      "WARN RedisMemoryHigh for 5 min",
      "  Redis is full.",
      "",
    ].join("\n"),
  );
  expect(formatAlerts("[]", now)).toBe("alerts: none firing\n");
});

/**
 * The proxy's response counters (components/renderers/monitoring/proxyMetrics.ts), run by sh against
 * a stand-in `docker logs` printing access-log lines in the proxy's own `log_format`: by status
 * class, the probes and the maintenance page left out, nginx's error lines ignored, added up across
 * samples, each window starting where the last ended; read by the real `promtool check metrics`.
 * ProxyErrorRate itself is proven by `promtool test rules` in test/monitoring.test.ts, and the
 * counts on the real proxy in the monitoring suite.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { PROBE_USER_AGENT, proxyCountLines } from "../components/renderers/monitoring/proxyMetrics";
import { alertRules, PROXY_MIN_REQUESTS, rulesConfig } from "../components/renderers/monitoring/rules";
import { SPEC } from "./support/monitoringSpec";
import { proxyConf } from "../components/renderers/proxy/conf";

const ID = { project: "copilotos", stack: "prod" };
const at = (status: number, upstream: string, agent: string, request = "GET /api/chat HTTP/1.1") =>
  `172.18.0.1 "203.0.113.9" [05/Dec/2026:23:10:00 +0000] "${request}" ${status} 45 0.004 ${upstream} "${agent}"`;
const LOG = [
  at(200, "172.18.0.5:8001", "Mozilla/5.0 (X11; Linux x86_64)"),
  at(200, "172.18.0.6:3000", "node"),
  at(502, "172.18.0.5:8001", "curl/7.88.1"),
  // Two upstreams tried, the second answered 504.
  at(504, "172.18.0.5:8001, 172.18.0.7:8001", "curl/7.88.1"),
  at(404, "172.18.0.6:3000", "Mozilla/5.0", "GET /a\\x22b HTTP/1.1"),
  at(301, "172.18.0.6:3000", "Mozilla/5.0"),
  // Not counted: a probe's failure (ApiNotReady judges it), the maintenance page (no upstream), an error-log line.
  at(503, "172.18.0.5:8001", PROBE_USER_AGENT, "GET /api/health/ready HTTP/1.1"),
  at(503, "-", "Mozilla/5.0", "GET / HTTP/1.1"),
  '2026/12/05 23:10:00 [warn] 1#1: *5 an upstream response is buffered to a temporary file, client: 172.18.0.1, server: _, request: "GET / HTTP/1.1"',
];

let home: string;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "cpt-proxymetrics-"));
  fs.mkdirSync(path.join(home, "bin"));
  fs.writeFileSync(
    path.join(home, "bin", "docker"),
    [
      "#!/bin/sh",
      'echo "$*" >> "$HOME/calls"',
      'if [ -n "${GONE:-}" ]; then echo "Error: No such container: copilotos-prod-proxy" >&2; exit 1; fi',
      'cat "$HOME/log"',
    ].join("\n"),
    { mode: 0o755 },
  );
  fs.writeFileSync(path.join(home, "bin", "date"), '#!/bin/sh\ncat "$HOME/now"\n', { mode: 0o755 });
  fs.writeFileSync(path.join(home, "log"), LOG.join("\n") + "\n");
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

const mdir = () => path.join(home, ".copilotos/metrics-copilotos-prod");
/** One sample at `now` (seconds). */
function sample(now: number, env: Record<string, string> = {}) {
  fs.writeFileSync(path.join(home, "now"), `${now}\n`);
  const script = ["set -eu", 'mdir="$HOME/.copilotos/metrics-copilotos-prod"; mkdir -p "$mdir"', ...proxyCountLines(ID)].join("\n");
  return spawnSync("sh", ["-c", script], { env: { PATH: `${home}/bin:${process.env.PATH}`, HOME: home, ...env }, encoding: "utf8" });
}
const prom = (counts: number[]) =>
  [
    "# HELP copilotos_proxy_responses_total Responses the proxy gave for the apps, by status class (probes and the maintenance page not counted).",
    "# TYPE copilotos_proxy_responses_total counter",
    ...["1xx", "2xx", "3xx", "4xx", "5xx"].map((c, i) => `copilotos_proxy_responses_total{code="${c}"} ${counts[i]}`),
    "",
  ].join("\n");

test("the proxy's log_format is the one the counters split: its user agent last, in quotes", () => {
  const conf = proxyConf({ contentSecurityPolicy: "default-src 'self'", hsts: false, apiRateLimitPerSecond: 0, maxBodyMb: 10, apiReadTimeoutSeconds: 300 });
  expect(conf).toContain(
    '  log_format main \'$remote_addr "$http_x_forwarded_for" [$time_local] "$request" $status $body_bytes_sent $request_time $upstream_addr "$http_user_agent"\';\n',
  );
});

test("each sample adds its window's responses by class; probes, the maintenance page and error lines are left out", () => {
  let r = sample(1000);
  expect([r.status, r.stderr]).toEqual([0, ""]);
  expect(fs.readFileSync(path.join(mdir(), "proxy.prom"), "utf8")).toBe(prom([0, 2, 1, 1, 2]));
  // The next window starts where this one ended; its responses are added.
  r = sample(1015);
  expect(r.status).toBe(0);
  expect(fs.readFileSync(path.join(home, "calls"), "utf8")).toBe(
    "logs --since 1000 --until 1000 copilotos-prod-proxy\nlogs --since 1000 --until 1015 copilotos-prod-proxy\n",
  );
  const file = fs.readFileSync(path.join(mdir(), "proxy.prom"), "utf8");
  expect(file).toBe(prom([0, 4, 2, 2, 4]));
  expect([fs.readFileSync(path.join(mdir(), "proxy.since"), "utf8"), fs.readdirSync(mdir()).sort()]).toEqual(["1015\n", ["proxy.prom", "proxy.since"]]);
  const check = spawnSync("promtool", ["check", "metrics"], { input: file, encoding: "utf8" });
  expect([check.status, check.stdout + check.stderr]).toEqual([0, ""]);
});

test("a proxy that is not there adds nothing: the counters stay, the sample goes on", () => {
  expect(sample(1000).status).toBe(0);
  const r = sample(1015, { GONE: "1" });
  expect([r.status, r.stderr]).toEqual([0, ""]);
  expect(fs.readFileSync(path.join(mdir(), "proxy.prom"), "utf8")).toBe(prom([0, 2, 1, 1, 2]));
  expect(fs.readFileSync(path.join(mdir(), "proxy.since"), "utf8")).toBe("1015\n");
});

test("ProxyErrorRate: past its share with enough requests; not below the share, not on a handful of requests (promtool test rules)", () => {
  const rule = alertRules(SPEC).find((r) => r.alert === "ProxyErrorRate")!;
  expect(rule.expr).toBe(
    'sum(increase(copilotos_proxy_responses_total{code="5xx"}[5m])) / sum(increase(copilotos_proxy_responses_total[5m])) * 100 > 5 and sum(increase(copilotos_proxy_responses_total[5m])) >= 20',
  );
  expect(PROXY_MIN_REQUESTS).toBe(20);
  // Per 15 s: [2xx, 5xx] added.
  const traffic = (ok: number, failed: number) => [
    { series: 'copilotos_proxy_responses_total{job="node",code="2xx"}', values: `0+${ok}x40` },
    { series: 'copilotos_proxy_responses_total{job="node",code="5xx"}', values: `0+${failed}x40` },
  ];
  const fired = { exp_labels: { severity: "page", scope: "service" }, exp_annotations: { summary: rule.summary, action: rule.action } };
  const at = (input_series: ReturnType<typeof traffic>, exp_alerts: unknown[]) => ({
    interval: "15s",
    input_series,
    alert_rule_test: [{ eval_time: "8m", alertname: "ProxyErrorRate", exp_alerts }],
  });
  const tests = [
    at(traffic(9, 1), [fired]), // 10% of 200 in 5 minutes
    at(traffic(9.6, 0.4), []), // 4%
    at(traffic(0.27, 0.03), []), // 10% of 6
  ];
  fs.writeFileSync(path.join(home, "rules.yml"), rulesConfig(SPEC));
  fs.writeFileSync(path.join(home, "tests.yml"), stringify({ rule_files: ["rules.yml"], evaluation_interval: "15s", tests }));
  const r = spawnSync("promtool", ["test", "rules", "tests.yml"], { cwd: home, encoding: "utf8" });
  expect([r.status, r.stdout + r.stderr]).toEqual([0, expect.stringContaining("SUCCESS")]);
});

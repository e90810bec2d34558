/**
 * The stack's monitoring on the real test host, applied by the executor as `pulumi up` applies it:
 * Prometheus, Alertmanager and the exporters (this machine's Debian builds at the upstream images'
 * paths) watching the stack, and a webhook receiver written for the test on this machine's end of
 * the link. Each fault is measured from its start to the notification and back to resolved, with the
 * default scrape, evaluation and group-wait intervals (the group interval at its minimum, 1 minute,
 * so a resolved notification comes within the test's patience); a zero-downtime update must notify
 * no one. Ends with `alerts: scenarios=<n> detected=<n> resolved=<n> max_detect_s=<x> duplicates=<n> false_alarms=<n>`.
 */
import { ops } from "../../scripts/ops";
import { StackRig } from "../support/stackRig";
import { Notification, startWebhookReceiver, WebhookReceiver } from "../support/webhookReceiver";
import { buildStandins } from "../support/standins";
import { buildMonitoringStandins, MONITORING_STANDIN_SETTINGS } from "../support/monitoringImages";
import { host, remote, removeProject } from "./support";

jest.setTimeout(1_200_000);
const DOCKER = ["-H", `unix://${host.remoteSocket}`];
/** This machine's end of the link: the receiver listens there, reachable from the test host's containers. */
const OUTSIDE = host.target.address.replace(/\.2$/, ".1");
const rig = new StackRig("prod", { without: ["tls"] });
const log = (line: string) => process.stdout.write(`  ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let hook: WebhookReceiver;
/** Every notification the receiver got, in arrival order. */
let received: Notification[] = [];
const report = { scenarios: 0, detected: 0, resolved: 0, maxDetect: 0, duplicates: 0, falseAlarms: 0 };

const container = (suffix: string) => `copilotos-prod-${suffix}`;
const apiContainer = () => remote("ps", "-q", "--filter", "label=copilotos.stack=prod", "--filter", "label=copilotos.service=api").split("\n")[0];

/** The first notification at or after `since` in which `alertname` has `status`; waits at most `withinMs`. */
async function notified(alertname: string, status: "firing" | "resolved", since: number, withinMs: number): Promise<Notification | undefined> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const n = received.find((r) => r.at >= since && r.alerts.some((a) => a.labels.alertname === alertname && a.status === status));
    if (n || Date.now() > deadline) return n;
    await sleep(500);
  }
}

/**
 * A fault, the alert it must raise, the repair: detection is measured from the fault, resolution
 * from the repair; firing notifications of the alert beyond the first are duplicates.
 */
async function scenario(name: string, alertname: string, fault: () => void, repair: () => void, whileFiring?: () => Promise<void>): Promise<void> {
  report.scenarios++;
  const start = Date.now();
  fault();
  const fired = await notified(alertname, "firing", start, 180_000);
  expect([name, fired ? "notified" : "not notified"]).toEqual([name, "notified"]);
  const detect = (fired!.at - start) / 1000;
  report.detected++;
  report.maxDetect = Math.max(report.maxDetect, detect);
  await whileFiring?.();
  const repaired = Date.now();
  repair();
  const resolved = await notified(alertname, "resolved", repaired, 240_000);
  expect([name, resolved ? "resolved" : "not resolved"]).toEqual([name, "resolved"]);
  report.resolved++;
  const firings = received.filter((r) => r.at >= start && r.status === "firing" && r.alerts.some((a) => a.labels.alertname === alertname)).length;
  report.duplicates += firings - 1;
  log(`${name}: ${alertname} notified after ${detect.toFixed(1)} s, resolved ${((resolved!.at - repaired) / 1000).toFixed(1)} s after the repair`);
}

/** Prometheus's view of its targets: job → health, read inside its container (nothing is published). */
function targets(): Record<string, string> {
  const out = remote("exec", container("prometheus"), "wget", "-qO-", "http://127.0.0.1:9090/api/v1/targets");
  const active = (JSON.parse(out) as { data: { activeTargets: { labels: { job: string; check?: string }; health: string }[] } }).data.activeTargets;
  return Object.fromEntries(active.map((t) => [t.labels.check ?? t.labels.job, t.health]));
}

beforeAll(async () => {
  removeProject();
  buildStandins(DOCKER);
  buildMonitoringStandins(DOCKER);
  hook = await startWebhookReceiver(OUTSIDE, (n) => log(`webhook: ${n.status} ${n.alerts.map((a) => `${a.labels.alertname}(${a.status})`).join(", ")}`));
  received = hook.received;
  await rig.deploy(
    ["copilotos:monitoring.enabled=true", "copilotos:monitoring.alerts.groupIntervalMinutes=1", ...MONITORING_STANDIN_SETTINGS],
    log,
    undefined,
    [`copilotos:alertWebhookUrl=${hook.url}`],
  );
});
afterAll(async () => {
  await hook?.close();
  removeProject();
  process.stdout.write(
    `alerts: scenarios=${report.scenarios} detected=${report.detected} resolved=${report.resolved} max_detect_s=${report.maxDetect.toFixed(1)} duplicates=${report.duplicates} false_alarms=${report.falseAlarms}\n`,
  );
});

test("every target is scraped and healthy, and nothing fires on a healthy stack", async () => {
  const deadline = Date.now() + 120_000;
  let seen: Record<string, string> = {};
  while (Date.now() < deadline) {
    seen = targets();
    if (Object.keys(seen).length >= 8 && Object.values(seen).every((h) => h === "up")) break;
    await sleep(2000);
  }
  expect(seen).toEqual({
    prometheus: "up",
    alertmanager: "up",
    node: "up",
    redis: "up",
    blackbox: "up",
    "api-ready": "up",
    "api-health": "up",
    web: "up",
  });
  // Each part runs under its pids limit, set by the stack's host step like the services'.
  expect(remote("inspect", "--format", "{{.HostConfig.PidsLimit}}", container("prometheus"), container("redis-exporter"))).toBe("256\n64");
  // Two evaluation rounds past every `for`: a healthy stack raises nothing.
  await sleep(50_000);
  expect(received.filter((r) => r.status === "firing").map((r) => r.alerts.map((a) => a.labels.alertname))).toEqual([]);
});

test("the API stopped: ApiNotReady reaches the webhook, and its resolution when the API is back", async () => {
  const api = apiContainer();
  await scenario(
    "api stopped",
    "ApiNotReady",
    () => remote("stop", api),
    () => remote("start", api),
    async () => {
      // What an operator runs: `npm run ops -- prod alerts` over the stack's pinned connection.
      const out: string[] = [];
      const err: string[] = [];
      const args = [...StackRig.hostConfig().config.flatMap((c) => ["--config", c]), "--identity", host.target.identityFile!, "prod", "alerts"];
      const code = await ops(args, { out: (x) => out.push(x), err: (x) => err.push(x) });
      expect([code, err.join("")]).toEqual([0, ""]);
      expect(out.join("")).toMatch(/^PAGE ApiNotReady \(check=api-ready\) for \d+ min\n {2}The API does not answer ready through the proxy/m);
      expect(out.join("")).toContain("  first: npm run ops -- prod status; npm run ops -- prod logs api\n");
    },
  );
});

test("the web stopped: WebDown", async () => {
  const web = remote("ps", "-q", "--filter", "label=copilotos.stack=prod", "--filter", "label=copilotos.service=web").split("\n")[0];
  await scenario(
    "web stopped",
    "WebDown",
    () => remote("stop", web),
    () => remote("start", web),
  );
});

test("Mongo refusing the API's password (the app's health says degraded): MongoUnavailable", async () => {
  const mongo = container("mongo");
  await scenario(
    "mongo refuses",
    "MongoUnavailable",
    () => remote("exec", mongo, "sh", "-c", "cp /data/db/.users /data/db/.users.kept && echo nobody:nothing > /data/db/.users"),
    () => remote("exec", mongo, "sh", "-c", "mv /data/db/.users.kept /data/db/.users"),
  );
});

test("Redis stopped: RedisDown, through the exporter logging in with the stack's password", async () => {
  await scenario(
    "redis stopped",
    "RedisDown",
    () => remote("stop", container("redis")),
    () => remote("start", container("redis")),
  );
});

test("a zero-downtime update of the API notifies no one", async () => {
  // Everything resolved first: an alert still pending from the scenarios above is not this update's.
  await sleep(30_000);
  const start = Date.now();
  await rig.deploy(
    ["copilotos:monitoring.enabled=true", "copilotos:monitoring.alerts.groupIntervalMinutes=1", "copilotos:api.env.RELEASE=2", ...MONITORING_STANDIN_SETTINGS],
    log,
    undefined,
    [`copilotos:alertWebhookUrl=${hook.url}`],
  );
  // Past every `for` and the group wait after the swap.
  await sleep(70_000);
  const alarms = received.filter((r) => r.at >= start && r.status === "firing");
  report.falseAlarms = alarms.length;
  expect(alarms.map((r) => r.alerts.map((a) => a.labels.alertname))).toEqual([]);
});

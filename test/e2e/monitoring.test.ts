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
import { restore } from "../../scripts/restore";
import { get } from "../support/loadClient";
import { runOnHost } from "../../scripts/stack/hostExec";
import { StackRig } from "../support/stackRig";
import { Notification, startWebhookReceiver, WebhookReceiver } from "../support/webhookReceiver";
import { AlertScenarios } from "../support/alertScenarios";
import { buildStandins } from "../support/standins";
import { buildMonitoringStandins, MONITORING_STANDIN_SETTINGS } from "../support/monitoringImages";
import { host, promQuery, remote, removeProject } from "./support";
import { monitorThroughTunnel } from "../support/monitorTunnel";

jest.setTimeout(1_200_000);
const DOCKER = ["-H", `unix://${host.remoteSocket}`];
/** This machine's end of the link: the receiver listens there, reachable from the test host's containers. */
const OUTSIDE = host.target.address.replace(/\.2$/, ".1");
const rig = new StackRig("prod", { without: ["tls"] });
/**
 * The suite's settings: a 1-minute group interval and a 2-minute crash-loop window, so resolutions
 * come within the test's patience; backups missing after 1 hour (the smallest).
 */
const SETTINGS = [
  "copilotos:monitoring.enabled=true",
  "copilotos:monitoring.alerts.groupIntervalMinutes=1",
  "copilotos:monitoring.thresholds.restartWindowMinutes=2",
  "copilotos:monitoring.thresholds.backupMaxAgeHours=1",
  ...MONITORING_STANDIN_SETTINGS,
];
const log = (line: string) => process.stdout.write(`  ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let hook: WebhookReceiver;
/** The receiver's URL as the stack's secret. */
const hookSecret = () => [`copilotos:alertWebhookUrl=${hook.url}`];
/** Every notification the receiver got, in arrival order. */
let received: Notification[] = [];
const alerts = new AlertScenarios(() => received, log);
const scenario = alerts.scenario.bind(alerts);

const container = (suffix: string) => `copilotos-prod-${suffix}`;
const apiContainer = () => remote("ps", "-q", "--filter", "label=copilotos.stack=prod", "--filter", "label=copilotos.service=api").split("\n")[0];

/** What the CLIs (ops, restore) need to reach the test host: its config and the deploy key. */
const CLI_HOST_ARGS = [...StackRig.hostConfig().config.flatMap((c) => ["--config", c]), "--identity", host.target.identityFile!];

/** `npm run ops -- prod <args>` over the stack's pinned connection: its exit code and output. */
async function opsOn(...args: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const code = await ops([...CLI_HOST_ARGS, "prod", ...args], { out: (x) => out.push(x), err: (x) => out.push(x) });
  return { code, out: out.join("") };
}

/** A PromQL query's series (labels and value), read inside Prometheus's container. */
const query = (promql: string) => promQuery(container("prometheus"), promql);

/** SIGKILL to a container's main process (a crash, not a stop: the restart policy brings it back); waits until it runs again. */
async function crash(name: string): Promise<void> {
  const pid = remote("inspect", "--format", "{{.State.Pid}}", name);
  process.kill(Number(pid), "SIGKILL");
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const [running, now] = remote("inspect", "--format", "{{.State.Running}} {{.State.Pid}}", name).split(" ");
    if (running === "true" && now !== pid && now !== "0") return;
    await sleep(100);
  }
  throw new Error(`${name} did not come back within 30 s of its crash`);
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
  await rig.deploy(SETTINGS, log, undefined, hookSecret());
});
afterAll(async () => {
  await hook?.close();
  removeProject();
  process.stdout.write(`${alerts.line()}\n`);
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
  // The host's cron copies every container's health into the node exporter: each of the stack's
  // running containers is there, healthy.
  expect((await runOnHost(host.target, "crontab -l")).stdout).toMatch(
    /^\* \* \* \* \* DOCKER_HOST='\S+' \/bin\/sh '\S+\/\.copilotos\/metrics-copilotos-prod\.sh' >> \S+ 2>&1 # copilotos metrics copilotos-prod$/m,
  );
  const running = remote("ps", "--filter", "label=copilotos.stack=prod", "--format", "{{.Names}}").split("\n").sort();
  let healthy: Record<string, string> = {};
  const until = Date.now() + 150_000;
  while (Date.now() < until) {
    healthy = Object.fromEntries(query("copilotos_container_healthy").map((r) => [r.metric.container, r.value[1]]));
    if (Object.keys(healthy).length >= running.length && Object.values(healthy).every((v) => v === "1")) break;
    await sleep(5000);
  }
  expect(healthy).toEqual(Object.fromEntries(running.map((n) => [n, "1"])));
  // The node exporter reports one file system, its root: the free space of the engine's data file system.
  const fs = query("node_filesystem_avail_bytes").map((r) => [r.metric.mountpoint, Number(r.value[1]) > 0]);
  expect(fs).toEqual([["/", true]]);
  // Each part runs under its pids limit, set by the stack's host step like the services'.
  expect(remote("inspect", "--format", "{{.HostConfig.PidsLimit}}", container("prometheus"), container("redis-exporter"))).toBe("256\n64");
  // The proxy's responses reach Prometheus by status class through the host's job: 7 answers of 4xx
  // are 7. The probes (3 every 15 s, 200 each) are not counted: the 2xx stay few.
  for (let i = 0; i < 7; i++) expect(Math.floor((await get(`http://${host.target.address}:8001/api/no-such-page`)).status / 100)).toBe(4);
  const counted = () => Object.fromEntries(query("copilotos_proxy_responses_total").map((r) => [r.metric.code, Number(r.value[1])]));
  const waitCount = Date.now() + 90_000;
  while (counted()["4xx"] !== 7 && Date.now() < waitCount) await sleep(5000);
  const classes = counted();
  expect([classes["4xx"], classes["5xx"], classes["2xx"] < 10]).toEqual([7, 0, true]);
  log(`proxy responses counted: ${JSON.stringify(classes)}`);
  // ops monitor: both UIs on this machine's loopback through an SSH tunnel, until stopped.
  await monitorThroughTunnel([...CLI_HOST_ARGS, "prod"], log);
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
      const { code, out } = await opsOn("alerts");
      expect(code).toBe(0);
      expect(out).toMatch(/^PAGE ApiNotReady \(check=api-ready\) for \d+ min\n {2}The API does not answer ready through the proxy/m);
      expect(out).toContain("  first: npm run ops -- prod status; npm run ops -- prod logs api\n");
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

test("Redis crashing three times: ContainerCrashLooping, from the restarts the host's cron job copies into the node exporter", async () => {
  const redis = container("redis");
  await scenario(
    "crash loop",
    "ContainerCrashLooping",
    async () => {
      for (let i = 0; i < 3; i++) await crash(redis);
    },
    // The loop is over once it stopped crashing: the alert resolves when the 2-minute window has passed.
    () => undefined,
  );
  expect(Number(remote("inspect", "--format", "{{.RestartCount}}", redis))).toBeGreaterThanOrEqual(3);
});

/** A script on the test host as the deploy user (whose session's DOCKER_HOST is the test engine, as the crontab line's is). */
const onHost = (script: string) => runOnHost(host.target, script);
/** The scheduled backup's job, run as cron runs it: its exit code. */
const backupJob = async () => (await onHost("/bin/sh ~/.copilotos/backup-copilotos-prod.sh")).code;

test("the scheduled backup failing (its folder not writable): BackupFailed; the next good run resolves it", async () => {
  await scenario(
    "backup failing",
    "BackupFailed",
    async () => {
      await onHost("mkdir -p ~/copilotos-backups && chmod 000 ~/copilotos-backups");
      expect(await backupJob()).not.toBe(0);
    },
    async () => {
      await onHost("chmod 700 ~/copilotos-backups");
      expect(await backupJob()).toBe(0);
    },
  );
});

test("no verified backup for longer than backupMaxAgeHours (the last one recorded 2 hours back): BackupMissing", async () => {
  const file = "~/.copilotos/metrics-copilotos-prod/backup.prom";
  await scenario(
    "backup missing",
    "BackupMissing",
    // Two hours are not waited for: the last success is written back by two hours, as if the schedule had not run since.
    async () => {
      const r = await onHost(
        `sed -i "s/^copilotos_backup_last_success_timestamp_seconds .*/copilotos_backup_last_success_timestamp_seconds $(( $(date +%s) - 7200 ))/" ${file} && grep -c '^copilotos_backup_last_success' ${file}`,
      );
      expect(r.stdout.trim()).toBe("1");
    },
    async () => expect(await backupJob()).toBe(0),
  );
});

test("a restore drill notifies no one: the newest backup restored into a scratch volume and served, beside the live stack", async () => {
  expect(await backupJob()).toBe(0); // a verified backup to drill, whatever ran before
  await sleep(30_000); // what the scenarios above raised has resolved
  const start = Date.now();
  const out: string[] = [];
  const code = await restore([...CLI_HOST_ARGS, "prod", "--drill"], { out: (x) => out.push(x), err: (x) => out.push(x) });
  const drilled = (Date.now() - start) / 1000;
  expect([code, out.join("").trim().split("\n").pop()]).toEqual([
    0,
    expect.stringMatching(/^drill: passed: .* The live data was not touched; the scratch volume is removed$/),
  ]);
  // Past every `for` and the group wait, and samples of the host's job.
  await sleep(75_000);
  expect(alerts.falseAlarms(start)).toEqual([]);
  log(`restore drill: passed in ${drilled.toFixed(1)} s; no notification within 75 s after it`);
});

test("a maintenance window (ops maintenance on, then off) notifies no one: the probes fail, the alerts are silenced", async () => {
  await sleep(30_000); // what the scenarios above raised has resolved
  const start = Date.now();
  const on = await opsOn("maintenance", "on");
  expect([on.code, on.out]).toEqual([
    0,
    expect.stringMatching(/^maintenance: the alerts of prod are silenced for 4 hours at most \(silence [0-9a-f-]{36}\)$/m),
  ]);
  // Past every `for` (30 s) and the group wait: the apps' alerts fire, held back by the silence.
  await sleep(75_000);
  const suppressed = JSON.parse(
    remote("exec", container("alertmanager"), "wget", "-qO-", "http://127.0.0.1:9093/api/v2/alerts?active=false&silenced=true&inhibited=false"),
  ) as { labels: Record<string, string>; status: { state: string } }[];
  expect(suppressed.filter((a) => a.status.state === "suppressed").map((a) => a.labels.alertname)).toEqual(expect.arrayContaining(["ApiNotReady", "WebDown"]));
  const off = await opsOn("maintenance", "off");
  expect([off.code, off.out]).toEqual([0, expect.stringContaining("maintenance: the alerts of prod are silenced for 2 more minutes")]);
  await sleep(60_000);
  const alarms = received.filter((r) => r.at >= start);
  alerts.report.falseAlarms += alarms.length;
  expect(alarms.map((r) => `${r.status}: ${r.alerts.map((a) => a.labels.alertname)}`)).toEqual([]);
  log(`maintenance: ${suppressed.length} alerts held back by the silence, ${alarms.length} notifications`);
});

test("a zero-downtime update of the API notifies no one", async () => {
  // Everything resolved first: an alert still pending from the scenarios above is not this update's.
  await sleep(30_000);
  const start = Date.now();
  await rig.deploy([...SETTINGS, "copilotos:api.env.RELEASE=2"], log, undefined, hookSecret());
  // Past every `for` and the group wait after the swap.
  await sleep(70_000);
  expect(alerts.falseAlarms(start)).toEqual([]);
});

// Last: the failing API's unhealthy container outlives the failed update (ContainerUnhealthy may follow).
test("an update whose API never gets ready: its failed gate notifies DeployGateFailed; the next good update resolves it", async () => {
  await scenario(
    "gate failed",
    "DeployGateFailed",
    async () => {
      const failed = await rig.deploy([...SETTINGS, "copilotos:api.env.STANDIN_FAIL_READY=1"], log, undefined, hookSecret()).then(
        () => "deployed",
        (e: Error) => e.message,
      );
      expect(failed).toContain("did not become healthy");
    },
    () => rig.deploy([...SETTINGS, "copilotos:api.env.RELEASE=2"], log, undefined, hookSecret()),
  );
  const gateAlert = received.find((r) => r.alerts.some((a) => a.labels.alertname === "DeployGateFailed"))!.alerts[0];
  expect(gateAlert.labels).toMatchObject({ stack: "prod", service: "api", gate: "ready", severity: "page" });
});

/**
 * The rendered alertmanager.yml in the real Alertmanager (Debian's, on loopback), alerts posted to
 * its API and a webhook receiver written for the test: one notification when an alert fires, none
 * repeated while it keeps firing, one when it resolves; the host unreachable holds back the same
 * stack's service alerts, not another stack's.
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { alertmanagerConfig } from "../components/renderers/monitoring/alertmanager";
import { gateAlertFunction } from "../components/renderers/monitoring/gateAlert";
import { maintenanceSilenceLines } from "../components/renderers/monitoring/silence";
import { stopChild } from "./support/processes";
import { Notification, startWebhookReceiver, WebhookReceiver } from "./support/webhookReceiver";

jest.setTimeout(60_000);

let hook: WebhookReceiver;
/** The receiver's notifications (emptied by each test). */
const received: Notification[] = [];
let am: ChildProcess;
let api: string;
let dir: string;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A free loopback port (the kernel's pick, released for the process to take). */
async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** Waits (bounded) until `n` notifications arrived; returns them. */
async function notifications(n: number, withinMs = 15_000): Promise<Notification[]> {
  const deadline = Date.now() + withinMs;
  while (received.length < n && Date.now() < deadline) await sleep(100);
  return received.slice();
}

const alert = (alertname: string, labels: Record<string, string>, endsAt?: Date) => ({
  labels: { alertname, severity: "page", ...labels },
  annotations: { summary: alertname },
  startsAt: new Date(Date.now() - 60_000).toISOString(),
  ...(endsAt ? { endsAt: endsAt.toISOString() } : {}),
});
async function post(alerts: object[]): Promise<void> {
  const r = await fetch(`${api}/api/v2/alerts`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(alerts) });
  expect(r.status).toBe(200);
}
const summary = (n: Notification) => `${n.status}: ${n.alerts.map((a) => `${a.labels.alertname}/${a.labels.stack}`).join(",")}`;

/**
 * Host script lines run here as on the host, their `docker exec <alertmanager> amtool …` run against
 * this Alertmanager (a stand-in `docker`: the container is running; amtool gets this one's URL).
 */
function onHost(script: string[]) {
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(
    path.join(bin, "docker"),
    [
      "#!/bin/sh",
      'case "$1" in inspect) echo true; exit 0 ;; esac',
      'shift 2; tool=$1; shift; for a in "$@"; do shift; case "$a" in --alertmanager.url=*) ;; *) set -- "$@" "$a" ;; esac; done',
      `exec "$tool" --alertmanager.url=${api} "$@"`,
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  fs.mkdirSync(path.join(dir, "home", ".copilotos"), { recursive: true });
  return spawnSync("sh", ["-c", ["set -eu", ...script].join("\n")], {
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, HOME: path.join(dir, "home") },
    encoding: "utf8",
  });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "cpt-alertmanager-"));
  hook = await startWebhookReceiver("127.0.0.1", (n) => received.push(n));
  // Seconds instead of the defaults' minutes and hours: the same routing, fast enough to watch.
  fs.writeFileSync(
    path.join(dir, "alertmanager.yml"),
    alertmanagerConfig({ stack: "prod", groupWaitSeconds: 1, groupIntervalSeconds: 2, repeatIntervalSeconds: 3600, receivers: { webhook: { url: hook.url } } }),
  );
  const port = await freePort();
  api = `http://127.0.0.1:${port}`;
  am = spawn(
    "prometheus-alertmanager",
    [`--config.file=${dir}/alertmanager.yml`, `--storage.path=${dir}/data`, `--web.listen-address=127.0.0.1:${port}`, "--cluster.listen-address="],
    { stdio: "ignore" },
  );
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (
      await fetch(`${api}/-/ready`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await sleep(200);
  }
  throw new Error("Alertmanager did not become ready in 15 s");
});
afterAll(async () => {
  await stopChild(am);
  await hook?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("one notification when an alert fires, none again while it keeps firing, one when it resolves", async () => {
  received.length = 0;
  const labels = { stack: "prod", scope: "service", check: "api-ready" };
  await post([alert("ApiNotReady", labels)]);
  expect((await notifications(1)).map(summary)).toEqual(["firing: ApiNotReady/prod"]);
  // Still firing (posted again, as Prometheus does every evaluation) across three group intervals: no repeat.
  for (let i = 0; i < 3; i++) {
    await sleep(2000);
    await post([alert("ApiNotReady", labels)]);
  }
  expect(received.map(summary)).toEqual(["firing: ApiNotReady/prod"]);
  await post([alert("ApiNotReady", labels, new Date())]);
  expect((await notifications(2)).map(summary)).toEqual(["firing: ApiNotReady/prod", "resolved: ApiNotReady/prod"]);
  await sleep(5000);
  expect(received).toHaveLength(2);
});

test("a failed gate's alert, posted as the gate posts it (amtool), is notified once, and resolved when the gate passes", async () => {
  received.length = 0;
  const gate = (state: string) => {
    const r = onHost([...gateAlertFunction({ identity: { project: "copilotos", stack: "prod" }, service: "api" }, "health"), `gate_alert ${state}`]);
    expect([r.status, r.stderr]).toEqual([0, ""]);
  };
  gate("firing");
  const [fired] = await notifications(1);
  expect(fired.alerts.map((a) => [a.status, a.labels])).toEqual([
    ["firing", { alertname: "DeployGateFailed", stack: "prod", service: "api", gate: "health", severity: "page", scope: "service" }],
  ]);
  gate("resolved");
  expect((await notifications(2)).map(summary)).toEqual(["firing: DeployGateFailed/prod", "resolved: DeployGateFailed/prod"]);
});

test("maintenance on silences the stack's alerts for 4 hours; off replaces that with 2 minutes (the lines amtool runs on the host)", async () => {
  type Silence = { id: string; status: { state: string }; matchers: { name: string; value: string }[]; endsAt: string };
  const silences = async () => (await (await fetch(`${api}/api/v2/silences`)).json()) as Silence[];
  const id = { project: "copilotos", stack: "prod" };
  const on = onHost(maintenanceSilenceLines(id, true));
  expect([on.status, on.stderr]).toEqual([0, ""]);
  const sid = /\(silence ([0-9a-f-]{36})\)/.exec(on.stdout)![1];
  const first = (await silences()).find((x) => x.id === sid)!;
  expect([first.status.state, first.matchers.map((m) => `${m.name}=${m.value}`)]).toEqual(["active", ["stack=prod"]]);
  expect(Date.parse(first.endsAt) - Date.now()).toBeGreaterThan(4 * 3600_000 - 60_000);
  const off = onHost(maintenanceSilenceLines(id, false));
  expect([off.status, off.stderr]).toEqual([0, ""]);
  const after = await silences();
  expect(after.find((x) => x.id === sid)!.status.state).toBe("expired");
  const short = after.filter((x) => x.status.state === "active");
  expect(short.map((x) => x.matchers.map((m) => `${m.name}=${m.value}`))).toEqual([["stack=prod"]]);
  expect(Date.parse(short[0].endsAt) - Date.now()).toBeLessThanOrEqual(2 * 60_000);
  // Nothing of it is left active once the test is over (the inhibit test below posts prod alerts).
  for (const x of short) await fetch(`${api}/api/v2/silence/${x.id}`, { method: "DELETE" });
});

test("the host unreachable holds back the same stack's service alerts; another stack's still notify", async () => {
  received.length = 0;
  await post([alert("HostUnreachable", { stack: "prod", scope: "host" })]);
  await notifications(1);
  await post([alert("WebDown", { stack: "prod", scope: "service", check: "web" }), alert("WebDown", { stack: "staging", scope: "service", check: "web" })]);
  await notifications(2);
  await sleep(5000);
  expect(received.map(summary).sort()).toEqual(["firing: HostUnreachable/prod", "firing: WebDown/staging"]);
});

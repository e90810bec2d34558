/**
 * `npm run ops` against the staging stack from its own graph on the test host: status by service,
 * logs of the serving API (a fingerprinted name the operator never types), exec in Redis,
 * maintenance mode, the migration step, backups (before app updates, scheduled, drilled), and
 * HTTPS at the proxy.
 */
import * as fs from "node:fs";
import { ops } from "../../scripts/ops";
import { restore } from "../../scripts/restore";
import { runOnHost } from "../../scripts/stack/hostExec";
import { captured } from "../support/cliRun";
import { StackData } from "../support/stackData";
import { get } from "../support/loadLoop";
import { StackRig } from "../support/stackRig";
import { buildStandins } from "../support/standins";
import { ApplyError } from "../support/executor";
import { makeTestCa, TestCa } from "../support/testCa";
import { issueWithCertbot } from "../support/acme";
import { host, remote, removeProject, remoteTry } from "./support";

jest.setTimeout(600_000);
const rig = new StackRig("staging");
const hostArgs = () => [
  ...StackRig.hostConfig().config.flatMap((c) => ["--config", c]),
  "--config",
  "copilotos:backup.dir=~/ops-backups",
  "--identity",
  host.target.identityFile!,
];
function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  // The host options first: after `--` everything is the command exec runs.
  return captured(ops, [...hostArgs(), ...argv]);
}

beforeAll(async () => {
  removeProject();
  buildStandins(["-H", `unix://${host.remoteSocket}`]);
  await rig.deploy(["copilotos:backup.dir=~/ops-backups"]);
});
/** What the bench line reports: each is set once its test's every check passed. */
const proven = { tls: false, maintenance: false, migrate_before_switch: false, scheduled_backup: false, drill: false };
afterAll(() => {
  removeProject();
  const line = Object.entries(proven)
    .map(([k, v]) => `${k}=${v ? "yes" : "no"}`)
    .join(" ");
  process.stdout.write(`ops: ${line}\n`);
});

test("status: every service with its image, health, restarts and start time; the last verified backup; free disk", async () => {
  const r = await run("staging", "status");
  expect(r).toMatchObject({ code: 0, err: "" });
  const rows = r.out.split("\n");
  expect(rows[0]).toBe("SERVICE CONTAINER IMAGE STATE HEALTH RESTARTS STARTED");
  const services = rows.slice(1, 6).map((l) => l.split(" ").slice(0, 6).join(" "));
  expect(services).toEqual([
    expect.stringMatching(/^api copilotos-staging-api-[0-9a-f]{8} cpt-standin\/api:1 running healthy 0$/),
    "mongo copilotos-staging-mongo cpt-standin/mongo:1 running healthy 0",
    "proxy copilotos-staging-proxy cpt-standin/nginx:1 running healthy 0",
    "redis copilotos-staging-redis cpt-standin/redis:1 running healthy 0",
    expect.stringMatching(/^web copilotos-staging-web-[0-9a-f]{8} cpt-standin\/web:1 running healthy 0$/),
  ]);
  // The first deploy's backup before the apps (Mongo's volume exists by then) is reported.
  expect(r.out).toMatch(/last verified backup: copilotos-staging-mongo-\d{8}T\d{6}Z\.tar \(\d+ bytes/);
  expect(r.out).toMatch(/free disk: \d+ MiB on \S+ \(Docker root\)/);
  // The same report for scripts.
  const j = await run("staging", "status", "--json");
  expect(j).toMatchObject({ code: 0, err: "" });
  const report = JSON.parse(j.out) as {
    containers: { service: string; state: string; health: string }[];
    lastBackup: { file: string } | null;
    freeDisk: { of: string }[];
  };
  expect(report.containers.map((c) => [c.service, c.state, c.health])).toEqual(["api", "mongo", "proxy", "redis", "web"].map((s) => [s, "running", "healthy"]));
  expect(report.lastBackup?.file).toMatch(/^copilotos-staging-mongo-\d{8}T\d{6}Z\.tar$/);
  expect(report.freeDisk.map((d) => d.of)).toContain("docker-root");
});

test("restart: Redis waits for its health check; the API for its health check and 200 through the proxy, then it serves", async () => {
  const before = remote("inspect", "--format", "{{.State.StartedAt}}", "copilotos-staging-redis");
  const redis = await run("staging", "restart", "redis");
  expect(redis).toMatchObject({ code: 0, err: "" });
  expect(redis.out).toMatch(
    /^restart: copilotos-staging-redis\n(restart: waiting for copilotos-staging-redis \(running starting\)\n)*restart: copilotos-staging-redis is healthy\n$/,
  );
  expect(remote("inspect", "--format", "{{.State.StartedAt}}", "copilotos-staging-redis")).not.toBe(before);
  const api = await run("staging", "restart", "api");
  expect(api).toMatchObject({ code: 0, err: "" });
  expect(api.out).toMatch(/^restart: copilotos-staging-api-[0-9a-f]{8}\n/);
  expect(api.out).toMatch(
    /restart: copilotos-staging-api-[0-9a-f]{8} is healthy\nrestart: http:\/\/127\.0\.0\.1:8101\/api\/health\/ready answers 200 through the proxy\n$/,
  );
  expect((await get(`http://${host.target.address}:8101/api/health/ready`)).status).toBe(200);
});

test("logs of the serving API by service name; exec in Redis with the arguments as given", async () => {
  const logs = await run("staging", "logs", "api", "--tail", "20");
  expect(logs.code).toBe(0);
  expect(logs.out + logs.err).toContain("api stand-in: secrets loaded; listening on :8001");
  const ping = await run("staging", "exec", "redis", "--", "sh", "-c", 'REDISCLI_AUTH="$(cat /run/secrets/redis_password)" redis-cli ping');
  expect(ping).toMatchObject({ code: 0, out: "PONG\n" });
  const missing = await run("staging", "exec", "redis", "--", "false");
  expect(missing.code).toBe(1);
});

test("maintenance on: both apps answer 503 with the page (security headers kept), without a deploy; off: they answer again", async () => {
  const base = `http://${host.target.address}`;
  const on = await run("staging", "maintenance", "on");
  expect(on).toMatchObject({
    code: 0,
    out: "maintenance: no monitoring runs for staging: no alert to silence\nmaintenance: on at copilotos-staging-proxy (both apps answer 503 with the maintenance page)\n",
  });
  for (const url of [`${base}:3100/`, `${base}:8101/api/health/ready`]) {
    const r = await get(url);
    expect(r.status).toBe(503);
    expect(r.body).toContain("<h1>Down for maintenance</h1>");
    expect(r.headers["x-frame-options"]).toBe("DENY");
  }
  expect((await run("staging", "maintenance", "on")).out).toBe(
    "maintenance: no monitoring runs for staging: no alert to silence\nmaintenance: already on at copilotos-staging-proxy\n",
  );
  expect(await run("staging", "maintenance", "off")).toMatchObject({
    code: 0,
    // Staging runs no monitoring: nothing to silence, and it says so.
    out: "maintenance: no monitoring runs for staging: no alert to silence\nmaintenance: off at copilotos-staging-proxy (traffic reaches the apps again)\n",
  });
  expect((await get(`${base}:3100/`)).status).toBe(200);
  expect((await get(`${base}:8101/api/health/ready`)).status).toBe(200);
  proven.maintenance = true;
});

describe("the migration step (api.migrate)", () => {
  const routed = () => remote("exec", "copilotos-staging-proxy", "cat", "/etc/nginx/copilotos/api.upstream");

  test("runs in a one-off container of the new API image with its env and secret files, before the new API gets traffic", async () => {
    const command = JSON.stringify(["sh", "-c", 'test -s /run/secrets/mongodb_password && test -n "$MONGODB_HOST" && echo migrated-with-secrets']);
    const steps = await rig.deploy(["copilotos:backup.dir=~/ops-backups", "copilotos:api.env.STANDIN_SCENARIO=m1", `copilotos:api.migrate=${command}`]);
    const names = steps.filter((s) => s.action !== "same").map((s) => s.name);
    expect(names.indexOf("copilotos-api-migrate-run")).toBeLessThan(names.indexOf("copilotos-api-route-switch"));
    // The backup before the app update comes first.
    expect(names.indexOf("copilotos-app-backup-run")).toBeGreaterThanOrEqual(0);
    expect(names.indexOf("copilotos-app-backup-run")).toBeLessThan(names.indexOf("copilotos-api-migrate-run"));
    expect(steps.find((s) => s.name === "copilotos-api-migrate-run")?.output).toContain("migrated-with-secrets\nmigrate: done\n");
    expect(remoteTry("inspect", `${routed().replace(/^server (.*):8001;$/, "$1")}-migrate`)).toBeUndefined(); // the one-off container is gone
    proven.migrate_before_switch = true;
  });

  test("a failing migration stops the update: the route still leads to the old API, which keeps serving", async () => {
    const before = routed();
    const error = await rig
      .deploy([
        "copilotos:backup.dir=~/ops-backups",
        "copilotos:api.env.STANDIN_SCENARIO=m2",
        `copilotos:api.migrate=${JSON.stringify(["sh", "-c", "echo schema conflict; exit 3"])}`,
      ])
      .catch((e: Error) => e);
    expect(error).toBeInstanceOf(ApplyError);
    expect((error as Error).message).toMatch(/^copilotos-api-migrate-run: command failed/);
    expect((error as Error).message).toContain("migrate: sh -c echo schema conflict; exit 3 failed; the new API gets no traffic and the old one keeps serving");
    expect(routed()).toBe(before);
    expect((await get(`http://${host.target.address}:8101/api/health/ready`)).status).toBe(200);
  });
});

describe("backups: before every app update, on the host's own schedule, and restore drills", () => {
  const base = ["copilotos:backup.dir=~/ops-backups"];
  const onHost = async (script: string) => (await runOnHost(host.target, script)).stdout;
  const archives = async () => (await onHost('for f in ~/ops-backups/*.tar; do [ -e "$f" ] && echo "${f##*/}"; done; true')).split("\n").filter(Boolean);
  const data = StackData.ofStack("staging");

  test("an app update is backed up first; a deploy that changes nothing makes no backup", async () => {
    const before = await archives();
    const steps = await rig.deploy([...base, "copilotos:api.env.STANDIN_SCENARIO=b1"]);
    const names = steps.filter((x) => x.action !== "same").map((x) => x.name);
    expect(names.indexOf("copilotos-app-backup-run")).toBeGreaterThanOrEqual(0);
    expect(names.indexOf("copilotos-app-backup-run")).toBeLessThan(names.indexOf("copilotos-api-route-switch"));
    expect((await archives()).length).toBe(before.length + 1);
    const again = await rig.deploy([...base, "copilotos:api.env.STANDIN_SCENARIO=b1"]);
    expect(again.filter((x) => x.action !== "same").map((x) => x.name)).toEqual([]);
    expect((await archives()).length).toBe(before.length + 1);
  });

  test("the host backs up on its own schedule (its cron, installed by the stack); turning it off removes it", async () => {
    const every = [...base, "copilotos:api.env.STANDIN_SCENARIO=b1", "copilotos:backup.schedule=* * * * *"];
    await rig.deploy(every);
    const line = (await onHost("crontab -l")).split("\n").find((l) => l.endsWith("# copilotos backup copilotos-staging"));
    expect(line).toMatch(/^\* \* \* \* \* DOCKER_HOST='unix:\/\/\S+' \/bin\/sh '\S+\/\.copilotos\/backup-copilotos-staging\.sh' >> /);
    const before = await archives();
    const log = "~/.copilotos/backup-copilotos-staging.log";
    const deadline = Date.now() + 100_000;
    while (!(await onHost(`cat ${log} 2>/dev/null || true`)).includes("backup: verified") && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 2000));
    const ran = await onHost(`cat ${log}`);
    expect(ran).toMatch(/backup: verified \S+copilotos-staging-mongo-\d{8}T\d{6}Z\.tar \(\d+ bytes, sha256 [0-9a-f]{64}\)/);
    expect(ran).toContain("backup: retention kept the newest 7 and the newest of each of the last 7 days, 4 weeks and 12 months");
    expect((await archives()).length).toBeGreaterThan(before.length);
    // Mongo was unlocked after the scheduled backup: the API still logs in.
    expect((await get(`http://${host.target.address}:8101/api/health/ready`)).status).toBe(200);

    const off = await rig.deploy([...base, "copilotos:api.env.STANDIN_SCENARIO=b1", "copilotos:backup.schedule=off"]);
    expect(off.find((x) => x.name === "copilotos-backup-schedule-install")).toMatchObject({ action: "delete" });
    expect(await onHost("crontab -l 2>/dev/null || true")).not.toContain("# copilotos backup copilotos-staging");
    expect(await onHost("ls ~/.copilotos")).not.toContain("backup-copilotos-staging.sh");
    proven.scheduled_backup = true;
  });

  test("a drill restores the newest backup into a scratch volume and serves it; the live data is untouched", async () => {
    data.onMongoVolume("echo order-1 > /data/db/orders.wt");
    await rig.deploy([...base, "copilotos:api.env.STANDIN_SCENARIO=b2", "copilotos:backup.schedule=off"]); // an app update: a backup
    const live = data.fingerprint();
    const out: string[] = [];
    const err: string[] = [];
    const code = await restore([...hostArgs(), "staging", "--drill"], { out: (x) => out.push(x), err: (x) => err.push(x) });
    expect([code, err.join("")]).toEqual([0, ""]);
    const newest = (await archives()).sort().pop()!;
    expect(out.join("")).toContain(`drill: ${newest} passed its checks (sha256 `);
    expect(out.join("").trim().split("\n").pop()).toBe(
      `drill: passed: ${newest} restored into a scratch volume and served by mongod; databases: admin orders. The live data was not touched; the scratch volume is removed`,
    );
    expect(data.fingerprint()).toEqual(live);
    expect(remote("volume", "ls", "--filter", "label=copilotos.drill", "-q")).toBe("");
    expect(remote("ps", "-a", "--filter", "name=drill", "-q")).toBe("");

    // A damaged archive fails the drill, and says why.
    await onHost(`cp ~/ops-backups/${newest} ~/drill-keep.tar && printf x >> ~/ops-backups/${newest}`);
    const bad: string[] = [];
    expect(await restore([...hostArgs(), "staging", "--drill"], { out: () => undefined, err: (x) => bad.push(x) })).toBe(1);
    expect(bad.join("")).toContain(`drill: FAILED: ${newest} does not match its .sha256`);
    await onHost(`mv ~/drill-keep.tar ~/ops-backups/${newest}`);
    proven.drill = true;
  });
});

describe("HTTPS at the proxy (config tls), with a CA made in the test", () => {
  let ca: TestCa;
  beforeAll(() => {
    ca = makeTestCa([host.target.address]);
  });
  afterAll(() => ca.remove());
  const addr = () => host.target.address;

  test("both apps answer over HTTPS with HSTS; the plain ports redirect without it; maintenance answers over HTTPS too", async () => {
    await rig.deploy(
      ["copilotos:backup.dir=~/ops-backups", `copilotos:tls.certificate=${ca.cert}`, "copilotos:tls.ports.web=3543", "copilotos:tls.ports.api=8543"],
      undefined,
      undefined,
      [`copilotos:tls.key=${ca.key}`],
    );
    const hsts = "max-age=31536000; includeSubDomains";
    for (const url of [`https://${addr()}:3543/`, `https://${addr()}:8543/api/health/ready`]) {
      const r = await get(url, { ca: fs.readFileSync(ca.caFile, "utf8") });
      expect([url, r.status, r.headers["strict-transport-security"]]).toEqual([url, 200, hsts]);
    }
    // The certificate served is the one configured: without the test CA the client refuses it.
    await expect(get(`https://${addr()}:3543/`)).rejects.toThrow(/self[- ]signed|unable to (get|verify)/i);
    const web = await get(`http://${addr()}:3100/chat?x=1`);
    expect([web.status, web.headers.location, web.headers["strict-transport-security"]]).toEqual([301, `https://${addr()}:3543/chat?x=1`, undefined]);
    const api = await get(`http://${addr()}:8101/api/health`);
    expect([api.status, api.headers.location]).toEqual([308, `https://${addr()}:8543/api/health`]);

    expect((await run("staging", "maintenance", "on")).code).toBe(0);
    const down = await get(`https://${addr()}:3543/`, { ca: fs.readFileSync(ca.caFile, "utf8") });
    expect([down.status, down.body.includes("Down for maintenance"), down.headers["strict-transport-security"]]).toEqual([503, true, hsts]);
    expect((await run("staging", "maintenance", "off")).code).toBe(0);
    // The key is in the proxy for nginx's master only.
    expect(remote("exec", "copilotos-staging-proxy", "stat", "-c", "%a %U", "/etc/nginx/tls/key.pem")).toBe("400 root");
    proven.tls = true;
  });

  test("a certificate issued over ACME (certbot against pebble, a real http-01 challenge) is served, its name checked", async () => {
    const acme = await issueWithCertbot("copilotos.test");
    await rig.deploy(
      ["copilotos:backup.dir=~/ops-backups", `copilotos:tls.certificate=${acme.fullchain}`, "copilotos:tls.ports.web=3543", "copilotos:tls.ports.api=8543"],
      undefined,
      undefined,
      [`copilotos:tls.key=${acme.privkey}`],
    );
    const ok = await get(`https://${addr()}:3543/`, { ca: acme.root, servername: "copilotos.test" });
    expect([ok.status, ok.headers["strict-transport-security"]]).toEqual([200, "max-age=31536000; includeSubDomains"]);
    await expect(get(`https://${addr()}:3543/`, { ca: acme.root, servername: "other.test" })).rejects.toThrow(/other\.test|altnames/i);
  });
});

/**
 * After any failure the next `up` converges, under the engine's rules (test/support/executor.ts):
 * a matrix of failure points of an app update, each followed by (a) `up` again unchanged, (b) `up`
 * with the cause gone, or (c) the previous config (what `npm run rollback` applies), and an order
 * fuzz: the same update under several seeds. Every run is judged from outside while a request loop
 * hits the API through the proxy: a green run must serve what the config says (the API's reported
 * version and the routed containers' settings), a failed one must leave the previous version
 * serving, the routes must lead to running containers, nginx must accept its config, the backup
 * schedule must stay installed, the data must be unchanged, and no request may fail.
 * Ends with `converge: cells=… converged=… false_success=… served_wrong=… deleted_while_serving=… seeds=… seed_failures=…`.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { runOnHost } from "../../scripts/stack/hostExec";
import { ApplyError, BeforeStep } from "../support/executor";
import { routedTo } from "../support/faultRun";
import { get, LoadResult, startLoad } from "../support/loadLoop";
import { StackData } from "../support/stackData";
import { StackRig } from "../support/stackRig";
import { apiVersion, buildStandins, STANDIN_TAGS } from "../support/standins";
import { host, remote, remoteTry, removeProject } from "./support";

jest.setTimeout(900_000);
const API = `http://${host.target.address}:8101`;
const WEB = `http://${host.target.address}:3100`;
const V2 = "cpt-standin/api:2";
/** Seeds of the order fuzz: `CONVERGE_SEEDS` (the bench sets 20). */
const SEEDS = Number(process.env.CONVERGE_SEEDS ?? 4);
const rig = new StackRig("staging");
const data = StackData.ofStack("staging");
const log = (line: string) => process.stdout.write(`  ${line}\n`);
const report = { cells: 0, converged: 0, falseSuccess: 0, servedWrong: 0, deletedWhileServing: 0, seeds: 0, seedFailures: 0 };
// Short gates: a failing one gives up after 25 s.
const BASE = ["copilotos:healthTimeoutSeconds=25"];

/** What a config asks the apps to be: the API's version, and a marker in each app's env. */
interface Want {
  version: "1" | "2";
  api: string;
  web: string;
  /** The backup schedule's crontab time. @default the stack file's */
  schedule?: string;
  /** A proxy setting changed (its largest body: 101 MiB, not 100): the proxy is replaced, delete-first. @default false */
  proxy?: boolean;
  /** Redis published on the host's loopback: Redis is replaced, delete-first. @default false */
  redis?: boolean;
  /** `api.migrate`: a migration that succeeds only while Mongo serves /migrate-ok (see migrationHeals). @default none */
  migrate?: boolean;
}
/** The migration (a one-off container of the new API image, after the backup, before the route switch). */
const MIGRATE = JSON.stringify(["sh", "-c", "curl -fsS -o /dev/null http://mongodb:27017/migrate-ok && echo migrated"]);
const configOf = (w: Want) => [
  ...BASE,
  ...(w.version === "2" ? [`copilotos:images.api=${V2}`] : []),
  `copilotos:api.env.STANDIN_SCENARIO=${w.api}`,
  `copilotos:web.env.STANDIN_SCENARIO=${w.web}`,
  ...(w.schedule ? [`copilotos:backup.schedule=${w.schedule}`] : []),
  ...(w.proxy ? ["copilotos:proxy.maxBodyMb=101"] : []),
  ...(w.redis ? ["copilotos:ports.redis=16379"] : []),
  ...(w.migrate ? [`copilotos:api.migrate=${MIGRATE}`] : []),
];
/**
 * What a replaced proxy may cost (docs/operations.md): refused connections while the new proxy
 * starts, never an HTTP error (it starts with the routes the old one had), for at most this long.
 */
const PROXY_RESTART_S = 3;
let proxyOutage = 0;
/** What the request loop saw beyond what the docs promise; a run that replaced the proxy may have had its restart. */
function beyondPromise(load: LoadResult, proxyReplaced: boolean): string[] {
  if (!load.failed) return [];
  const seen = `${load.failed} of ${load.requests} requests failed over ${load.outageSeconds}s ${JSON.stringify(load.samples)}, statuses ${JSON.stringify(load.statuses)}`;
  if (!proxyReplaced) return [seen];
  proxyOutage = Math.max(proxyOutage, load.outageSeconds);
  log(`proxy replaced: ${seen}`);
  return Object.keys(load.statuses).length || load.outageSeconds > PROXY_RESTART_S ? [`beyond the proxy's restart: ${seen}`] : [];
}

const routed = (service: "api" | "web") => routedTo("staging", service);
const apps = (service: "api" | "web") =>
  remote("ps", "-a", "--filter", "label=copilotos.stack=staging", "--filter", `label=copilotos.service=${service}`, "--format", "{{.Names}}")
    .split("\n")
    .filter(Boolean);

/**
 * Everything that must hold while one of `wants` serves (after a failure: the previous config, or
 * for an app whose gate passed, the new one); the list of what did not. A green run has one want.
 */
async function serving(wants: Want[], green: boolean): Promise<string[]> {
  const wrong: string[] = [];
  const envOf: Partial<Record<"api" | "web", string>> = {};
  for (const service of ["api", "web"] as const) {
    const ctr = routed(service);
    const state = remoteTry("inspect", "--format", "{{.State.Running}} {{json .Config.Env}}", ctr);
    if (!state?.startsWith("true")) {
      wrong.push(`the ${service} route leads to ${ctr}, which is not running`);
      report.deletedWhileServing++;
      continue;
    }
    envOf[service] = state;
    if (!wants.some((w) => state.includes(`STANDIN_SCENARIO=${w[service]}"`)))
      wrong.push(`the ${service} route leads to ${ctr}, not to a container of scenario ${wants.map((w) => w[service]).join(" or ")}`);
    if (green && apps(service).length !== 1) wrong.push(`${service} containers after a green run: ${apps(service).join(", ")}`);
  }
  // The version the API reports must be the one of the config its routed container came from.
  const answer = (url: string) => get(url).catch((e: Error) => ({ status: 0, body: e.message }));
  const auth = await answer(`${API}/api/standin/auth`);
  const version = auth.status === 200 ? (JSON.parse(auth.body) as { version?: string }).version : `HTTP ${auth.status || auth.body}`;
  const api = wants.find((w) => envOf.api?.includes(`STANDIN_SCENARIO=${w.api}"`));
  if (version !== api?.version) wrong.push(`the API answers version ${version}, its config says ${api?.version ?? "nothing"}`);
  // A green run: the API is logged in to both databases (Redis may have been replaced).
  if (green && !/"mongo":"ok","redis":"ok"/.test(auth.body)) wrong.push(`the API's databases: ${auth.body}`);
  if ((await answer(`${WEB}/`)).status !== 200) wrong.push("the web does not answer 200 through the proxy");
  if (remoteTry("exec", "copilotos-staging-proxy", "nginx", "-t", "-q") === undefined) wrong.push("nginx -t fails in the proxy");
  const cron = await runOnHost(host.target, "crontab -l 2>/dev/null || true", "");
  const line = cron.stdout.split("\n").find((l) => l.includes("# copilotos backup copilotos-staging"));
  if (!line) wrong.push("the scheduled backup's crontab line is gone");
  // A green run installs its schedule; after a failure the line is the previous or the new one.
  else if (!wants.some((w) => line.startsWith(`${w.schedule ?? "30 3 * * *"} `))) wrong.push(`the crontab line is ${line.split(" /")[0]}…`);
  if (JSON.stringify(data.fingerprint()) !== JSON.stringify(baseline)) wrong.push("the data changed");
  if (wrong.length) report.servedWrong++;
  return wrong;
}

let baseline: ReturnType<StackData["fingerprint"]>;
let current: Want = { version: "1", api: "c0", web: "c0" };

beforeAll(async () => {
  removeProject();
  buildStandins(["-H", `unix://${host.remoteSocket}`]);
  apiVersion(["-H", `unix://${host.remoteSocket}`], V2, "2");
  await rig.deploy(configOf(current), log);
  data.seed(2, 100_000, 20);
  baseline = data.fingerprint();
  expect(await serving([current], true)).toEqual([]);
});
afterAll(() => {
  portFreed();
  removeProject();
  const r = report;
  process.stdout.write(
    `converge: proxy_outage_s=${proxyOutage.toFixed(2)} (at most ${PROXY_RESTART_S} s allowed; refused connections only)\nconverge: cells=${r.cells} converged=${r.converged} false_success=${r.falseSuccess} served_wrong=${r.servedWrong} deleted_while_serving=${r.deletedWhileServing} seeds=${r.seeds} seed_failures=${r.seedFailures}\n`,
  );
});

/** The new container of `service` the state records (the one a failed update created). */
const inState = (service: "api" | "web") => String(rig.state.resources.get(`docker:index/container:Container::copilotos-${service}-container`)?.live.name);

interface Cell {
  /** The update that fails. */
  target: Want;
  /** How: a hook before a step (throw: `pulumi up` killed; or break the new container). @default none: the cause is already there */
  fault?: BeforeStep;
  /** Undoes a fault left in a container, before the next run. */
  heal?: () => void | Promise<unknown>;
  /** What the next run asks for: the same config, or the previous one (a rollback). */
  then: "again" | "previous";
  /** `pulumi up` killed after this resource's create finished on the host, before the state had it (a pending create). @default none */
  killAfterCreate?: string;
}

async function cell(c: Cell): Promise<void> {
  report.cells++;
  const before = current;
  const loop = startLoad(`${API}/api/health/live`, { minRequests: 50, clients: 2, timeoutMs: 5000 });
  const problems: string[] = [];
  const next = c.then === "again" ? c.target : before;
  try {
    const failed = await rig.deploy(configOf(c.target), log, c.fault, [], { killAfterCreate: c.killAfterCreate }).catch((e: Error) => e);
    if (!(failed instanceof ApplyError)) {
      problems.push("the faulted update ended green");
      report.falseSuccess++;
    } else problems.push(...(await serving([before, c.target], false)).map((p) => `after the failure: ${p}`));
    await c.heal?.();
    const green = await rig.deploy(configOf(next), log).catch((e: Error) => e);
    if (green instanceof Error) problems.push(`the re-run failed: ${green.message.split("\n")[0]}`);
    else problems.push(...(await serving([next], true)).map((p) => `after the re-run: ${p}`));
  } finally {
    loop.stop();
  }
  const load = await loop.done;
  // The proxy is replaced when the failed run or the re-run changes its setting.
  const proxyReplaced = [before, c.target, next].some((w, i, all) => i > 0 && !!w.proxy !== !!all[i - 1].proxy);
  problems.push(...beyondPromise(load, proxyReplaced));
  current = next;
  if (problems.length === 0) report.converged++;
  expect(problems).toEqual([]);
}

const killedBefore =
  (step: string): BeforeStep =>
  async (name) => {
    if (name === step) throw new Error(`pulumi up killed (SIGKILL) before ${step}`);
  };
/** The new API fails through the proxy while the file exists (test/support/standins.ts). */
const apiFailsProxied: BeforeStep = async (name) => {
  if (name === "copilotos-api-health-wait") remote("exec", inState("api"), "touch", "/tmp/fail-proxied");
};
const apiHeals = () => void remoteTry("exec", inState("api"), "rm", "-f", "/tmp/fail-proxied");
/** The new web answers 404 at / while its page is moved away. */
const webFails: BeforeStep = async (name) => {
  if (name === "copilotos-web-health-wait") remote("exec", inState("web"), "mv", "/www/index.html", "/www/index.off");
};
const webHeals = () => void remoteTry("exec", inState("web"), "mv", "/www/index.off", "/www/index.html");
/** The backup before the app update cannot write its archive (the folder is closed to the deploy user). */
const backupFails: BeforeStep = async (name) => {
  if (name === "copilotos-app-backup-run") await runOnHost(host.target, 'chmod 000 "$HOME/copilotos-backups"', "");
};
const backupHeals = () => runOnHost(host.target, 'chmod 700 "$HOME/copilotos-backups"', "");
/** A container outside the stack publishes the port Redis is about to take (16379, on the host's loopback). */
const FOREIGN = "cpt-converge-foreign";
const portTaken: BeforeStep = async (name) => {
  if (name === "copilotos-preflight-check") remote("run", "-d", "--name", FOREIGN, "-p", "127.0.0.1:16379:3000", STANDIN_TAGS.web);
};
const portFreed = () => void remoteTry("rm", "-f", FOREIGN);
/** The cause of the migration's failure goes: Mongo's stand-in serves the file it asks for. */
const migrationHeals = () => void remote("exec", "copilotos-staging-mongo", "touch", "/mongo/migrate-ok");
/**
 * The SSH connection drops while `step` runs (the deploy user's sshd sessions are killed, as when
 * the link goes): once the step's own session is up, a session that was not there when the step
 * began (polled, not timed: a loaded machine connects late, and a kill before the session would let
 * the step end green).
 */
const sshCutDuring =
  (step: string): BeforeStep =>
  async (name) => {
    if (name !== step) return;
    const sessions = async () => (await runOnHost({ kind: "local" }, `pgrep -u ${host.target.user} sshd || true`, "")).stdout.split("\n").filter(Boolean);
    const before = new Set(await sessions());
    void (async () => {
      for (let i = 0; i < 100 && (await sessions()).every((pid) => before.has(pid)); i++) await sleep(100);
      await runOnHost({ kind: "local" }, `pkill -KILL -u ${host.target.user} sshd || true`, "");
    })();
  };

describe("the convergence matrix", () => {
  test("the API's health gate fails once; (a) up again unchanged: the gate routes to the new API and checks it", () =>
    cell({ target: { version: "2", api: "a1", web: "c0" }, fault: apiFailsProxied, heal: apiHeals, then: "again" }));

  test("the API's health gate fails; (c) the previous config: the old version serves, no name meets the kept container", () =>
    cell({ target: { version: "1", api: "a2", web: "c0" }, fault: apiFailsProxied, then: "previous" }));

  test("the web's health gate fails once; (a) up again unchanged", () =>
    cell({ target: { version: current.version, api: current.api, web: "w1" }, fault: webFails, heal: webHeals, then: "again" }));

  test("killed before the API's route switch; (a) up again unchanged", () =>
    cell({ target: { version: "2", api: "k1", web: "w1" }, fault: killedBefore("copilotos-api-route-switch"), then: "again" }));

  test("killed after the API switched, before the web's container; (c) the previous config", () =>
    cell({ target: { version: "1", api: "k2", web: "k2" }, fault: killedBefore("copilotos-web-container"), then: "previous" }));

  test("killed before the API's ready gate; (b) up again with the cause gone (the same config)", () =>
    cell({ target: { version: "1", api: "k3", web: "w1" }, fault: killedBefore("copilotos-api-ready-wait"), then: "again" }));

  test("killed after the new API's create finished, before the state had it; (b) up again meets its name (Pulumi's pending create) while the old API serves; after the documented docker rm -f, up converges", () => {
    const before = current;
    const target: Want = { ...current, version: current.version === "1" ? "2" : "1", api: "x1" };
    return cell({
      target,
      killAfterCreate: "copilotos-api-container",
      then: "again",
      // What docs/operations.md says happens, and what it says to do.
      heal: async () => {
        const again = await rig.deploy(configOf(target), log).catch((e: Error) => e);
        expect(again).toBeInstanceOf(ApplyError);
        expect((again as Error).message).toMatch(/Conflict\. The container name "\/copilotos-staging-api-[0-9a-f]{8}" is already in use/);
        expect(await serving([before], false)).toEqual([]);
        const orphans = apps("api").filter((n) => n !== routed("api"));
        expect(orphans).toHaveLength(1);
        remote("rm", "-f", orphans[0]);
      },
    });
  });

  test("the backup before the app update fails; (b) up again with the cause gone: nothing of the update ran before it, then it all does", () =>
    cell({ target: { version: "2", api: "b1", web: "b1" }, fault: backupFails, heal: backupHeals, then: "again" }));

  test("the SSH connection drops in the middle of the API's ready gate; (a) up again unchanged", () =>
    cell({ target: { version: "1", api: "s1", web: "b1" }, fault: sshCutDuring("copilotos-api-ready-wait"), then: "again" }));

  test("a new backup schedule with an API update whose gate fails once; (a) up again: the new line, installed once", () =>
    cell({ target: { version: "2", api: "t1", web: "b1", schedule: "15 2 * * *" }, fault: apiFailsProxied, heal: apiHeals, then: "again" }));

  test("pre-flight finds the port Redis is to take held by another container; (b) up again once it is free: nothing ran before, then it all does", () =>
    cell({
      target: { ...current, version: current.version === "1" ? "2" : "1", api: "q1", redis: !current.redis },
      fault: portTaken,
      heal: portFreed,
      then: "again",
    }));

  test("the migration fails; (b) up again once its cause is gone: the new API is switched to only after it ran", () =>
    cell({ target: { ...current, version: "2", api: "m1", migrate: true }, heal: migrationHeals, then: "again" }));

  test("a proxy change with an API update whose gate fails once; (a) up again: the new proxy serves the running API from its start", () =>
    cell({ target: { ...current, version: "1", api: "p1", proxy: true }, fault: apiFailsProxied, heal: apiHeals, then: "again" }));

  test("Redis replaced with an API update whose gate fails once; (c) the previous config: Redis replaced back, the old API serves", () =>
    cell({ target: { ...current, version: "2", api: "r1", redis: !current.redis }, fault: apiFailsProxied, then: "previous" }));
});

describe("order fuzz", () => {
  test(`a full update (proxy, API, web and Redis) under ${SEEDS} seeds reaches the same state every time, no request failed but in the proxy's restart`, async () => {
    for (let i = 0; i < SEEDS; i++) {
      const seed = 1000 + i * 7919;
      // Each seed changes all four from the one before.
      const want: Want = { ...current, version: i % 2 ? "1" : "2", api: `f${i}`, web: `f${i}`, proxy: !current.proxy, redis: !current.redis };
      const loop = startLoad(`${API}/api/health/live`, { minRequests: 20, clients: 2, timeoutMs: 5000 });
      const ran = await rig.deploy(configOf(want), log, undefined, [], { seed }).catch((e: Error) => e);
      loop.stop();
      const load = await loop.done;
      const wrong = ran instanceof Error ? [`seed ${seed}: ${ran.message.split("\n")[0]}`] : await serving([want], true);
      wrong.push(...beyondPromise(load, true).map((w) => `seed ${seed}: ${w}`));
      report.seeds++;
      if (wrong.length) report.seedFailures++;
      current = want;
      expect(wrong).toEqual([]);
    }
  });
});

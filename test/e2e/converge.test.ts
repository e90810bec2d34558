/**
 * After any failure the next `up` converges, under the engine's rules (test/support/executor.ts):
 * a matrix of failure points of an app update, each followed by (a) `up` again unchanged, (b) `up`
 * with the cause gone, or (c) `npm run rollback` (the real CLI) to the last green update, and an order
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
import { startLoad } from "../support/loadLoop";
import { API, Cell, configOf, ConvergeMatrix, log, V3, Want } from "../support/convergeMatrix";
import { apiVersion, STANDIN_TAGS } from "../support/standins";
import { host, remote, remoteTry, removeProject } from "./support";

jest.setTimeout(900_000);
/** Seeds of the order fuzz: `CONVERGE_SEEDS` (the bench sets 20). */
const SEEDS = Number(process.env.CONVERGE_SEEDS ?? 4);
const m = new ConvergeMatrix();
const rig = m.rig;
const cell = async (c: Cell) => expect(await m.cell(c)).toEqual([]);
const routed = (service: "api" | "web") => routedTo("staging", service);
/** Another API version than the one serving: the update replaces the API. */
const flip = () => (m.current.version === "1" ? "2" : "1");
/** A pending operation's re-run as docs/operations.md describes it: `up` again fails with `message` while `serves` serves. */
async function failsAgain(target: Want, message: RegExp, serves: Want): Promise<void> {
  const again = await rig.deploy(configOf(target), log).catch((e: Error) => e);
  expect(again).toBeInstanceOf(ApplyError);
  expect((again as Error).message).toMatch(message);
  expect(await m.serving([serves], false)).toEqual([]);
}

beforeAll(async () => {
  removeProject();
  expect(await m.start()).toEqual([]);
});
afterAll(() => {
  portFreed();
  removeProject();
  process.stdout.write(m.lines());
});

const killedBefore =
  (step: string): BeforeStep =>
  async (name) => {
    if (name === step) throw new Error(`pulumi up killed (SIGKILL) before ${step}`);
  };
/** The new API fails through the proxy while the file exists (test/support/standins.ts). */
const apiFailsProxied: BeforeStep = async (name) => {
  if (name === "copilotos-api-health-wait") remote("exec", m.inState("api"), "touch", "/tmp/fail-proxied");
};
const apiHeals = () => void remoteTry("exec", m.inState("api"), "rm", "-f", "/tmp/fail-proxied");
/** The new web answers 404 at / while its page is moved away. */
const webFails: BeforeStep = async (name) => {
  if (name === "copilotos-web-health-wait") remote("exec", m.inState("web"), "mv", "/www/index.html", "/www/index.off");
};
const webHeals = () => void remoteTry("exec", m.inState("web"), "mv", "/www/index.off", "/www/index.html");
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
/** The cause of the migration's failure goes: Mongo's stand-in answers `ok` to it (its root is read-only: the mark is in its /tmp). */
const migrationHeals = () => void remote("exec", "copilotos-staging-mongo", "touch", "/tmp/migrate-ok");
/**
 * The SSH connection drops while the API's ready gate runs (the deploy user's sshd sessions are
 * killed, as when the link goes): once the step's own session is up, a session that was not there
 * when the step began (polled, not timed: a loaded machine connects late, and a kill before the
 * session would let the step end green). The new API is held not ready meanwhile, so the gate is
 * still waiting when the cut falls however slow the machine (in one CI run the gate passed first);
 * {@link apiReadies} lifts the hold, as the link's return lifts the cause.
 */
const sshCutDuringReadyGate: BeforeStep = async (name) => {
  if (name !== "copilotos-api-ready-wait") return;
  remote("exec", m.inState("api"), "touch", "/tmp/not-ready");
  const sessions = async () => (await runOnHost({ kind: "local" }, `pgrep -u ${host.target.user} sshd || true`, "")).stdout.split("\n").filter(Boolean);
  const before = new Set(await sessions());
  void (async () => {
    for (let i = 0; i < 100 && (await sessions()).every((pid) => before.has(pid)); i++) await sleep(100);
    await runOnHost({ kind: "local" }, `pkill -KILL -u ${host.target.user} sshd || true`, "");
  })();
};
const apiReadies = () => void remoteTry("exec", m.inState("api"), "rm", "-f", "/tmp/not-ready");
describe("the convergence matrix", () => {
  test("the API's health gate fails once; (a) up again unchanged: the gate routes to the new API and checks it", () =>
    cell({ target: { version: "2", api: "a1", web: "c0" }, fault: apiFailsProxied, heal: apiHeals, then: "again" }));

  test("the API's health gate fails; (c) npm run rollback to the last green update: the old version serves, no name meets the kept container", () =>
    cell({ target: { version: "1", api: "a2", web: "c0" }, fault: apiFailsProxied, then: "rollback" }));

  test("the web's health gate fails once; (a) up again unchanged", () =>
    cell({ target: { version: m.current.version, api: m.current.api, web: "w1" }, fault: webFails, heal: webHeals, then: "again" }));

  test("killed before the API's route switch; (a) up again unchanged", () =>
    cell({ target: { version: "2", api: "k1", web: "w1" }, fault: killedBefore("copilotos-api-route-switch"), then: "again" }));

  test("killed after the API switched, before the web's container; (c) npm run rollback", () =>
    cell({ target: { version: "1", api: "k2", web: "k2" }, fault: killedBefore("copilotos-web-container"), then: "rollback" }));

  test("killed before the API's ready gate; (b) up again with the cause gone (the same config)", () =>
    cell({ target: { version: "1", api: "k3", web: "w1" }, fault: killedBefore("copilotos-api-ready-wait"), then: "again" }));

  test("killed after the new API's create finished, before the state had it; (b) up again meets its name (Pulumi's pending create) while the old API serves; after the documented docker rm -f, up converges", () => {
    const before = m.current;
    const target: Want = { ...m.current, version: flip(), api: "x1" };
    return cell({
      target,
      killAfter: { step: "copilotos-api-container", op: "create" },
      then: "again",
      // What docs/operations.md says happens, and what it says to do.
      heal: async () => {
        await failsAgain(target, /Conflict\. The container name "\/copilotos-staging-api-[0-9a-f]{8}" is already in use/, before);
        const orphans = m.apps("api").filter((n) => n !== routed("api"));
        expect(orphans).toHaveLength(1);
        remote("rm", "-f", orphans[0]);
      },
    });
  });

  test("delivery: the new API image is not on the host (no registry answers: the seeds' missing image); (b) up again once it is there", () =>
    cell({
      target: { ...m.current, version: "3", api: "v1" },
      heal: () => void apiVersion(["-H", `unix://${host.remoteSocket}`], V3, "3"),
      then: "again",
    }));

  test("the new API never gets ready (a broken release); (c) npm run rollback: the old API serves throughout", () =>
    cell({ target: { ...m.current, version: flip(), api: "n1", notReady: true }, then: "rollback" }));

  test("the backup before the app update fails; (b) up again with the cause gone: nothing of the update ran before it, then it all does", () =>
    cell({ target: { version: "2", api: "b1", web: "b1" }, fault: backupFails, heal: backupHeals, then: "again" }));

  test("the SSH connection drops in the middle of the API's ready gate; (a) up again unchanged", () =>
    cell({ target: { version: "1", api: "s1", web: "b1" }, fault: sshCutDuringReadyGate, heal: apiReadies, then: "again" }));

  test("a new backup schedule with an API update whose gate fails once; (a) up again: the new line, installed once", () =>
    cell({ target: { version: "2", api: "t1", web: "b1", schedule: "15 2 * * *" }, fault: apiFailsProxied, heal: apiHeals, then: "again" }));

  test("pre-flight finds the port Redis is to take held by another container; (b) up again once it is free: nothing ran before, then it all does", () =>
    cell({
      target: { ...m.current, version: flip(), api: "q1", redis: !m.current.redis },
      fault: portTaken,
      heal: portFreed,
      then: "again",
    }));

  test("the migration fails; (b) up again once its cause is gone: the new API is switched to only after it ran", () =>
    cell({ target: { ...m.current, version: "2", api: "m1", migrate: true }, heal: migrationHeals, then: "again" }));

  test("a proxy change with an API update whose gate fails once; (a) up again: the new proxy serves the running API from its start", () =>
    cell({ target: { ...m.current, version: "1", api: "p1", proxy: true }, fault: apiFailsProxied, heal: apiHeals, then: "again" }));

  test("Redis replaced with an API update whose gate fails once; (c) npm run rollback: the old API serves, Redis stays as configured (a rollback restores app config, not ports)", () =>
    cell({ target: { ...m.current, version: "2", api: "r1", redis: !m.current.redis }, fault: apiFailsProxied, then: "rollback" }));
});

describe("pending operations (pulumi up killed after a provider's work, before the state recorded it)", () => {
  test("a Mongo password rotation with an API update, killed after the password changed inside mongod; (a) up again: the rotation finds the new password current, Mongo and the API get it", () =>
    cell({
      // No migration here: the stand-in's needs a marker inside the Mongo container this rotation replaces.
      target: { ...m.current, version: flip(), api: "o1", rotate: "o1", migrate: false },
      killAfter: { step: "copilotos-mongo-rotation-change", op: "create" },
      then: "again",
    }));

  test("a new backup schedule, killed after its install's update (a pending update: the state keeps the old schedule); (a) up again: the install runs again, the new line once", () =>
    cell({ target: { ...m.current, schedule: "45 4 * * *" }, killAfter: { step: "copilotos-backup-schedule-install", op: "update" }, then: "again" }));

  test("killed after the old API's delete (a pending delete); (b) up again fails deleting a container that is gone while the new API serves; after the documented pulumi refresh, up converges", () => {
    const target: Want = { ...m.current, version: flip(), api: "d1" };
    return cell({
      target,
      killAfter: { step: "copilotos-api-container", op: "delete" },
      then: "again",
      // What docs/operations.md says happens, and what it says to do.
      heal: async () => {
        await failsAgain(target, /^copilotos-api-container: delete failed: Error stopping container [0-9a-f]{64}: .*No such container/, target);
        expect(await rig.refresh()).toEqual(["copilotos-api-container"]);
      },
    });
  });
});

describe("order fuzz", () => {
  test(`a full update (proxy, API, web and Redis) under ${SEEDS} seeds reaches the same state every time, no request failed but in the proxy's restart`, async () => {
    for (let i = 0; i < SEEDS; i++) {
      const seed = 1000 + i * 7919;
      // Each seed changes all four from the one before.
      const want: Want = { ...m.current, version: i % 2 ? "1" : "2", api: `f${i}`, web: `f${i}`, proxy: !m.current.proxy, redis: !m.current.redis };
      const loop = startLoad(`${API}/api/health/live`, { minRequests: 20, clients: 2, timeoutMs: 5000 });
      const ran = await rig.deploy(configOf(want), log, undefined, [], { seed }).catch((e: Error) => e);
      loop.stop();
      const load = await loop.done;
      const wrong = ran instanceof Error ? [`seed ${seed}: ${ran.message.split("\n")[0]}`] : await m.serving([want], true);
      wrong.push(...m.beyondPromise(load, true).map((w) => `seed ${seed}: ${w}`));
      m.report.seeds++;
      if (wrong.length) m.report.seedFailures++;
      m.current = want;
      expect(wrong).toEqual([]);
    }
  });
});

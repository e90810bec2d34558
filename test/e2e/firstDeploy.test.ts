/**
 * Order fuzz of the first deploy (issue: `pulumi up` as the engine runs it): the staging stack
 * created from nothing under several executor seeds, each order drawn differently among the steps
 * that are ready together. Every seed must reach the same state: the same resources, the same
 * containers (app names up to their random suffix) all healthy, the routes on the app containers,
 * the API logged in to both databases, the schedule installed once; and an unchanged `up` right
 * after, under a request loop, changes nothing and fails no request.
 * Ends with `first-deploy: seeds=<n> same_state=<n> failed_requests=<n>`.
 */
import { runOnHost } from "../../scripts/stack/hostExec";
import { routedTo } from "../support/faultRun";
import { failuresOf, get, NO_FAILURES, startLoad } from "../support/loadLoop";
import { StackRig } from "../support/stackRig";
import { buildStandins } from "../support/standins";
import { host, remote, removeProject } from "./support";

jest.setTimeout(600_000);
/** Seeds: `FIRST_DEPLOY_SEEDS` (the bench sets 20). */
const SEEDS = Number(process.env.FIRST_DEPLOY_SEEDS ?? 3);
const API = `http://${host.target.address}:8101`;
const WEB = `http://${host.target.address}:3100`;
const log = (line: string) => process.stdout.write(`  ${line}\n`);
const report = { seeds: 0, same: 0, failedRequests: 0 };

beforeAll(() => {
  removeProject();
  buildStandins(["-H", `unix://${host.remoteSocket}`]);
});
afterAll(() => {
  removeProject();
  process.stdout.write(`first-deploy: seeds=${report.seeds} same_state=${report.same} failed_requests=${report.failedRequests}\n`);
});

/** What a deployed stack looks like from outside, names without their random suffixes. */
async function observed(rig: StackRig): Promise<Record<string, unknown>> {
  const containers = remote("ps", "-a", "--filter", "label=copilotos.stack=staging", "--format", "{{.Names}} {{.Status}}")
    .split("\n")
    .filter(Boolean)
    .map((l) => l.replace(/-[0-9a-f]{8} /, "-* ").replace(/Up .*\(healthy\)$/, "healthy"))
    .sort();
  const routes = (["api", "web"] as const).map((s) => routedTo("staging", s).replace(/-[0-9a-f]{8}$/, "-*"));
  const auth = await get(`${API}/api/standin/auth`).catch((e: Error) => ({ status: 0, body: e.message }));
  const web = await get(`${WEB}/`).catch(() => ({ status: 0 }));
  const cron = (await runOnHost(host.target, "crontab -l 2>/dev/null || true", "")).stdout
    .split("\n")
    .filter((l) => l.includes("# copilotos backup copilotos-staging"));
  return {
    resources: [...rig.state.resources.values()].map((e) => `${e.type} ${e.name}`).sort(),
    containers,
    routes,
    auth: auth.body,
    web: web.status,
    schedules: cron.length,
    // The files' volumes and writers are named by a suffix drawn at the deploy.
    volumes: remote("volume", "ls", "-q", "--filter", "label=copilotos.stack=staging")
      .split("\n")
      .filter(Boolean)
      .map((v) => v.replace(/-files-[0-9a-f]{8}-/, "-files-*-"))
      .sort(),
    writers: remote("ps", "-a", "--filter", "label=copilotos.files-for", "--format", "{{.Names}} {{.State}}")
      .split("\n")
      .filter(Boolean)
      .map((w) => w.replace(/-files-[0-9a-f]{8} /, "-files-* "))
      .sort(),
  };
}

let first: Record<string, unknown> | undefined;
// One test per seed, each with its own timeout.
describe(`the first deploy under ${SEEDS} seeds reaches the same state every time; an unchanged up right after changes nothing, under load`, () => {
  test.each(Array.from({ length: SEEDS }, (_, i) => 2000 + i * 7919))("seed %i", async (seed) => {
    removeProject();
    await runOnHost(host.target, "crontab -r 2>/dev/null || true", "");
    const rig = new StackRig("staging");
    await rig.deploy([], log, undefined, [], { seed });
    const state = await observed(rig);
    expect(state).toMatchObject({
      containers: [
        "copilotos-staging-api-* healthy",
        "copilotos-staging-mongo healthy",
        "copilotos-staging-proxy healthy",
        "copilotos-staging-redis healthy",
        "copilotos-staging-web-* healthy",
      ],
      routes: ["copilotos-staging-api-*", "copilotos-staging-web-*"],
      auth: expect.stringMatching(/"mongo": ?"ok", ?"redis": ?"ok"/),
      web: 200,
      schedules: 1,
    });
    first ??= state;
    report.seeds++;
    if (JSON.stringify(state) === JSON.stringify(first)) report.same++;
    expect(state).toEqual(first);

    const loop = startLoad(`${API}/api/health/live`, { minRequests: 50, clients: 2, timeoutMs: 5000 });
    const again = await rig.deploy([], log, undefined, [], { seed: seed + 1 }).finally(() => loop.stop());
    const load = await loop.done;
    report.failedRequests += load.failed;
    expect(again.filter((s) => s.action !== "same")).toEqual([]);
    expect(failuresOf(load)).toEqual(NO_FAILURES);
  });
});

/**
 * The convergence matrix's rig (test/e2e/converge.test.ts): the staging stack on the test host, what
 * a config asks the apps to be (`Want`), how every run is judged from outside (`serving`), and one
 * cell: a faulted update, then the next `up` (the same config, or `npm run rollback` to the last green update).
 */
import { runOnHost } from "../../scripts/stack/hostExec";
import { ApplyError, ApplyOptions, BeforeStep } from "./executor";
import { rollback } from "../../scripts/rollback";
import { docker, routedTo } from "./faultRun";
import { RigBackend } from "./rigBackend";
import { get, LoadResult, startLoad } from "./loadLoop";
import { StackData } from "./stackData";
import { StackRig } from "./stackRig";
import { TEST_BACKUP_SCHEDULE } from "./cron";
import { apiVersion, buildStandins } from "./standins";
import { requireTestHost } from "./testHost";

const host = requireTestHost();
export const API = `http://${host.target.address}:8101`;
const WEB = `http://${host.target.address}:3100`;
export const V2 = "cpt-standin/api:2";
/** A version no engine has until a cell delivers it (the seeds' image missing on the host). */
export const V3 = "cpt-standin/api:3";
// Short gates: a failing one gives up after 45 s. Not shorter: under CI's load a healthy stand-in
// API took up to 26 s to be ready, and a 25 s gate once failed a rollback that should have passed.
const BASE = ["copilotos:healthTimeoutSeconds=45"];
export const log = (line: string) => process.stdout.write(`  ${line}\n`);

/** What a config asks the apps to be: the API's version, and a marker in each app's env. */
export interface Want {
  version: "1" | "2" | "3";
  api: string;
  web: string;
  /** The backup schedule's crontab time. @default TEST_BACKUP_SCHEDULE (never fires) */
  schedule?: string;
  /** A proxy setting changed (its largest body: 101 MiB, not 100): the proxy is replaced, delete-first. @default false */
  proxy?: boolean;
  /** Redis published on the host's loopback: Redis is replaced, delete-first. @default false */
  redis?: boolean;
  /** `api.migrate`: a migration that succeeds only while Mongo's stand-in answers `ok` at /cgi-bin/migrate (see migrationHeals). @default none */
  migrate?: boolean;
  /** `mongo.rotate`: a new value rotates Mongo's password in place. @default none */
  rotate?: string;
  /** The new API never gets ready (its readiness answers 503: a broken release). @default false */
  notReady?: boolean;
}
/** The migration (a one-off container of the new API image, after the backup, before the route switch). */
const MIGRATE = JSON.stringify(["sh", "-c", "curl -fsS http://mongodb:27017/cgi-bin/migrate | grep -qx ok && echo migrated"]);
export const configOf = (w: Want) => [
  ...BASE,
  ...(w.version === "2" ? [`copilotos:images.api=${V2}`] : w.version === "3" ? [`copilotos:images.api=${V3}`] : []),
  `copilotos:api.env.STANDIN_SCENARIO=${w.api}`,
  `copilotos:web.env.STANDIN_SCENARIO=${w.web}`,
  ...(w.schedule ? [`copilotos:backup.schedule=${w.schedule}`] : []),
  ...(w.proxy ? ["copilotos:proxy.maxBodyMb=101"] : []),
  ...(w.redis ? ["copilotos:ports.redis=16379"] : []),
  ...(w.migrate ? [`copilotos:api.migrate=${MIGRATE}`] : []),
  ...(w.rotate ? [`copilotos:mongo.rotate=${w.rotate}`] : []),
  ...(w.notReady ? ["copilotos:api.env.STANDIN_FAIL_READY=1"] : []),
];

/**
 * What a replaced proxy may cost (docs/operations.md): no answer (requests cut, refused or held)
 * while Docker stops, removes, creates and starts its container, then while nginx starts; never an
 * HTTP error (it starts with the routes the old one had). Docker's part is Docker's work and grows
 * with the machine's load (1.5-2.0 s on an idle test host, 3.0-4.4 s with the cores busy, 2.2-3.2 s
 * in CI; the whole outage once reached 6.59 s there); nginx's part, from its container's start to the
 * first answer, is the proxy's own (0.14-0.86 s measured, idle to CI) and may be at most this long.
 */
export const NGINX_START_S = 2;

export interface Cell {
  /** The update that fails. */
  target: Want;
  /** How: a hook before a step (throw: `pulumi up` killed; or break the new container). @default none: the cause is already there */
  fault?: BeforeStep;
  /** Undoes a fault left in a container, or does what the docs say to do, before the next run. */
  heal?: () => void | Promise<unknown>;
  /**
   * What comes next: `up` with the same config, or `npm run rollback -- staging --to <the last green
   * update> --yes` (the real CLI over the rig's history: images and app config come back, ports,
   * backup and secrets stay as they are).
   */
  then: "again" | "rollback";
  /** `pulumi up` killed after a provider finished a step, before the state had it (a pending operation). @default none */
  killAfter?: ApplyOptions["killAfter"];
}

/** What a rollback to `before` brings back after `target`: images and app config (api, web, proxy); ports (Redis), backup and rotation stay as `target` set them. */
export const rolledBack = (before: Want, target: Want): Want => ({
  ...target,
  version: before.version,
  api: before.api,
  web: before.web,
  proxy: before.proxy,
  migrate: before.migrate,
  notReady: before.notReady,
});

export class ConvergeMatrix {
  readonly rig = new StackRig("staging");
  readonly data = StackData.ofStack("staging");
  readonly report = { cells: 0, converged: 0, falseSuccess: 0, servedWrong: 0, deletedWhileServing: 0, seeds: 0, seedFailures: 0 };
  current: Want = { version: "1", api: "c0", web: "c0" };
  /** The longest replaced proxy's outage seen, and its parts (seconds). */
  proxyOutage = { total: 0, docker: 0, nginx: 0 };
  private baseline?: ReturnType<StackData["fingerprint"]>;

  /** Builds the stand-ins, deploys the first config, seeds the data and takes its fingerprint. */
  async start(): Promise<string[]> {
    buildStandins(["-H", `unix://${host.remoteSocket}`]);
    apiVersion(["-H", `unix://${host.remoteSocket}`], V2, "2");
    docker("rmi", "-f", V3);
    await this.rig.deploy(configOf(this.current), log);
    this.data.seed(2, 100_000, 20);
    this.baseline = this.data.fingerprint();
    return this.serving([this.current], true);
  }

  /** `npm run rollback -- staging --to <update> --yes`, the real CLI on the rig's history; an error unless it exits 0. */
  async rollback(to: number | undefined): Promise<Error | undefined> {
    const printed: string[] = [];
    const io = { out: (s: string) => void printed.push(s), err: (s: string) => void printed.push(s) };
    const code = await rollback(["staging", "--to", String(to), "--yes"], new RigBackend(this.rig, log), io);
    log(`npm run rollback -- staging --to ${to} --yes: exit ${code}\n${printed.join("")}`);
    return code === 0 ? undefined : new Error(`npm run rollback exited ${code}: ${printed.join("").trim()}`);
  }

  /** The bench lines. */
  lines(): string {
    const r = this.report;
    const o = this.proxyOutage;
    return (
      `converge: proxy_outage_s=${o.total.toFixed(2)} docker_s=${o.docker.toFixed(2)} nginx_s=${o.nginx.toFixed(2)} (nginx's start at most ${NGINX_START_S} s; no HTTP error)\n` +
      `converge: cells=${r.cells} converged=${r.converged} false_success=${r.falseSuccess} served_wrong=${r.servedWrong} deleted_while_serving=${r.deletedWhileServing} seeds=${r.seeds} seed_failures=${r.seedFailures}\n`
    );
  }

  /** The new container of `service` the state records (the one a failed update created). */
  inState(service: "api" | "web"): string {
    return String(this.rig.state.resources.get(`docker:index/container:Container::copilotos-${service}-container`)?.live.name);
  }

  apps(service: "api" | "web"): string[] {
    return (docker("ps", "-a", "--filter", "label=copilotos.stack=staging", "--filter", `label=copilotos.service=${service}`, "--format", "{{.Names}}") ?? "")
      .split("\n")
      .filter(Boolean);
  }

  /**
   * What the request loop saw beyond what the docs promise; a run that replaced the proxy may have
   * had its restart: failures that began before the new proxy was created (the old one's stop) and
   * ended at most NGINX_START_S after its start, none an HTTP status.
   */
  beyondPromise(load: LoadResult, proxyReplaced: boolean): string[] {
    if (!load.failed) return [];
    const seen = `${load.failed} of ${load.requests} requests failed over ${load.outageSeconds}s ${JSON.stringify(load.samples)}, statuses ${JSON.stringify(load.statuses)}`;
    if (!proxyReplaced) return [seen];
    const [created, started] = (docker("inspect", "--format", "{{.Created}} {{.State.StartedAt}}", "copilotos-staging-proxy") ?? "").split(" ").map(Date.parse);
    // Until the first answer after the failures: a request Docker's port proxy held while the container started is no answer either.
    const nginx = (load.recoveredAt - started) / 1000;
    const parts = { total: (load.recoveredAt - load.firstFailAt) / 1000, docker: (started - load.firstFailAt) / 1000, nginx };
    if (parts.total > this.proxyOutage.total) this.proxyOutage = parts;
    log(`proxy replaced: ${seen}; no answer for ${parts.total.toFixed(2)} s: docker ${parts.docker.toFixed(2)} s, nginx ${nginx.toFixed(2)} s`);
    const why = [
      ...(Object.keys(load.statuses).length ? ["an HTTP error"] : []),
      ...(load.firstFailAt > created ? ["failures began after the new proxy was created"] : []),
      ...(!(load.recoveredAt > started) ? ["no answer after the new proxy started"] : []),
      ...(nginx > NGINX_START_S ? [`nginx answered ${nginx.toFixed(2)} s after its container started (at most ${NGINX_START_S} s)`] : []),
    ];
    return why.length ? [`beyond the proxy's restart (${why.join("; ")}): ${seen}`] : [];
  }

  /**
   * Everything that must hold while one of `wants` serves (after a failure: the previous config, or
   * for an app whose gate passed, the new one); the list of what did not. A green run has one want.
   */
  async serving(wants: Want[], green: boolean): Promise<string[]> {
    const wrong: string[] = [];
    const envOf: Partial<Record<"api" | "web", string>> = {};
    for (const service of ["api", "web"] as const) {
      const ctr = routedTo("staging", service);
      const state = docker("inspect", "--format", "{{.State.Running}} {{json .Config.Env}}", ctr);
      if (!state?.startsWith("true")) {
        wrong.push(`the ${service} route leads to ${ctr}, which is not running`);
        this.report.deletedWhileServing++;
        continue;
      }
      envOf[service] = state;
      if (!wants.some((w) => state.includes(`STANDIN_SCENARIO=${w[service]}"`)))
        wrong.push(`the ${service} route leads to ${ctr}, not to a container of scenario ${wants.map((w) => w[service]).join(" or ")}`);
      if (green && this.apps(service).length !== 1) wrong.push(`${service} containers after a green run: ${this.apps(service).join(", ")}`);
    }
    // The version the API reports must be the one of the config its routed container came from.
    const answer = (url: string) => get(url).catch((e: Error) => ({ status: 0, body: e.message }));
    const auth = await answer(`${API}/api/standin/auth`);
    const version = auth.status === 200 ? (JSON.parse(auth.body) as { version?: string }).version : `HTTP ${auth.status || auth.body}`;
    const api = wants.find((w) => envOf.api?.includes(`STANDIN_SCENARIO=${w.api}"`));
    if (version !== api?.version) wrong.push(`the API answers version ${version}, its config says ${api?.version ?? "nothing"}`);
    // A green run: the API is logged in to both databases (Redis may have been replaced, Mongo's password rotated).
    if (green && !/"mongo":"ok","redis":"ok"/.test(auth.body)) wrong.push(`the API's databases: ${auth.body}`);
    if ((await answer(`${WEB}/`)).status !== 200) wrong.push("the web does not answer 200 through the proxy");
    if (docker("exec", "copilotos-staging-proxy", "nginx", "-t", "-q") === undefined) wrong.push("nginx -t fails in the proxy");
    const cron = await runOnHost(host.target, "crontab -l 2>/dev/null || true", "");
    const lines = cron.stdout.split("\n").filter((l) => l.includes("# copilotos backup copilotos-staging"));
    if (lines.length === 0) wrong.push("the scheduled backup's crontab line is gone");
    else if (lines.length > 1) wrong.push(`the scheduled backup is installed ${lines.length} times`);
    // A green run installs its schedule; after a failure the line is the previous or the new one.
    else if (!wants.some((w) => lines[0].startsWith(`${w.schedule ?? TEST_BACKUP_SCHEDULE} `))) wrong.push(`the crontab line is ${lines[0].split(" /")[0]}…`);
    if (JSON.stringify(this.data.fingerprint()) !== JSON.stringify(this.baseline)) wrong.push("the data changed");
    if (wrong.length) this.report.servedWrong++;
    return wrong;
  }

  /** One cell: the faulted update (which must fail, the previous version serving), then the next `up`, which must converge; none of it under a failed request. */
  async cell(c: Cell): Promise<string[]> {
    this.report.cells++;
    const before = this.current;
    const loop = startLoad(`${API}/api/health/live`, { minRequests: 50, clients: 2, timeoutMs: 5000 });
    const problems: string[] = [];
    const next = c.then === "again" ? c.target : rolledBack(before, c.target);
    const lastGreen = this.rig.history.filter((h) => h.result === "succeeded").at(-1)?.version;
    try {
      const failed = await this.rig.deploy(configOf(c.target), log, c.fault, [], { killAfter: c.killAfter }).catch((e: Error) => e);
      if (!(failed instanceof ApplyError)) {
        problems.push("the faulted update ended green");
        this.report.falseSuccess++;
      } else problems.push(...(await this.serving([before, c.target], false)).map((p) => `after the failure: ${p}`));
      await c.heal?.();
      const green = c.then === "again" ? await this.rig.deploy(configOf(next), log).catch((e: Error) => e) : await this.rollback(lastGreen);
      if (green instanceof Error) problems.push(`the re-run failed: ${green.message.split("\n")[0]}`);
      else problems.push(...(await this.serving([next], true)).map((p) => `after the re-run: ${p}`));
    } finally {
      loop.stop();
    }
    const load = await loop.done;
    // The proxy is replaced when the failed run or the re-run changes its setting.
    const proxyReplaced = [before, c.target, next].some((w, i, all) => i > 0 && !!w.proxy !== !!all[i - 1].proxy);
    problems.push(...this.beyondPromise(load, proxyReplaced));
    this.current = next;
    if (problems.length === 0) this.report.converged++;
    return problems;
  }
}

/**
 * The committed `local` stack (Pulumi.local.yaml): the app built from a git source, its API on the
 * port the app's current revision listens on (api.containerPort), no SAPTIVA key needed. The real
 * engine applies it in test/e2e/localStack.test.ts.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { proxyConf } from "../components/renderers/proxy";
import { apiHealthcheck, healthcheckOf } from "../components/renderers/services/containers";
import { swarmService } from "../components/renderers/swarm/services";
import { checkoutSource, sourceDir } from "../components/services/gitSource";
import type { ProgramRun } from "../scripts/mockRuntime/harness";
import { check, CONTAINER, containerOf, filesOf, ofType, ROOT } from "./support/program";

const NO_KEY_WARNING =
  "warning: copilotos:saptivaApiKey is not set: the API starts without it (the app reads SAPTIVA_API_KEY as optional), " +
  "but its chat calls to SAPTIVA fail until one is set: pulumi config set --secret copilotos:saptivaApiKey <your-saptiva-api-key>\n";

/** A git repository shaped like the app's (apps/backend, apps/web), with `commits` commits; returns its path. */
function appRepo(dir: string): string {
  const repo = path.join(dir, "copilotos-bridge");
  fs.mkdirSync(path.join(repo, "apps", "backend"), { recursive: true });
  fs.mkdirSync(path.join(repo, "apps", "web"), { recursive: true });
  fs.writeFileSync(path.join(repo, "apps", "backend", "Dockerfile"), "FROM scratch\n");
  fs.writeFileSync(path.join(repo, "apps", "web", "Dockerfile"), "FROM scratch\n");
  const git = (...a: string[]) => execFileSync("git", ["-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.com", ...a], { encoding: "utf8" }).trim();
  git("init", "-q", "-b", "main");
  git("add", ".");
  git("commit", "-q", "-m", "one");
  return repo;
}
const headOf = (repo: string) => execFileSync("git", ["-C", repo, "rev-parse", "--short=12", "HEAD"], { encoding: "utf8" }).trim();

async function runLocal(config: string[], fetchSources: boolean): Promise<ProgramRun> {
  jest.resetModules();
  const { runProgram } = await import("../scripts/mockRuntime/harness");
  const { loadStackConfig } = await import("../scripts/stack/stackConfig");
  const input = loadStackConfig({ stack: "local", dir: ROOT, config, secrets: [] });
  return runProgram({ stack: "local", config: input.config, secretKeys: input.secretKeys, secretPaths: input.secretPaths, fetchSources });
}

describe("npm run check -- local", () => {
  test("passes: no mandatory violation; the missing SAPTIVA key is a warning and an advisory, and nothing contacts a host or fetches", async () => {
    const r = await check("local");
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe(NO_KEY_WARNING);
    expect(r.stdout).toContain("0 mandatory, 1 advisory violation(s)");
    expect(r.stdout).toMatch(/saptiva-key-set +copilotos-api-container +advisory/);
    expect(r.stdout).toContain(
      "docker:Image              copilotos-api-image-build         imageName=copilotos-api:fetched-at-deploy context=https://github.com/saptiva-ai/copilotos-bridge.git#main:apps/backend target=production push=no",
    );
    expect(r.stdout).toContain('  webUrl: "http://localhost:3000"');
    expect(r.stdout).toContain('  apiHealthUrl: "http://localhost:8001/api/health"');
  });
});

describe("the local stack's program", () => {
  let work: string;
  let repo: string;
  let run: ProgramRun;
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "local-stack-"));
    repo = appRepo(work);
    const url = `file://${repo}`;
    run = await runLocal([`copilotos:images.api.git.url=${url}`, `copilotos:images.web.git.url=${url}`], true);
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test("builds both apps from the fetched repository, tagged with its commit", () => {
    const builds = Object.fromEntries(
      ofType(run, "docker:index/image:Image").map((i) => [i.name, i.inputs as { imageName: string; build: { context: string; dockerfile: string } }]),
    );
    const src = path.basename(sourceDir("/", `file://${repo}`));
    expect(builds["copilotos-api-image-build"].imageName).toBe(`copilotos-api:${headOf(repo)}`);
    expect(builds["copilotos-api-image-build"].build.context).toMatch(new RegExp(`/src/${src}/apps/backend$`));
    expect(builds["copilotos-web-image-build"].build.context).toMatch(new RegExp(`/src/${src}$`));
    expect(builds["copilotos-web-image-build"].build.dockerfile).toMatch(new RegExp(`/src/${src}/apps/web/Dockerfile$`));
  });

  test("the API listens on api.containerPort 8000: its health check, PORT, its route and its gate's way back all say so", () => {
    const api = containerOf(run, "api");
    expect(api.inputs.healthcheck).toMatchObject({ tests: ["CMD-SHELL", "curl -fsS -o /dev/null --max-time 4 http://127.0.0.1:8000/api/health/ready"] });
    expect(api.inputs.envs).toContain("PORT=8000");
    const script = (name: string) => String(run.resources.find((r) => r.name === name)!.inputs.create);
    expect(script("copilotos-api-route-switch")).toContain(`want='server ${String(api.inputs.name)}:8000;'`);
    // The gate's way back runs the same switch, quoted once more inside its script.
    expect(script("copilotos-api-health-wait")).toContain(`server ${String(api.inputs.name)}:8000;`);
    expect(script("copilotos-api-health-wait")).not.toContain(":8001;");
    expect(script("copilotos-web-route-switch")).toContain(`want='server ${String(containerOf(run, "web").inputs.name)}:3000;'`);
  });

  test("no SAPTIVA key: no key file; the other secrets are files, as the app reads them", () => {
    const files = filesOf(run, containerOf(run, "api"));
    expect(files).toEqual(["/run/secrets/jwt_secret_key", "/run/secrets/mongodb_password", "/run/secrets/redis_password", "/run/secrets/secret_key"]);
    expect(ofType(run, CONTAINER).map((c) => String(c.inputs.name).replace(/-[0-9a-f]{8}$/, ""))).toEqual(
      expect.arrayContaining(["copilotos-local-mongo", "copilotos-local-redis", "copilotos-local-proxy", "copilotos-local-api", "copilotos-local-web"]),
    );
  });

  test("no backup schedule is installed on a workstation (backup.schedule off); the backup before an update stays", () => {
    const names = run.resources.map((r) => r.name);
    expect(names.filter((n) => n.includes("schedule"))).toEqual([]);
    expect(names).toContain("copilotos-app-backup-run");
  });
});

describe("a build spec's git source", () => {
  let work: string;
  beforeEach(() => (work = fs.mkdtempSync(path.join(os.tmpdir(), "git-source-"))));
  afterEach(() => fs.rmSync(work, { recursive: true, force: true }));
  const fresh = () => {
    let mod!: typeof import("../components/services/gitSource");
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh module: its per-run memo starts empty
    jest.isolateModules(() => (mod = require("../components/services/gitSource")));
    return mod.checkoutSource;
  };

  test("fetches the ref and checks it out; a later run gets the new commit", () => {
    const repo = appRepo(work);
    const log: string[] = [];
    const dir = checkoutSource({ url: `file://${repo}`, ref: "main" }, "images.api.git", (m) => log.push(m), path.join(work, "src"));
    expect(fs.readFileSync(path.join(dir!, "apps", "backend", "Dockerfile"), "utf8")).toBe("FROM scratch\n");
    expect(log).toEqual([`images.api.git: fetching file://${repo} at main into ${dir}`]);
    fs.writeFileSync(path.join(repo, "apps", "backend", "Dockerfile"), "FROM scratch\nLABEL v=2\n");
    execFileSync("git", ["-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "two"]);
    const again = fresh()({ url: `file://${repo}`, ref: "main" }, "images.api.git", () => {}, path.join(work, "src"));
    expect(again).toBe(dir);
    expect(fs.readFileSync(path.join(dir!, "apps", "backend", "Dockerfile"), "utf8")).toBe("FROM scratch\nLABEL v=2\n");
    expect(headOf(dir!)).toBe(headOf(repo));
  });

  test("unreachable with an earlier fetch: builds that one, saying so; without one: an error naming the key and the way out", () => {
    const repo = appRepo(work);
    const url = `file://${repo}`;
    const first = fresh()({ url, ref: "main" }, "images.web.git", () => {}, path.join(work, "src"));
    const head = headOf(first!);
    fs.rmSync(repo, { recursive: true, force: true });
    const log: string[] = [];
    expect(fresh()({ url, ref: "main" }, "images.web.git", (m) => log.push(m), path.join(work, "src"))).toBe(first);
    expect(log[1]).toMatch(new RegExp(`^images\\.web\\.git: cannot fetch ${url} at main \\(.+\\); building the copy fetched before \\(${head}\\)$`));
    expect(() => fresh()({ url: "https://user:tok3n@127.0.0.1:9/none.git", ref: "main" }, "images.web.git", () => {}, path.join(work, "other"))).toThrow(
      /^images\.web\.git: cannot fetch https:\/\/127\.0\.0\.1:9\/none\.git at main \(.+\); check the URL and ref, or clone it yourself and build from the checkout: set images\.web\.context to its path and remove images\.web\.git$/,
    );
  });

  test("the offline dry run fetches nothing", () => {
    process.env.COPILOTOS_FETCH_SOURCES = "0";
    try {
      expect(fresh()({ url: "https://127.0.0.1:9/none.git", ref: "main" }, "images.api.git", () => {}, path.join(work, "src"))).toBeUndefined();
      expect(fs.existsSync(path.join(work, "src"))).toBe(false);
    } finally {
      delete process.env.COPILOTOS_FETCH_SOURCES;
    }
  });
});

describe("api.containerPort on a swarm", () => {
  test("the edge proxy asks Docker's DNS for the API's tasks on that port, and the tasks' health check uses it", () => {
    const conf = proxyConf({
      contentSecurityPolicy: "default-src 'self'",
      hsts: false,
      apiRateLimitPerSecond: 0,
      maxBodyMb: 1,
      apiReadTimeoutSeconds: 60,
      dns: { api: "copilotos-swarm-api", web: "copilotos-swarm-web" },
      appPorts: { api: 8000, web: 3000 },
    });
    expect(conf).toContain("      set $copilotos_api http://copilotos-swarm-api:8000;\n");
    expect(conf).toContain("      set $copilotos_web http://copilotos-swarm-web:3000;\n");
    const svc = swarmService({
      identity: { project: "copilotos", stack: "swarm" },
      service: "api",
      image: "copilotos-api:1",
      network: "n",
      limits: { memoryMb: 512, cpus: 0.5 },
      dataNode: "node-1",
      monitorSeconds: 30,
      apiPort: 8000,
    });
    expect(svc.taskSpec.containerSpec.healthcheck.tests).toEqual(apiHealthcheck(8000).tests);
    expect(apiHealthcheck(8000).tests).toEqual(["CMD-SHELL", "curl -fsS -o /dev/null --max-time 4 http://127.0.0.1:8000/api/health/ready"]);
    expect(healthcheckOf("api")).toEqual(apiHealthcheck(8001));
    expect(healthcheckOf("web", 8000).tests).toEqual(["CMD-SHELL", "wget -q --spider http://127.0.0.1:3000/"]);
  });
});

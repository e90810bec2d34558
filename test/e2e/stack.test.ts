/**
 * The program's own containers on a real engine: staging and prod, from their committed stack files,
 * applied side by side on the test host by the test executor (test/support/executor.ts) with
 * stand-ins that keep the app's contract (test/support/standins.ts). Then the seeds' incident (Mongo
 * refuses the API's credentials) under a request loop, a gate that fails after its route switch,
 * and what the proxy must carry: a 2 MB upload and a server-sent event stream.
 * Ends with the bench line `stack: stacks=2 containers=… healthy=… incident_halted=… incident_failed_requests=…`.
 */
import { spawnSync } from "node:child_process";
import * as http from "node:http";
import type { Service } from "../../components/renderers/names";
import { routeFile } from "../../components/renderers/proxy";
import { CAPABILITIES, PIDS_LIMITS, SCRATCH, TMPFS } from "../../components/renderers/services/containers";
import { failuresOf, get, NO_FAILURES, startLoad } from "../support/loadLoop";
import { ApplyError } from "../support/executor";
import { cpuGroupOfPid } from "../support/cpuGroups";
import { StackRig } from "../support/stackRig";
import { apiVersion, buildStandins, STANDIN_TAGS } from "../support/standins";
import { TEST_HOST_CPU_GROUP } from "../support/testHost";
import { host, remote, removeProject } from "./support";

jest.setTimeout(600_000);
const ADDRESS = host.target.address;
const PORTS = { staging: { web: 3100, api: 8101 }, prod: { web: 3000, api: 8001 } } as const;
const rigs = { staging: new StackRig("staging"), prod: new StackRig("prod", { without: ["tls"] }) };
const V2 = "cpt-standin/api:2";
const report = { containers: 0, healthy: 0, incidentHalted: false, incidentFailed: -1 };
const log = (line: string) => process.stdout.write(`  ${line}\n`);

/** Volumes no container uses; an earlier suite on this host may have left some. */
const dangling = () => remote("volume", "ls", "-q", "--filter", "dangling=true").split("\n").filter(Boolean).sort();
let danglingBefore: string[] = [];

beforeAll(() => {
  removeProject();
  danglingBefore = dangling();
  buildStandins(["-H", `unix://${host.remoteSocket}`]);
  apiVersion(["-H", `unix://${host.remoteSocket}`], V2, "2");
});
afterAll(() => {
  removeProject();
  process.stdout.write(
    `stack: stacks=2 containers=${report.containers} healthy=${report.healthy} incident_halted=${report.incidentHalted ? "yes" : "no"} incident_failed_requests=${report.incidentFailed}\n`,
  );
});

const stackContainers = (stack: string) =>
  remote("ps", "-a", "--filter", `label=copilotos.stack=${stack}`, "--format", "{{.Names}}").split("\n").filter(Boolean).sort();
/** The service of a prod container, by its name (an app's without its suffix). */
const prodService = (name: string) => name.replace(/^copilotos-prod-/, "").replace(/-[0-9a-f]{8}$/, "") as Service;
const health = (name: string) => remote("inspect", "--format", "{{.State.Status}} {{.State.Health.Status}}", name);
const route = (stack: string, service: "api" | "web") => remote("exec", `copilotos-${stack}-proxy`, "cat", routeFile(service));

test("the API stand-in keeps the app's rule: with NODE_ENV=production it refuses to start without its secrets", () => {
  const r = spawnSync(
    "docker",
    ["-H", `unix://${host.remoteSocket}`, "run", "--rm", "-e", "NODE_ENV=production", "-e", "JWT_SECRET_KEY=short", STANDIN_TAGS.api],
    { encoding: "utf8" },
  );
  expect(r.status).toBe(1);
  expect(r.stdout).toBe("Critical secret validation failed: Required secret 'MONGODB_PASSWORD' not found in any source\n");
});

test("staging and prod come up side by side from the program's own graph; every container healthy", async () => {
  for (const stack of ["staging", "prod"] as const) {
    const steps = await rigs[stack].deploy([], log);
    expect(steps.filter((s) => s.action === "create").map((s) => s.name)).toEqual(
      expect.arrayContaining([`copilotos-api-ready-wait`, `copilotos-api-route-switch`, `copilotos-web-health-wait`]),
    );
  }
  for (const stack of ["staging", "prod"] as const) {
    const names = stackContainers(stack);
    expect(names.map((n) => n.replace(/-[0-9a-f]{8}$/, "-<hash>"))).toEqual(
      ["api-<hash>", "mongo", "proxy", "redis", "web-<hash>"].map((s) => `copilotos-${stack}-${s}`),
    );
    for (const n of names) expect(`${n}: ${health(n)}`).toBe(`${n}: running healthy`);
    // The test host's own CPU group (test/support/cpuGroups.ts), not /docker: its weight whatever the other suites do.
    const groups = names.map((n) => `${n}: ${cpuGroupOfPid(remote("inspect", "--format", "{{.State.Pid}}", n))}`);
    expect(groups).toEqual(names.map((n) => `${n}: ${TEST_HOST_CPU_GROUP}`));
    report.containers += names.length;
    report.healthy += names.filter((n) => health(n) === "running healthy").length;
  }
});

test.each(["staging", "prod"] as const)(
  "%s: web and API answer through the stack's proxy; the API logged in to Mongo and Redis with the stack's secrets",
  async (stack) => {
    const web = await get(`http://${ADDRESS}:${PORTS[stack].web}/`);
    expect(web).toMatchObject({ status: 200, body: "<h1>copilotos web stand-in</h1>" });
    expect(web.headers["x-frame-options"]).toBe("DENY");
    expect(await get(`http://${ADDRESS}:${PORTS[stack].api}/api/health/ready`)).toMatchObject({ status: 200, body: '{"status":"ready"}' });
    expect(JSON.parse((await get(`http://${ADDRESS}:${PORTS[stack].api}/api/standin/auth`)).body)).toEqual({ mongo: "ok", redis: "ok", version: "1" });
    // The app read its secrets from files: none is in the container's env.
    const env = remote("inspect", "--format", "{{json .Config.Env}}", route(stack, "api").replace(/^server (.*):8001;$/, "$1"));
    for (const s of rigs[stack].lastRun!.secretValues) expect(env.includes(s)).toBe(false);
    expect(env).toContain('"NODE_ENV=production"');
  },
);

test.each([
  ["staging", "0.25", 192],
  ["prod", "0.25", 384],
] as const)("%s: mongod runs with its cache sized from its limit, Redis with maxmemory below its own", (stack, cacheGb, redisMb) => {
  expect(remote("exec", `copilotos-${stack}-mongo`, "cat", "/tmp/mongod.args")).toBe(`--wiredTigerCacheSizeGB ${cacheGb}`);
  const config = remote("exec", `copilotos-${stack}-redis`, "sh", "-c", 'REDISCLI_AUTH="$(cat /run/secrets/redis_password)" redis-cli CONFIG GET maxmemory*');
  expect(config.split("\n")).toEqual(expect.arrayContaining(["maxmemory", String(redisMb * 1024 * 1024), "maxmemory-policy", "volatile-lru"]));
});

test("every container runs with no-new-privileges and only its own capabilities, and still serves", () => {
  const plain = (caps: string[] | null) => (caps ?? []).map((c) => c.replace(/^CAP_/, "")).sort();
  for (const n of stackContainers("prod")) {
    const service = prodService(n);
    const [security, drops, adds] = remote(
      "inspect",
      "--format",
      "{{json .HostConfig.SecurityOpt}} {{json .HostConfig.CapDrop}} {{json .HostConfig.CapAdd}}",
      n,
    )
      .split(" ")
      .map((j) => JSON.parse(j) as string[] | null);
    expect([n, security, plain(drops), plain(adds)]).toEqual([
      n,
      [expect.stringMatching(/^no-new-privileges(:true)?$/)],
      ["ALL"],
      [...CAPABILITIES[service]].sort(),
    ]);
  }
  // Each container's pids limit, which the stack sets on the host once the containers exist.
  for (const n of stackContainers("prod")) {
    const service = prodService(n);
    expect([n, remote("inspect", "--format", "{{.HostConfig.PidsLimit}}", n)]).toEqual([n, String(PIDS_LIMITS[service])]);
  }
  // Every service runs (and served above) on a read-only root: a write there fails; what it writes
  // goes to memory (/tmp; Redis writes only its data volume), the API's /tmp to disk, and its files
  // are on read-only volumes.
  for (const n of stackContainers("prod")) {
    const service = prodService(n);
    const write = (path: string) => spawnSync("docker", ["-H", `unix://${host.remoteSocket}`, "exec", n, "touch", path], { encoding: "utf8" }).stderr;
    expect([n, remote("inspect", "--format", "{{.HostConfig.ReadonlyRootfs}}", n), write("/written")]).toEqual([
      n,
      "true",
      expect.stringContaining("Read-only file system"),
    ]);
    if (TMPFS[service].length || SCRATCH[service].length) expect([n, write("/tmp/written")]).toEqual([n, ""]);
    const filesFolder = { mongo: "/run/secrets", redis: "/usr/local/etc/redis", api: "/run/secrets", proxy: "/etc/nginx", web: undefined }[service];
    if (filesFolder) expect([n, write(`${filesFolder}/written`)]).toEqual([n, expect.stringContaining("Read-only file system")]);
  }
  // Exactly one files writer per service that has files, never started, with no stack label; and
  // exactly the files volumes the running containers mount (none left from an earlier deploy).
  const writers = remote("ps", "-a", "--filter", "label=copilotos.files-for", "--format", "{{.Names}} {{.State}}").split("\n").sort();
  expect(writers.map((w) => w.replace(/-[0-9a-f]{8} /, " "))).toEqual(
    ["prod", "staging"].flatMap((st) => ["api", "mongo", "proxy", "redis"].map((sv) => `copilotos-${st}-${sv}-files created`)).sort(),
  );
  const mounted = [...stackContainers("prod"), ...stackContainers("staging")]
    .flatMap((n) => remote("inspect", "--format", "{{range .Mounts}}{{println .Name}}{{end}}", n).split("\n"))
    .filter((v) => v.includes("-files-"));
  expect(remote("volume", "ls", "-q", "--filter", "label=copilotos.files-for").split("\n").sort()).toEqual([...new Set(mounted)].sort());
});

test("the API keeps uploaded documents (the app's FILES_ROOT, /tmp) on a volume of its own: sticky like /tmp, on disk, not memory", () => {
  const api = stackContainers("prod").find((n) => n.includes("-api-"))!;
  const tmp = remote("inspect", "--format", '{{range .Mounts}}{{if eq .Destination "/tmp"}}{{.Type}} {{len .Name}}{{end}}{{end}}', api);
  expect(tmp).toBe("volume 64"); // anonymous: Docker names it by 64 hex digits, and removes it with the container
  // As a user other than root, as the app's image runs (apps/api's Dockerfile: USER api_user).
  const inApi = (script: string) => remote("exec", "--user", "65534:65534", api, "sh", "-c", script);
  expect(inApi("stat -c %a /tmp")).toBe("1777");
  // More than a 64 MiB memory /tmp held; then gone again.
  expect(
    inApi("mkdir -p /tmp/copilotos_documents/d1 && head -c 100000000 /dev/zero > /tmp/copilotos_documents/d1/big && wc -c < /tmp/copilotos_documents/d1/big"),
  ).toBe("100000000");
  inApi("rm -r /tmp/copilotos_documents/d1");
});

test("the two stacks keep their own secrets, networks and volumes", () => {
  const file = (stack: string) => remote("exec", `copilotos-${stack}-mongo`, "cat", "/data/db/.users");
  expect(file("staging")).not.toBe(file("prod"));
  const volumes = remote("volume", "ls", "--format", "{{.Name}}", "--filter", "label=copilotos.project=copilotos").split("\n");
  expect(volumes.filter((v) => !/-files-[0-9a-f]{8}-[0-9]$/.test(v)).sort()).toEqual([
    "copilotos-prod-mongo-data",
    "copilotos-prod-proxy-routes",
    "copilotos-prod-redis-data",
    "copilotos-staging-mongo-data",
    "copilotos-staging-proxy-routes",
    "copilotos-staging-redis-data",
  ]);
});

test("the proxy carries a 2 MB upload to the API, and server-sent events one by one", async () => {
  const body = Buffer.alloc(2 * 1024 * 1024, 97);
  const upload = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(`http://${ADDRESS}:${PORTS.staging.api}/api/upload`, { method: "POST", headers: { "Content-Length": body.length } }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
  expect(upload).toEqual({ status: 200, body: `{"bytes":${body.length}}` });

  const arrivals = await new Promise<number[]>((resolve, reject) => {
    const t0 = Date.now();
    const times: number[] = [];
    http
      .get(`http://${ADDRESS}:${PORTS.staging.api}/api/stream`, (res) => {
        expect(res.headers["content-type"]).toBe("text/event-stream");
        res.on("data", (c: Buffer) =>
          c
            .toString()
            .split("\n\n")
            .filter((e) => e.startsWith("data:"))
            .forEach(() => times.push(Date.now() - t0)),
        );
        res.on("end", () => resolve(times));
      })
      .on("error", reject);
  });
  expect(arrivals).toHaveLength(5);
  // Unbuffered: the first event arrives seconds before the last (the stand-in sends one a second).
  expect(arrivals[4] - arrivals[0]).toBeGreaterThan(3000);
  expect(arrivals[0]).toBeLessThan(1500);
});

test("the seeds' incident: Mongo refuses the stack's credentials; the update stops before the new API gets traffic naming the cause, the old API keeps serving, no volume is touched", async () => {
  const rig = rigs.staging;
  const oldApi = route("staging", "api");
  const apis = stackContainers("staging").filter((n) => n.includes("-api-"));
  const volumes = remote("volume", "ls", "-q", "--filter", "label=copilotos.stack=staging");
  // The volume's credentials change out of band, as restoring a backup taken before a rotation does.
  const users = remote("exec", "copilotos-staging-mongo", "cat", "/data/db/.users");
  remote("exec", "copilotos-staging-mongo", "sh", "-c", "echo copilotos_user:another-password-0123456789 > /data/db/.users");
  const loop = startLoad(`http://${ADDRESS}:${PORTS.staging.api}/api/health/live`, { minRequests: 200, clients: 2, timeoutMs: 5000 });
  const deploy = (config: string[]) =>
    rig.deploy(config, log).then(
      () => undefined,
      (e: unknown) => e,
    );
  // With the backup before app updates (the default), it is that backup that cannot log in: the new API is not even created.
  const atBackup = await deploy([`copilotos:images.api=${V2}`]);
  // Without it, the new API's ready gate finds the cause in the API's log.
  const atGate = await deploy([`copilotos:images.api=${V2}`, "copilotos:backup.beforeAppUpdate=false"]);
  loop.stop();
  const load = await loop.done;
  remote("exec", "copilotos-staging-mongo", "sh", "-c", `printf '%s\\n' '${users}' > /data/db/.users`);

  expect(atBackup).toBeInstanceOf(ApplyError);
  const backupMessage = (atBackup as Error).message;
  expect(backupMessage).toMatch(/^copilotos-app-backup-run: command failed/);
  expect(backupMessage).toContain("backup: cause: Mongo in the stack's container refused the stack's credentials (Authentication failed)");
  expect(backupMessage).toContain("nothing was archived");
  expect(atGate).toBeInstanceOf(ApplyError);
  const message = (atGate as Error).message;
  expect(message).toMatch(/^copilotos-api-ready-wait: command failed/);
  expect(message).toContain("ready: cause: Mongo refused the API's credentials (Authentication failed)");
  for (const m of [backupMessage, message]) {
    expect(m).toContain("Fix: set copilotos:mongoPassword");
    for (const s of rig.lastRun!.secretValues) expect(m.includes(s)).toBe(false);
  }
  expect(route("staging", "api")).toBe(oldApi);
  // The new API was created beside the old one (a new image is a new fingerprinted name), not in its place.
  expect(stackContainers("staging").filter((n) => n.includes("-api-"))).toEqual(expect.arrayContaining(apis));
  expect(stackContainers("staging").filter((n) => n.includes("-api-"))).toHaveLength(2);
  process.stdout.write(
    `incident: ${load.requests} requests through the proxy while the update halted, ${load.failed} failed ${JSON.stringify(load.samples)}\n`,
  );
  expect(load.requests).toBeGreaterThan(0);
  expect(failuresOf(load)).toEqual(NO_FAILURES);
  expect(remote("volume", "ls", "-q", "--filter", "label=copilotos.stack=staging")).toBe(volumes);
  report.incidentHalted = true;
  report.incidentFailed = load.failed;
});

test("a gate that fails after its route switch puts the route back on the previous API, which keeps serving", async () => {
  const oldApi = route("staging", "api");
  const error = await rigs.staging.deploy(["copilotos:api.env.STANDIN_FAIL_PROXIED=1"], log).catch((e: Error) => e);
  expect(error).toBeInstanceOf(ApplyError);
  expect((error as Error).message).toMatch(/^copilotos-api-health-wait: command failed/);
  expect((error as Error).message).toContain(`health: the api route is back on ${oldApi.replace(/^server (.*):8001;$/, "$1")}, which keeps serving`);
  expect(route("staging", "api")).toBe(oldApi);
  expect(await get(`http://${ADDRESS}:${PORTS.staging.api}/api/health/ready`)).toMatchObject({ status: 200 });
});

/** The API container the staging state records (the newest one created). */
const apiInState = () => String(rigs.staging.state.resources.get("docker:index/container:Container::copilotos-api-container")?.live.name);

test("a gate that failed once is not passed on the unchanged re-run by the API its revert put back: it routes to the new API again and checks that one", async () => {
  const before = route("staging", "api");
  const config = ["copilotos:api.env.STANDIN_SCENARIO=g1"];
  // A transient fault: the new API fails through the proxy for as long as /tmp/fail-proxied exists in it.
  const failing = await rigs.staging
    .deploy(config, log, async (name) => {
      if (name !== "copilotos-api-health-wait") return;
      remote("exec", apiInState(), "touch", "/tmp/fail-proxied");
    })
    .catch((e: Error) => e);
  expect(failing).toBeInstanceOf(ApplyError);
  expect((failing as Error).message).toMatch(/^copilotos-api-health-wait: command failed/);
  expect(route("staging", "api")).toBe(before);
  const fresh = apiInState();
  expect(`server ${fresh}:8001;`).not.toBe(before);
  remote("exec", fresh, "rm", "/tmp/fail-proxied");
  // The same config again: the gate's switch has nothing to redo in the state, so the gate itself must route.
  const steps = await rigs.staging.deploy(config, log);
  const changed = steps.filter((s) => s.action !== "same").map((s) => `${s.action} ${s.name}`);
  // The failed gate's replacement never reached the state: the gate from before is replaced again; the rest are deletes left pending.
  // The pids limits, which wait for the web's gate, reach the new API only now.
  expect(changed.filter((s) => !s.startsWith("delete "))).toEqual(["replace copilotos-api-health-wait", "update copilotos-pids-set"]);
  expect(changed).toContainEqual(expect.stringMatching(/^delete copilotos-staging-api-[0-9a-f]{8}$/));
  expect(route("staging", "api")).toBe(`server ${fresh}:8001;`);
  expect(remote("inspect", "--format", "{{json .Config.Env}}", fresh)).toContain("STANDIN_SCENARIO=g1");
  expect((await get(`http://${ADDRESS}:${PORTS.staging.api}/api/health/ready`)).status).toBe(200);
  expect(stackContainers("staging").filter((n) => n.includes("-api-"))).toEqual([fresh]);
});

test("the fixed config converges: the next update replaces the API and deletes the failed and old containers at its end", async () => {
  const steps = await rigs.staging.deploy([`copilotos:images.api=${V2}`], log);
  expect(steps.filter((s) => s.action === "delete").length).toBeGreaterThanOrEqual(1);
  expect(JSON.parse((await get(`http://${ADDRESS}:${PORTS.staging.api}/api/standin/auth`)).body)).toEqual({ mongo: "ok", redis: "ok", version: "2" });
  expect(stackContainers("staging").filter((n) => n.includes("-api-"))).toHaveLength(1);
  // The deleted APIs' /tmp volumes went with them: no volume is left that no container uses.
  expect(dangling()).toEqual(danglingBefore);
});

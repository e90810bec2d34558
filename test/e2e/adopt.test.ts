/**
 * Moving today's production under the stack: a compose deployment of the stand-ins (the app's
 * compose layout, project `infra` — the post-mortem's name) with data in it, read and planned by
 * `npm run adopt`, the seeds' own `down && up` measured, a failed cut-over (the API never ready
 * through the proxy) that puts compose back serving, then the cut-over under a request loop.
 * Ends with the bench line `adopt: data_intact=… outage_s=… failed=… failed_cutover_restored=… seed_outage_s=…`.
 */
import { adopt } from "../../scripts/adopt";
import { ComposeDeployment } from "../support/composeDeployment";
import { ApplyError } from "../support/executor";
import { get, startLoad } from "../support/loadLoop";
import { SAPTIVA_KEY } from "../support/program";
import { StackData } from "../support/stackData";
import { StackRig } from "../support/stackRig";
import { buildStandins } from "../support/standins";
import { host, remote, removeProject, remoteTry } from "./support";

jest.setTimeout(900_000);
const API = `http://${host.target.address}:8101`;
const log = (line: string) => process.stdout.write(`  ${line}\n`);
const SECRETS = {
  MONGODB_USER: "copilotos_user",
  MONGODB_PASSWORD: "compose-mongo-Password-2024",
  REDIS_PASSWORD: "compose-redis-password-0123456789abcdef",
  JWT_SECRET_KEY: "compose-jwt-secret-key-0123456789abcdefghij",
  SECRET_KEY: "compose-secret-key-0123456789abcdefghijklmn",
  SAPTIVA_API_KEY: SAPTIVA_KEY,
};
const compose = new ComposeDeployment("infra", SECRETS, { api: 8101, web: 3100 });
const data = new StackData({ mongoVolume: compose.volume("mongodb_data"), redis: "infra-redis", redisPassword: SECRETS.REDIS_PASSWORD });
const rig = new StackRig("staging");
const report = { dataIntact: true, outage: -1, failed: -1, restored: false, seedOutage: -1 };
let baseline: ReturnType<StackData["fingerprint"]>;
/** What `npm run adopt --yes` wrote, as the stack config the rig deploys with. */
const written: { config: string[]; secrets: string[] } = { config: [], secrets: [] };

const running = (name: string) => remoteTry("inspect", "--format", "{{.State.Running}}", name) === "true";
const composeContainers = () => ["mongodb", "redis", "api", "web"].map((s) => `infra-${s}`);
async function answering(seconds: number): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while ((await get(`${API}/api/health/ready`).catch(() => ({ status: 0 }))).status !== 200) {
    if (Date.now() > end) throw new Error(`the API did not answer within ${seconds}s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
/** `npm run adopt -- staging --compose-project infra --cleanup` against the test host. */
async function cleanup(): Promise<{ code: number; text: string }> {
  const args = [
    "staging",
    "--compose-project",
    "infra",
    "--cleanup",
    ...StackRig.hostConfig().config.flatMap((c) => ["--config", c]),
    "--identity",
    host.target.identityFile!,
  ];
  const out: string[] = [];
  const code = await adopt(args, { setConfig: async () => undefined }, { out: (s) => out.push(s), err: (s) => out.push(s) });
  return { code, text: out.join("") };
}
const intact = () => {
  const now = data.fingerprint();
  report.dataIntact &&= JSON.stringify(now) === JSON.stringify(baseline);
  expect(now).toEqual(baseline);
};

beforeAll(async () => {
  removeProject();
  compose.compose("down", "-v", "--remove-orphans"); // a run that died
  buildStandins(["-H", `unix://${host.remoteSocket}`]);
  compose.compose("up", "-d");
  await answering(60);
  data.seed();
  baseline = data.fingerprint();
  expect(baseline.redis.split("\n")).toHaveLength(50);
});
afterAll(() => {
  removeProject();
  compose.remove();
  const yes = (b: boolean) => (b ? "yes" : "no");
  process.stdout.write(
    `adopt: data_intact=${yes(report.dataIntact)} outage_s=${report.outage.toFixed(1)} failed=${report.failed} failed_cutover_restored=${yes(report.restored)} seed_outage_s=${report.seedOutage.toFixed(1)}\n`,
  );
});

test("npm run adopt reads the live deployment, plans the take-over, prints no value, and writes the config only with --yes", async () => {
  const args = [
    "staging",
    "--compose-project",
    "infra",
    "--env-file",
    compose.envFile,
    ...StackRig.hostConfig().config.flatMap((c) => ["--config", c]),
    "--identity",
    host.target.identityFile!,
  ];
  const calls: { key: string; value: string; secret: boolean }[][] = [];
  const backend = { setConfig: async (_stack: string, entries: { key: string; value: string; secret: boolean }[]) => void calls.push(entries) };
  const out: string[] = [];
  const io = { out: (s: string) => out.push(s), err: (s: string) => out.push(s) };
  expect(await adopt(args, backend, io)).toBe(0);
  const text = out.join("");
  expect(text).toContain("volumes taken over by name (never deleted by the stack): mongo <- infra_mongodb_data (local), redis <- infra_redis_data (local)");
  expect(text).toContain("volumes left as they are: infra_mongodb_config (/data/configdb of infra-mongodb: a standalone mongod does not use it)");
  expect(text).toContain(
    "secrets copied from the env file as Pulumi secrets (values not shown): mongoPassword <- MONGODB_PASSWORD, redisPassword <- REDIS_PASSWORD, jwtSecretKey <- JWT_SECRET_KEY, secretKey <- SECRET_KEY, saptivaApiKey <- SAPTIVA_API_KEY",
  );
  expect(text).toContain("ports: compose publishes");
  expect(text).toContain("missing: nothing");
  expect(text).toContain("Nothing changed. Run again with --yes");
  expect(calls).toEqual([]);
  for (const v of Object.values(SECRETS).filter((v) => v.length > 16)) expect(text).not.toContain(v);

  out.length = 0;
  expect(await adopt([...args, "--yes"], backend, io)).toBe(0);
  expect(calls).toHaveLength(1);
  const entries = calls[0];
  expect(entries.filter((e) => e.secret).map((e) => e.key)).toEqual(
    ["mongoPassword", "redisPassword", "jwtSecretKey", "secretKey", "saptivaApiKey"].map((k) => `copilotos:${k}`),
  );
  expect(entries.find((e) => e.key === "copilotos:mongoPassword")?.value).toBe(SECRETS.MONGODB_PASSWORD);
  expect(entries.filter((e) => !e.secret).map((e) => e.key)).toEqual([
    "copilotos:adopt.composeProject",
    "copilotos:adopt.volumes.mongo",
    "copilotos:adopt.volumes.redis",
    "copilotos:adopt.attempt",
    "copilotos:mongo.user",
  ]);
  for (const e of entries) (e.secret ? written.secrets : written.config).push(`${e.key}=${e.value}`);
  // Nothing on the host changed: compose still serves.
  for (const c of composeContainers()) expect(`${c} ${running(c)}`).toBe(`${c} true`);
});

test("the seeds' own `docker compose down && up`: measured under the same request loop (data kept: no -v)", async () => {
  const loop = startLoad(`${API}/api/health/live`, { minRequests: 50, clients: 1, timeoutMs: 3000 });
  try {
    await loop.reached(20);
    compose.compose("down");
    compose.compose("up", "-d");
    await answering(60);
  } finally {
    loop.stop();
  }
  const load = await loop.done;
  report.seedOutage = load.longestGapSeconds;
  log(`seeds' down && up: ${load.requests} requests, ${load.failed} failed, ${load.longestGapSeconds.toFixed(1)} s without an API`);
  // Clients wait through it (a request may hang until the API is back rather than fail): the gap is the outage.
  expect(load.longestGapSeconds).toBeGreaterThan(0.5);
  intact();
});

test("a failed cut-over (the new API never ready through the proxy) starts compose again, says so, and leaves the data untouched", async () => {
  const error = await rig.deploy([...written.config, "copilotos:api.env.STANDIN_FAIL_PROXIED=1"], log, undefined, written.secrets).catch((e: Error) => e);
  expect(error).toBeInstanceOf(ApplyError);
  const message = (error as Error).message;
  expect(message).toMatch(/^copilotos-api-health-wait: command failed/);
  expect(message).toContain("adopt: the stack did not become healthy, so compose project infra was started again and serves as before");
  for (const v of Object.values(SECRETS).filter((v) => v.length > 16)) expect(message).not.toContain(v);
  for (const c of composeContainers()) expect(`${c} ${running(c)}`).toBe(`${c} true`);
  expect(running("copilotos-staging-mongo")).toBe(false); // never two mongods on one volume
  await answering(60);
  // Compose is the way back: its containers cannot be cleaned up while the stack is not healthy.
  const refused = await cleanup();
  expect(refused.code).toBe(1);
  expect(refused.text).toContain("adopt: the stack is not healthy, compose stays the way back:");
  for (const c of composeContainers()) expect(`${c} ${running(c)}`).toBe(`${c} true`);
  report.restored = true;
  intact();
});

test("the cut-over under load: compose stopped (not removed), the stack on the same volumes, data byte-identical; cleanup then removes compose's containers only", async () => {
  const loop = startLoad(`${API}/api/health/live`, { minRequests: 50, clients: 1, timeoutMs: 3000 });
  try {
    await loop.reached(20);
    const config = [...written.config.filter((c) => !c.startsWith("copilotos:adopt.attempt=")), "copilotos:adopt.attempt=2"];
    await rig.deploy(config, log, undefined, written.secrets);
    await answering(30);
  } finally {
    loop.stop();
  }
  const load = await loop.done;
  Object.assign(report, { outage: load.longestGapSeconds, failed: load.failed });
  log(`cut-over: ${load.requests} requests, ${load.failed} failed, ${load.longestGapSeconds.toFixed(1)} s without an API`);
  expect(JSON.parse((await get(`${API}/api/standin/auth`)).body)).toMatchObject({ mongo: "ok", redis: "ok" });
  for (const c of composeContainers()) expect(`${c} ${running(c)}`).toBe(`${c} false`);
  expect(remote("inspect", "--format", "{{range .Mounts}}{{.Name}} {{end}}", "copilotos-staging-mongo")).toContain("infra_mongodb_data");
  data.redis = "copilotos-staging-redis";
  intact();

  const done = await cleanup();
  expect(done.code).toBe(0);
  expect(done.text).toContain("adopt: removed infra-mongodb (its volumes are kept)");
  expect(remote("ps", "-a", "-q", "--filter", "label=com.docker.compose.project=infra")).toBe("");
  expect(remote("volume", "ls", "-q", "--filter", "label=com.docker.compose.project=infra").split("\n").sort()).toEqual([
    "infra_mongodb_config",
    "infra_mongodb_data",
    "infra_redis_data",
  ]);
  intact();
});

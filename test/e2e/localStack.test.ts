/**
 * The first command of the README, `npm run up -- local`, proven rather than hoped: the committed
 * `local` stack's own graph (Pulumi.local.yaml, no SAPTIVA key) applied by the engine-faithful
 * executor to the test host's engine, which stands for this machine's (its socket; the stack's
 * local Commands run in the test host's namespace, so "this machine" is the test host). The
 * stand-in images replace the builds from the app's repository (no registry or network here); the
 * API stand-in listens on the port the stack gives it (api.containerPort 8000, the app's current one).
 */
import { get } from "../support/loadLoop";
import { StackRig } from "../support/stackRig";
import { buildStandins } from "../support/standins";
import { host, remote, removeProject } from "./support";

jest.setTimeout(600_000);
const rig = new StackRig("local", { local: true });
const log = (line: string) => process.stdout.write(`  ${line}\n`);
const ADDRESS = host.target.address;

beforeAll(() => {
  removeProject();
  buildStandins(["-H", `unix://${host.remoteSocket}`]);
});
afterAll(() => removeProject());

const containers = () => remote("ps", "-a", "--filter", "label=copilotos.stack=local", "--format", "{{.Names}} {{.Status}}").split("\n").filter(Boolean).sort();

test("the whole stack comes up from the committed local stack, without a SAPTIVA key; the URLs it prints answer; a second up changes nothing", async () => {
  const steps = await rig.deploy([], log);
  expect(steps.filter((s) => s.action !== "create")).toEqual([]);
  const run = rig.lastRun!;
  expect(run.outputs.webUrl).toEqual({ value: "http://localhost:3000", isSecret: false });
  expect(run.outputs.apiHealthUrl).toEqual({ value: "http://localhost:8001/api/health", isSecret: false });

  // Every service runs and is healthy; the app containers carry their random suffixes.
  const names = containers();
  expect(names).toHaveLength(5);
  for (const [i, n] of ["api-[0-9a-f]{8}", "mongo", "proxy", "redis", "web-[0-9a-f]{8}"].entries()) {
    expect(names[i]).toMatch(new RegExp(`^copilotos-local-${n} Up .*\\(healthy\\)$`));
  }

  // The printed URLs are this machine's (localhost): in the test, the test host's own address.
  const web = await get(`http://${ADDRESS}:3000/`);
  expect(web.status).toBe(200);
  expect(web.body).toContain("copilotos web stand-in");
  // As a browser here sends it (Host localhost): the app's own rule (ALLOWED_HOSTS) lets it in, and the
  // web page's origin may call it (CORS_ORIGINS); another Host is refused as the app refuses it.
  const ready = await get(`http://${ADDRESS}:8001/api/health/ready`, { headers: { Host: "localhost:8001", Origin: "http://localhost:3000" } });
  expect(ready.status).toBe(200);
  expect(ready.headers["access-control-allow-origin"]).toBe("http://localhost:3000");
  const foreign = await get(`http://${ADDRESS}:8001/api/health/ready`, { headers: { Host: "localhost:8001", Origin: "http://evil.example" } });
  expect([foreign.status, foreign.headers["access-control-allow-origin"]]).toEqual([200, undefined]);
  expect(await get(`http://${ADDRESS}:8001/api/health/ready`, { headers: { Host: "attacker.example" } })).toMatchObject({
    status: 400,
    body: "Invalid host header",
  });

  // The API listens on api.containerPort (8000): the proxy's route and the container's own health check say so.
  const api = names[0].split(" ")[0];
  expect(remote("exec", "copilotos-local-proxy", "cat", "/etc/nginx/copilotos/api.upstream")).toBe(`server ${api}:8000;`);
  expect(remote("inspect", "--format", "{{json .Config.Healthcheck.Test}}", api)).toBe(
    '["CMD-SHELL","curl -fsS -o /dev/null --max-time 4 http://127.0.0.1:8000/api/health/ready"]',
  );
  // No SAPTIVA key: no key file; the secrets the app requires are files, none in the env.
  expect(remote("exec", api, "ls", "/run/secrets").split("\n")).toEqual(["jwt_secret_key", "mongodb_password", "redis_password", "secret_key"]);
  const env = JSON.parse(remote("inspect", "--format", "{{json .Config.Env}}", api)) as string[];
  expect(env.join("\n")).not.toMatch(/PASSWORD=|SECRET|KEY=/);
  // Docker keeps no promise on the order of Config.Env: compared sorted.
  expect(env.filter((e) => /^(ALLOWED_HOSTS|CORS_ORIGINS)=/.test(e)).sort()).toEqual([
    'ALLOWED_HOSTS=["localhost","proxy","127.0.0.1"]',
    'CORS_ORIGINS=["http://localhost:3000"]',
  ]);

  const again = await rig.deploy([], log);
  expect(again.filter((s) => s.action !== "same")).toEqual([]);
  expect(containers()).toEqual(names.map((n) => expect.stringMatching(new RegExp(`^${n.split(" ")[0]} Up `))));
});

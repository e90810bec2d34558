/**
 * Defects found by trying the dry run as a new user and by a security review (issue: hardening):
 * each test failed before its fix.
 */
import { spawnSync } from "node:child_process";
import { ConfigError, parseConfig } from "../components/config";
import { isKeyLine } from "../components/config/syntax";
import { maskLines, REDACT_AWK } from "../components/renderers/operations/health";
import { redact } from "../scripts/mockRuntime/harness";
import { setPath, splitAssignment } from "../scripts/stack/stackConfig";
import { check, containerOf, HOST_KEY, runStack, SAPTIVA_KEY } from "./support/program";

const base = () => ({ saptivaApiKey: SAPTIVA_KEY, images: { api: "copilotos-api:1.2.3", web: "copilotos-web:1.2.3" } });
/** A real ed25519 public key blob (the committed stacks' pinned host key): the type string and the 32-byte key, each length-prefixed. */
const BLOB = HOST_KEY.split(" ")[1];
const ed25519Line = (type = "ssh-ed25519") => `${type} ${BLOB}`;
const problems = (raw: Record<string, unknown>) => {
  try {
    parseConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.map((p) => `${p.key}: ${p.message}`);
    throw e;
  }
  return [];
};
const ssh = (host: Record<string, unknown>) => ({ ...base(), host: { kind: "ssh", address: "203.0.113.10", user: "deploy", hostKey: ed25519Line(), ...host } });

describe("redaction never shows a secret by what it cuts out", () => {
  test("a too-short secret: the config error is printed whole, naming the key, with no cut-apart word", async () => {
    const r = await check("staging", "--secret", `copilotos:saptivaApiKey=${SAPTIVA_KEY}`, "--secret", "copilotos:mongoPassword=short");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("copilotos:mongoPassword: is shorter than secretLength (32 characters)");
    expect(r.stderr).toContain("copilotos:mongoPassword: is too short for the app");
    expect(r.stderr).not.toContain("[secret]");
  });

  test("whole tokens: a secret inside a longer token takes the token with it; short values are never searched for", () => {
    const s = "Pw-0123456789";
    expect(redact(`mongodb://u:${s}@mongo:27017 x${s}y "${s}" ${encodeURIComponent(s)}`, [s])).toBe(
      'mongodb://u:[secret]@mongo:27017 [secret] "[secret]" [secret]',
    );
    expect(redact("is shorter than secretLength", ["short", "secretLe"])).toBe("is shorter than [secret]");
    expect(redact("is shorter than secretLength", ["short"])).toBe("is shorter than secretLength");
  });

  test("a 100 kB value is redacted in linear time", () => {
    const s = "S3cret-value-0123";
    const text = `${"a".repeat(100_000)}${s}${"b".repeat(100_000)} tail`;
    const start = Date.now();
    expect(redact(text, [s, "x".repeat(40), "a".repeat(50)])).toBe("[secret] tail");
    expect(Date.now() - start).toBeLessThan(1000);
  });

  test("an argument without key=value is refused without being echoed (it may be a secret given without its key)", async () => {
    const r = await check("staging", "--secret", "sk-this-is-the-real-key-0123456789");
    expect(r.exitCode).toBe(2);
    expect(r.stderr).not.toContain("sk-this-is-the-real-key");
    expect(() => splitAssignment("va-ai-secret")).toThrow(
      'expected ns:key=value (e.g. copilotos:ports.web=3001); an argument without "=" or without a key is not shown',
    );
  });
});

describe("values that name something on the host have a precise syntax", () => {
  test.each([
    ["host.user", { user: "root;id" }],
    ["host.user", { user: "-oProxyCommand=touch /tmp/x" }],
    ["host.user", { user: "deploy\nx" }],
    ["host.user", { user: "$(id)" }],
    ["host.address", { address: "h\nx" }],
    ["host.address", { address: "deploy@host" }],
    ["host.address", { address: "host:22" }],
    ["host.address", { address: "-oProxyCommand=x" }],
    ["host.hostKey", { hostKey: "ssh-ed25519 AAAA" }],
    ["host.hostKey", { hostKey: ed25519Line("ssh-rsa") }],
    ["host.hostKey", { hostKey: `${ed25519Line()}\n[evil]:22 ssh-ed25519 AAAA` }],
  ])("%s %j is refused, naming the key", (key, host) => {
    expect(problems(ssh(host))).toEqual([expect.stringMatching(new RegExp(`^copilotos:${key.replace(".", "\\.")}: must be`))]);
  });

  test("a real host key, a host name, an IPv6 address and a dotted user pass", () => {
    expect(isKeyLine(ed25519Line())).toBe(true);
    expect(problems(ssh({ address: "docker-1.example.com", user: "ops.deploy" }))).toEqual([]);
    expect(problems(ssh({ address: "2001:db8::10" }))).toEqual([]);
  });

  test.each([
    ["proxy.contentSecurityPolicy", { proxy: { contentSecurityPolicy: "default-src 'self'\r\nSet-Cookie: session=x" } }],
    ["proxy.contentSecurityPolicy", { proxy: { contentSecurityPolicy: "default-src $host" } }],
    ["proxy.contentSecurityPolicy", { proxy: { contentSecurityPolicy: 'default-src "self"' } }],
    ["backup.dir", { backup: { dir: "~/../../etc" } }],
    ["backup.dir", { backup: { dir: "backups; rm -rf /" } }],
    ["backup.dir", { backup: { dir: "~/b\nx" } }],
    ["host.socket", { host: { kind: "local", socket: "unix:///var/run/docker.sock; id" } }],
  ])("%s %j is refused, naming the key", (key, extra) => {
    expect(problems({ ...base(), ...extra })).toEqual([expect.stringMatching(new RegExp(`^copilotos:${key.replace(".", "\\.")}: must`))]);
  });
});

describe("messages say what is wrong", () => {
  test("a value of the wrong type is not reported as missing", () => {
    expect(problems({ ...base(), saptivaApiKey: 12345 })).toEqual(["copilotos:saptivaApiKey: must be a non-empty string"]);
    expect(problems({ images: base().images })).toEqual([]);
    expect(problems(ssh({ hostKey: 7 }))).toEqual(["copilotos:host.hostKey: must be one public host key line"]);
  });

  test("`ports.__proto__.x` is a key named __proto__, refused as unknown; Object.prototype stays clean", async () => {
    const values: Record<string, never> = {};
    setPath(values, "copilotos:ports.__proto__.x", "1");
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(Object.keys((values as Record<string, Record<string, unknown>>)["copilotos:ports"])).toEqual(["__proto__"]);
    const r = await check("staging", "--secret", `copilotos:saptivaApiKey=${SAPTIVA_KEY}`, "--config", "copilotos:ports.__proto__.x=1");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("copilotos:ports.__proto__: unknown key; typos are not ignored");
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});

describe("a secret given for an app's env stays a secret", () => {
  const VALUE = "smtp-secret-value-0123456789";
  test("--secret copilotos:api.env.X: the API's env is a secret input (encrypted in the state), the value never printed", async () => {
    const run = await runStack("staging", [], [`copilotos:saptivaApiKey=${SAPTIVA_KEY}`, `copilotos:api.env.SMTP_RELAY_AUTH=${VALUE}`]);
    const apiC = containerOf(run, "api");
    expect(apiC.secretPaths).toContain("envs");
    expect(apiC.inputs.envs).toContain(`SMTP_RELAY_AUTH=${VALUE}`);
    expect(containerOf(run, "web").secretPaths).not.toContain("envs");
    const r = await check("staging", "--secret", `copilotos:saptivaApiKey=${SAPTIVA_KEY}`, "--secret", `copilotos:web.env.SMTP_RELAY_AUTH=${VALUE}`);
    expect(r.stdout + r.stderr).not.toContain(VALUE);
    expect(r.run!.resources.find((x) => x.name === "copilotos-web-container")!.secretPaths).toContain("envs");
  });

  test("the same entry set with --config stays plain (and readable in the dry run)", async () => {
    const run = await runStack("staging", [`copilotos:api.env.SMTP_RELAY_HOST=mail.example.com`], [`copilotos:saptivaApiKey=${SAPTIVA_KEY}`]);
    expect(containerOf(run, "api").secretPaths).not.toContain("envs");
    expect(containerOf(run, "api").inputs.envs).toContain("SMTP_RELAY_HOST=mail.example.com");
  });
});

describe("the gates mask secrets in the forms a log shows them", () => {
  test("each secret as is, URL-encoded and JSON-escaped, longest first", () => {
    expect(maskLines(['p@ss/w"rd-0123', ""])).toBe('p%40ss%2Fw%22rd-0123\np@ss/w\\"rd-0123\np@ss/w"rd-0123\n');
    expect(maskLines(["plain-0123456789"])).toBe("plain-0123456789\n");
  });

  test("the gates' awk masks a password printed inside a connection string, encoded", () => {
    const secret = "p@ss/w:rd 0123";
    const log = `MongoServerError: mongodb://copilotos_user:${encodeURIComponent(secret)}@mongodb:27017 refused; raw ${secret}\n`;
    const r = spawnSync("awk", [REDACT_AWK], { input: log, encoding: "utf8", env: { SECRETS: maskLines([secret]) } });
    expect(r.stdout).toBe("MongoServerError: mongodb://copilotos_user:[secret]@mongodb:27017 refused; raw [secret]\n");
  });
});

test("a local engine on a non-default socket: every host step talks to that engine (DOCKER_HOST), not docker's default", async () => {
  const fixtures = `${__dirname}/fixtures`;
  const socket = "unix:///run/user/1000/docker.sock";
  const run = await runStack("dev", ["copilotos:host.kind=local", `copilotos:host.socket=${socket}`], [`copilotos:saptivaApiKey=${SAPTIVA_KEY}`], fixtures);
  const local = run.resources.filter((r) => r.type === "command:local:Command");
  expect(local.map((r) => r.name)).toEqual(expect.arrayContaining(["copilotos-mongo-backup-run", "copilotos-preflight-check", "copilotos-api-ready-wait"]));
  for (const r of local) expect([r.name, r.inputs.environment]).toEqual([r.name, { DOCKER_HOST: socket }]);
  const provider = run.resources.find((r) => r.type === "pulumi:providers:docker")!;
  expect(provider.inputs.host).toBe(socket);
});

test("a 100 kB env value is checked in linear time, with the same answers as before", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { hasUrlCredentials } = require("../policies/lib") as typeof import("../policies/lib");
  const start = Date.now();
  expect(hasUrlCredentials(`x://${":".repeat(100_000)}`)).toBe(false);
  expect(hasUrlCredentials(`redis://${"a".repeat(100_000)}`)).toBe(false);
  expect(Date.now() - start).toBeLessThan(500);
  expect(
    [
      "redis://:pw@redis:6379",
      "mongodb://u:p@h/db",
      "https://host/a:b@c",
      "mongodb://u@h",
      "mongodb://u:@h",
      "x://a b:c@d",
      "http://u::@h",
      "no-url:a:b@c",
    ].map(hasUrlCredentials),
  ).toEqual([true, true, false, false, false, false, true, false]);
});

test("--secret-env takes a secret from the environment, so it is in no argv (npm prints argv); an unset variable is named", async () => {
  process.env.CPT_TEST_SAPTIVA = SAPTIVA_KEY;
  try {
    const r = await check("staging", "--secret-env", "copilotos:saptivaApiKey=CPT_TEST_SAPTIVA");
    expect(r.exitCode).toBe(0);
    expect(r.stderr).not.toContain("is not set; using a placeholder");
    expect(r.stdout + r.stderr).not.toContain(SAPTIVA_KEY);
    expect(r.run!.secretValues.has(SAPTIVA_KEY)).toBe(true);
  } finally {
    delete process.env.CPT_TEST_SAPTIVA;
  }
  const unset = await check("staging", "--secret-env", "copilotos:saptivaApiKey=CPT_TEST_UNSET");
  expect(unset).toMatchObject({ exitCode: 2, stderr: "check: --secret-env copilotos:saptivaApiKey: CPT_TEST_UNSET is not set in the environment\n" });
});

/** The health gate against a real engine over SSH: a healthy app passes; one that never is fails with redacted logs. */
import { healthGateScript, readyGateScript } from "../../components/renderers/operations/health";
import { runHostStep } from "../../scripts/stack/hostExec";
import { busyboxImage } from "../support/testImages";
import { host, remote, removeByPrefix } from "./support";

const P = "copilotos-e2ehg";
const IMAGE = "cpt-e2e/http:1";
const SECRET = "s3cr3t-Value_123";

beforeAll(() =>
  busyboxImage(["-H", `unix://${host.remoteSocket}`], IMAGE, {
    files: { "/www/api/health": "ok\n", "/www/index.html": "<h1>web</h1>\n" },
    cmd: ["sh", "-c", `echo "starting with SECRET_KEY=${SECRET} and again ${SECRET}"; exec httpd -f -p 8080 -h "$ROOT"`],
    env: ["ROOT=/www"],
  }),
);
afterAll(() => {
  removeByPrefix(P);
  remote("image", "rm", "-f", IMAGE);
});

test("an app that answers 200 through the host passes", async () => {
  remote("run", "-d", "--name", `${P}-api`, "-p", "127.0.0.1:38201:8080", IMAGE);
  const r = await runHostStep(
    host.target,
    "health gate",
    healthGateScript({ container: `${P}-api`, url: "http://127.0.0.1:38201/api/health", timeoutSeconds: 20, intervalSeconds: 1 }),
    `${SECRET}\n`,
  );
  expect(r.stdout.trim().split("\n").at(-1)).toBe("health: http://127.0.0.1:38201/api/health answered 200");
});

test("an app that never answers 200 fails after the timeout with its logs, secrets masked", async () => {
  remote("run", "-d", "--name", `${P}-web`, "-e", "ROOT=/tmp", "-p", "127.0.0.1:38202:8080", IMAGE);
  const t = Date.now();
  const err = await runHostStep(
    host.target,
    "health gate",
    healthGateScript({ container: `${P}-web`, url: "http://127.0.0.1:38202/", timeoutSeconds: 3, intervalSeconds: 1 }),
    `${SECRET}\nanother-secret\n`,
  ).catch((e: { message: string; result: { stdout: string } }) => e);
  expect(Date.now() - t).toBeLessThan(10000);
  const { message, result } = err as { message: string; result: { stdout: string } };
  expect(result.stdout).toMatch(/^health: waiting for http:\/\/127\.0\.0\.1:38202\/ \(last status 404; \d+s left\)$/m);
  expect(message).toContain(`health: http://127.0.0.1:38202/ did not answer 200 within 3s (last status 404)\nhealth: last log lines of ${P}-web:\n`);
  expect(message).toContain("starting with SECRET_KEY=[secret] and again [secret]\n");
  expect(message).toContain(`health log of ${P}-web:`);
  expect(message).not.toContain(SECRET);
});

test('masking ends when a secret occurs in its own mask (a secret that is the word "secret")', async () => {
  remote("run", "-d", "--name", `${P}-mask`, "-p", "127.0.0.1:38203:8080", IMAGE, "sh", "-c", "echo 'a secret here, and secret again'; sleep 600");
  const err = await runHostStep(
    host.target,
    "health gate",
    healthGateScript({ container: `${P}-mask`, url: "http://127.0.0.1:38203/", timeoutSeconds: 1, intervalSeconds: 1 }),
    "secret\n",
  ).catch((e: { message: string }) => e);
  expect((err as { message: string }).message).toContain("a [secret] here, and [secret] again");
});

describe("the ready gate before a route switch", () => {
  /** A container whose health check fails, and whose log says what a real API's says when Mongo refuses it. */
  const start = (name: string, log: string) =>
    remote(
      "run",
      "-d",
      "--name",
      name,
      "--health-cmd",
      "false",
      "--health-interval",
      "1s",
      "--health-retries",
      "1",
      IMAGE,
      "sh",
      "-c",
      `echo ${JSON.stringify(log)}; sleep 600`,
    );

  test("a healthy container passes at once", async () => {
    remote("run", "-d", "--name", `${P}-ok`, "--health-cmd", "true", "--health-interval", "1s", IMAGE, "sleep", "600");
    const r = await runHostStep(host.target, "ready", readyGateScript({ container: `${P}-ok`, timeoutSeconds: 20, intervalSeconds: 1 }), "");
    expect(r.stdout.trim().split("\n").at(-1)).toBe(`ready: ${P}-ok is healthy`);
  });

  test("Mongo refusing the API's credentials is named, with the fix, and the password is masked", async () => {
    start(`${P}-auth`, `Readiness check failed error='Authentication failed.' full_error={'errmsg': 'Authentication failed.'} pw=${SECRET}`);
    const err = await runHostStep(
      host.target,
      "ready",
      readyGateScript({ container: `${P}-auth`, timeoutSeconds: 4, intervalSeconds: 1 }),
      `${SECRET}\n`,
    ).catch((e: { message: string }) => e);
    const message = (err as { message: string }).message;
    expect(message).toContain(`ready: ${P}-auth did not become healthy within 4s (state: running unhealthy); no traffic was switched to it`);
    expect(message).toContain("ready: cause: Mongo refused the API's credentials (Authentication failed)");
    expect(message).toContain("Never delete the volume (docker compose down -v)");
    expect(message).toContain("pw=[secret]");
    expect(message).not.toContain(SECRET);
  });

  test("a missing secret is named; a container that exits does not wait for the timeout", async () => {
    remote("run", "-d", "--name", `${P}-nosecret`, IMAGE, "sh", "-c", "echo \"Required secret 'MONGODB_PASSWORD' not found in any source\"; exit 1");
    const t = Date.now();
    const err = await runHostStep(host.target, "ready", readyGateScript({ container: `${P}-nosecret`, timeoutSeconds: 60, intervalSeconds: 1 }), "").catch(
      (e: { message: string }) => e,
    );
    expect(Date.now() - t).toBeLessThan(20000);
    expect((err as { message: string }).message).toContain("ready: cause: the API found a required secret in none of its sources");
  });
});

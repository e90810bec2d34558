/** The health gate against a real engine over SSH: a healthy app passes; one that never is fails with redacted logs. */
import { healthGateScript } from "../../components/build/health";
import { runHostStep } from "../../scripts/lib/hostExec";
import { busyboxImage } from "../../scripts/lib/testImages";
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
  expect(message).toContain(`health: http://127.0.0.1:38202/ did not answer 200 within 3s (last status 404); last log lines of ${P}-web:\n`);
  expect(message).toContain("starting with SECRET_KEY=[secret] and again [secret]\n");
  expect(message).toContain(`health log of ${P}-web:`);
  expect(message).not.toContain(SECRET);
});

/** The pre-flight script against a real engine over SSH: each check's success and failure. */
import * as net from "node:net";
import { preflightScript, PreflightSpec } from "../../components/renderers/operations/preflight";
import { runHostStep } from "../../scripts/stack/hostExec";
import { busyboxImage } from "../support/testImages";
import { host, remote, removeByPrefix } from "./support";

const P = "copilotos-e2epf";
const spec: PreflightSpec = {
  identity: { project: "copilotos", stack: "e2epf" },
  ports: [38100, 38101],
  containers: [`${P}-api`, `${P}-web`],
  volumes: [`${P}-mongo-data`],
  networks: [P],
  minFreeMb: 16,
};
const run = (s: PreflightSpec = spec, prefix = "") => runHostStep(host.target, "preflight", prefix + preflightScript(s));

beforeAll(() => busyboxImage(["-H", `unix://${host.remoteSocket}`], "cpt-e2e/box:1"));
afterEach(() => {
  removeByPrefix(P);
  removeByPrefix("e2epf-foreign");
});
afterAll(() => remote("image", "rm", "-f", "cpt-e2e/box:1"));

test("a clean host passes and says which engine answered", async () => {
  const r = await run();
  expect(r.stdout).toMatch(/^preflight: docker 20\.10\.\S+ on \S+\npreflight: ok\n$/);
});

test("a port held by a container of this stack is fine; one held by a compose project is named with its owner", async () => {
  remote(
    "run",
    "-d",
    "--name",
    `${P}-web`,
    "--label",
    "copilotos.project=copilotos",
    "--label",
    "copilotos.stack=e2epf",
    "-p",
    "127.0.0.1:38100:8080",
    "cpt-e2e/box:1",
  );
  await expect(run()).resolves.toMatchObject({ code: 0 });
  remote("run", "-d", "--name", "e2epf-foreign-api", "--label", "com.docker.compose.project=infra", "-p", "38101:8080", "cpt-e2e/box:1");
  const err = await run().catch((e: Error) => e.message);
  expect(err).toBe(
    "preflight failed on cptdeploy@10.201.0.2:22 (exit 1):\n" +
      "preflight: port 38101 is held by container e2epf-foreign-api (compose project infra)\n" +
      "preflight: failed; nothing was changed",
  );
});

test("a port held by another stack and a process outside Docker are both listed", async () => {
  remote(
    "run",
    "-d",
    "--name",
    "e2epf-foreign-prod",
    "--label",
    "copilotos.project=copilotos",
    "--label",
    "copilotos.stack=prod",
    "-p",
    "38100:8080",
    "cpt-e2e/box:1",
  );
  // A listener outside Docker on the host: busybox httpd started through the same SSH login.
  await runHostStep(host.target, "listener", 'nohup busybox httpd -f -p 127.0.0.1:38101 -h /tmp >/dev/null 2>&1 & echo $! > "$HOME/listener.pid"');
  try {
    const err = await run().catch((e: Error) => e.message);
    expect(err).toContain("preflight: port 38100 is held by container e2epf-foreign-prod (stack copilotos/prod)\n");
    expect(err).toContain("preflight: port 38101 is held by a process outside Docker\n");
  } finally {
    await runHostStep(host.target, "stop listener", `kill "$(cat "$HOME/listener.pid")"; rm "$HOME/listener.pid"`);
  }
});

test("names owned by another project or with no labels are conflicts", async () => {
  remote("run", "-d", "--name", `${P}-api`, "--label", "com.docker.compose.project=copilotos-prod", "cpt-e2e/box:1");
  remote("volume", "create", `${P}-mongo-data`);
  remote("network", "create", "--label", "copilotos.project=copilotos", "--label", "copilotos.stack=other", P);
  const err = (await run().catch((e: Error) => e.message)) as string;
  expect(err.split("\n").slice(1)).toEqual([
    `preflight: container ${P}-api already exists (compose project copilotos-prod)`,
    `preflight: volume ${P}-mongo-data already exists (no copilotos labels)`,
    `preflight: network ${P} already exists (stack copilotos/other)`,
    "preflight: failed; nothing was changed",
  ]);
});

test("too little free space on the Docker root fails", async () => {
  const err = await run({ ...spec, minFreeMb: 1024 * 1024 * 1024 }).catch((e: Error) => e.message);
  expect(err).toMatch(/preflight: only \d+ MiB free on \S+ \(the Docker root\); need 1073741824 MiB\n/);
});

test("a missing tool and an engine that does not answer are named", async () => {
  const err = await run({ ...spec, tools: ["curl", "no-such-tool"] }).catch((e: Error) => e.message);
  expect(err).toContain("preflight: no-such-tool is not installed on the host\n");
  const down = await run(spec, "export DOCKER_HOST=unix:///nonexistent.sock\n").catch((e: Error) => e.message);
  expect(down).toMatch(
    /^preflight failed on cptdeploy@10\.201\.0\.2:22 \(exit 1\):\npreflight: docker does not answer on \S+: Cannot connect to the Docker daemon at unix:\/\/\/nonexistent\.sock\. Is the docker daemon running\?$/,
  );
});

test("a rejected key and a changed host key fail before any check runs, naming the host", async () => {
  await expect(runHostStep({ ...host.target, identityFile: host.rejectedKeyFile }, "preflight", preflightScript(spec))).rejects.toThrow(
    /^preflight: cannot reach cptdeploy@10\.201\.0\.2:22 over SSH: .*Permission denied \(publickey\)\.$/,
  );
  await expect(runHostStep({ ...host.target, knownHostsFile: host.wrongKnownHostsFile }, "preflight", preflightScript(spec))).rejects.toThrow(
    /^preflight: cannot reach cptdeploy@10\.201\.0\.2:22 over SSH: Host key verification failed\.$/,
  );
});

test("a host that accepts TCP but never speaks SSH fails within the dial timeout instead of hanging", async () => {
  const silent = net.createServer(() => undefined); // accepts, never answers
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  const port = (silent.address() as net.AddressInfo).port;
  const t = Date.now();
  try {
    await expect(runHostStep({ ...host.target, address: "127.0.0.1", port, connectTimeoutSeconds: 2 }, "preflight", "true")).rejects.toThrow(
      new RegExp(`^preflight: cannot reach cptdeploy@127\\.0\\.0\\.1:${port} over SSH: .*timed out`),
    );
    expect(Date.now() - t).toBeLessThan(8000);
  } finally {
    silent.close();
  }
});

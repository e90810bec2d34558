/**
 * A second test host in the same test run (test/support/testHost.ts with another number): started
 * and stopped in a child process, as its own globalSetup would, for tests that need two Docker hosts
 * at once (a recovery onto a new host).
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { testHostDir, type TestHostState } from "./testHost";

const root = path.resolve(__dirname, "..", "..");

function inChild(n: number, call: string): void {
  const code = `require("./test/support/testHost").${call}().then((s) => { if (s && !s.ok) { console.error(s.reason); process.exit(1); } }, (e) => { console.error(e.message); process.exit(1); })`;
  const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", code], {
    cwd: root,
    env: { ...process.env, COPILOTOS_TEST_HOST: String(n) },
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`test host ${n}: ${call} failed: ${r.stderr || r.stdout}`);
}

export type ReadyHost = Required<Pick<TestHostState, "target" | "remoteSocket">>;

/** Starts test host `n` (its own namespace, engine, sshd and deploy user) and returns it. */
export function startOtherTestHost(n: number): ReadyHost {
  inChild(n, "setupTestHost");
  const state = JSON.parse(fs.readFileSync(`${testHostDir(n)}/state.json`, "utf8")) as TestHostState;
  if (!state.ok || !state.target || !state.remoteSocket) throw new Error(`test host ${n}: ${state.reason}`);
  return state as ReadyHost;
}

/** Stops test host `n` and removes everything it had: its engine's data, its home. */
export function stopOtherTestHost(n: number): void {
  inChild(n, "teardownTestHost");
}

/**
 * Test host `n` is lost, as a dead disk or a wiped VM loses it: its engine stops (waited for), its
 * data root (containers, volumes, images) and its deploy user's home (archives, credentials) are gone.
 * Its namespace and sshd stay, for the teardown.
 */
export function loseTestHost(n: number): void {
  const dir = testHostDir(n);
  execFileSync("sh", ["-c", `kill "$(cat ${dir}/remote/docker.pid)"; while [ -e ${dir}/remote/docker.pid ]; do sleep 0.2; done`]);
  fs.rmSync(`${dir}/remote/data`, { recursive: true, force: true });
  execFileSync("sh", ["-c", `find ${dir}/home -mindepth 1 -delete`]);
}

/** `docker` against a host's engine from the outside. */
export const dockerOn =
  (h: Pick<ReadyHost, "remoteSocket">) =>
  (...args: string[]): string =>
    execFileSync("docker", ["-H", `unix://${h.remoteSocket}`, ...args], { stdio: ["pipe", "pipe", "pipe"] })
      .toString()
      .trim();

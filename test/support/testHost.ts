/**
 * A real Docker host for tests and benches, on this machine: a second dockerd (own data root, exec
 * root, pidfile and socket) in its own network namespace, reached over real SSH (sshd in that
 * namespace, keys made here) as an unprivileged deploy user whose shell sees only that engine.
 * Also makes sure the deploy machine's own engine (the default socket) runs.
 * Needs root; everything it starts, teardownTestHost stops and removes.
 *
 * `COPILOTOS_TEST_HOST=<n>` (default 0) picks one of several such hosts, each with its own folder,
 * namespace, link, addresses (10.201.<n>.0/30) and deploy user, so suites that each need a whole
 * host (`npm test` runs the convergence matrix on host 1 beside the other suites on host 0) run at
 * once. Host 0 also starts this machine's engine when it does not run (another host's stand-ins are
 * built on its own engine). Cron is machine-wide: the first host up starts it when none runs, and
 * the last one of those up stops it (a host going first hands it to another still up).
 *
 * `COPILOTOS_TEST_HOST_DISK_MB=<n>` gives the engine's data root a file system of its own, n MiB
 * (ext4 on a loop device), so a test can fill the disk Docker keeps its data on.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { HostTarget } from "../../scripts/stack/hostExec";
import { FIREWALL_STANDIN, firewallImage } from "./testImages";
import { startSharedCron, stopSharedCron } from "./cron";
import { daemon, dockerdArgv, keyPair, killPidFile, linkedNamespace, ok, sh, startSshd, waitFor, waitGone, which } from "./processes";
import { cpuGroupArgs, removeCpuGroup, TEST_HOST_SHARES } from "./cpuGroups";

const INSTANCE = Number(process.env.COPILOTOS_TEST_HOST ?? 0);
// 10.201.8.0/30 is the SFTP target's (test/support/sftpTarget.ts).
if (!Number.isInteger(INSTANCE) || INSTANCE < 0 || INSTANCE > 10 || INSTANCE === 8)
  throw new Error("COPILOTOS_TEST_HOST is a test host's number, 0 to 10 but 8");
/** Host 0 keeps the names it always had; host n adds n. */
const N = INSTANCE === 0 ? "" : String(INSTANCE);
/** Test host `n`'s folder (host 0's has no number). */
export const testHostDir = (n: number) => `/tmp/copilotos-e2e${n === 0 ? "" : n}`;
export const TEST_HOST_DIR = testHostDir(INSTANCE);
/** The test host's network namespace: a `local` stack's "this machine" in the tests (test/support/stackRig.ts). */
export const NETNS = `cpt-e2e${N}`;
const VETH_OUT = `cpte0${N}`;
const VETH_IN = `cpte1${N}`;
export const HOST_ADDRESS = `10.201.${INSTANCE}.2`;
const OUT_ADDRESS = `10.201.${INSTANCE}.1`;
const USER = `cptdeploy${N}`;
const REQUIRED = [
  "dockerd",
  "docker",
  "sshd",
  "ssh",
  "ssh-keygen",
  "ip",
  "nsenter",
  "busybox",
  "tar",
  "curl",
  "useradd",
  "tc",
  "nginx",
  "docker-compose",
  "redis-server",
  "redis-cli",
  "cron",
  "crontab",
  "openssl",
  "certbot",
  "pebble",
  "pebble-challtestsrv",
  "nft",
  "mkfs.ext4",
];

export interface TestHostState {
  ok: boolean;
  /** Why the test host could not be made (what is missing and how to get it). */
  reason?: string;
  target?: Extract<HostTarget, { kind: "ssh" }>;
  /** The host engine's socket, for assertions from the outside. */
  remoteSocket?: string;
  /** A client key the host does not accept. */
  rejectedKeyFile?: string;
  /** known_hosts pinning a key the host does not have. */
  wrongKnownHostsFile?: string;
  /** The host side of the link, for rate limits (tc) and byte counters. */
  linkDevice?: string;
  startedLocalEngine?: boolean;
  createdUser?: boolean;
}

const stateFile = path.join(TEST_HOST_DIR, "state.json");

export function readTestHost(): TestHostState {
  if (!fs.existsSync(stateFile))
    return { ok: false, reason: `no test host state in ${stateFile}: jest's globalSetup (test/support/globalSetup.ts) did not run` };
  return JSON.parse(fs.readFileSync(stateFile, "utf8")) as TestHostState;
}

/** The ready test host, or an error saying exactly what is missing (tests never skip silently). */
export function requireTestHost(): Required<Pick<TestHostState, "target" | "remoteSocket" | "rejectedKeyFile" | "wrongKnownHostsFile" | "linkDevice">> {
  const s = readTestHost();
  if (!s.ok || !s.target) throw new Error(`real-engine test host unavailable: ${s.reason}`);
  return s as Required<TestHostState>;
}

const LOCK = path.join(TEST_HOST_DIR, "lock");

/** The PID of a live process holding the test host, if any. */
function lockHolder(): number | undefined {
  const pid = Number(fs.existsSync(LOCK) ? fs.readFileSync(LOCK, "utf8").trim() : NaN);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

export async function setupTestHost(): Promise<TestHostState> {
  fs.mkdirSync(TEST_HOST_DIR, { recursive: true });
  // One run at a time: a second run's teardown would stop the first run's host mid-test.
  const holder = lockHolder();
  if (holder !== undefined && holder !== process.pid) {
    throw new Error(`another test run (pid ${holder}) is using the real-engine test host in ${TEST_HOST_DIR}; run one at a time`);
  }
  fs.writeFileSync(LOCK, `${process.pid}\n`);
  const missing = REQUIRED.filter((c) => !which(c));
  let state: TestHostState;
  if (process.getuid?.() !== 0) state = { ok: false, reason: "real-engine tests must run as root (they start dockerd and sshd)" };
  else if (missing.length)
    state = {
      ok: false,
      reason: `missing commands: ${missing.join(", ")} (apt-get install docker.io openssh-server busybox-static iproute2 curl passwd nginx-light docker-compose redis-server cron openssl certbot pebble)`,
    };
  else {
    try {
      state = await start();
    } catch (e) {
      await stopRemote();
      state = { ok: false, reason: `could not start the test host: ${(e as Error).message} (logs in ${TEST_HOST_DIR})` };
    }
  }
  fs.writeFileSync(stateFile, JSON.stringify(state, null, 2));
  return state;
}

async function start(): Promise<TestHostState> {
  const d = TEST_HOST_DIR;
  await stopRemote(); // a previous run that died
  const state: TestHostState = { ok: false };
  if (INSTANCE === 0 && !ok("docker", ["info"])) {
    daemon("dockerd", ["--storage-driver=overlay2", "--pidfile", path.join(d, "local-dockerd.pid")], path.join(d, "local-dockerd.log"));
    state.startedLocalEngine = true;
    await waitFor("the local dockerd", () => ok("docker", ["info"]), 60);
  }
  linkedNamespace({ ns: NETNS, outDev: VETH_OUT, inDev: VETH_IN, outAddress: OUT_ADDRESS, inAddress: HOST_ADDRESS });

  // A new host has an empty home: archives, crontab files and keys an earlier run left (a run that
  // was killed never tore down) would change what the tests count, e.g. retention keeping 7.
  // A run killed before its teardown may have left the deploy user's processes (a cron job, an SSH
  // session's command) running: they would write into the home made anew here, e.g. ~/.copilotos.
  if (ok("id", [USER])) {
    ok("pkill", ["-KILL", "-u", USER]);
    await waitFor(`no process of ${USER} left`, () => !ok("pgrep", ["-u", USER]), 10);
  }
  const home = path.join(d, "home");
  fs.rmSync(home, { recursive: true, force: true });
  fs.mkdirSync(home, { recursive: true });
  if (!ok("id", [USER])) {
    sh("useradd", ["-M", "-d", home, "-s", "/bin/sh", USER]);
    state.createdUser = true;
  }
  // No password, but not locked: sshd (without PAM) refuses locked accounts even with a key.
  sh("usermod", ["-p", "*", USER]);
  sh("chown", [`${USER}:${USER}`, home]);

  const remote = path.join(d, "remote");
  const socket = path.join(remote, "docker.sock");
  fs.mkdirSync(remote, { recursive: true });
  if (DISK_MB > 0) {
    sh("truncate", ["-s", `${DISK_MB}M`, DISK_IMAGE]);
    sh("mkfs.ext4", ["-q", "-F", DISK_IMAGE]);
    fs.mkdirSync(DATA_ROOT, { recursive: true });
    sh("mount", ["-o", "loop", DISK_IMAGE, DATA_ROOT]);
  }
  await startRemoteEngine();
  // Every ssh stack's host firewall (host.firewall) runs it: the rigs set images.firewall to it.
  firewallImage(["-H", `unix://${socket}`], FIREWALL_STANDIN);

  const key = (name: string) => keyPair(d, name);
  const hostKey = key("host_key");
  const clientKey = key("client_key");
  const rejectedKey = key("rejected_key");
  const otherHostKey = key("other_host_key");
  startSshd({
    ns: NETNS,
    dir: d,
    address: HOST_ADDRESS,
    user: USER,
    hostKey,
    clientKey,
    extra: [
      "Subsystem sftp internal-sftp",
      `SetEnv DOCKER_HOST=unix://${socket}`,
      // Lets a test put a stand-in command first on the session's PATH (~/.ssh/environment); nothing else.
      "PermitUserEnvironment PATH",
    ],
  });
  // The host's cron, for the jobs the stack installs (scheduled backups, the containers' metrics):
  // Debian's, unless one runs already (cron is machine-wide: the first host up starts it).
  ok("crontab", ["-r", "-u", USER]);
  await startSharedCron(d, NETNS);
  const pub = (f: string) => fs.readFileSync(`${f}.pub`, "utf8").split(" ").slice(0, 2).join(" ");
  fs.writeFileSync(path.join(d, "known_hosts"), `${HOST_ADDRESS} ${pub(hostKey)}\n`);
  fs.writeFileSync(path.join(d, "wrong_known_hosts"), `${HOST_ADDRESS} ${pub(otherHostKey)}\n`);
  for (const f of [clientKey, rejectedKey]) fs.chmodSync(f, 0o600);

  const target = {
    kind: "ssh" as const,
    address: HOST_ADDRESS,
    port: 22,
    user: USER,
    knownHostsFile: path.join(d, "known_hosts"),
    identityFile: clientKey,
    connectTimeoutSeconds: 5,
  };
  await waitFor(
    "sshd on the test host",
    () => ok("ssh", ["-o", "BatchMode=yes", "-o", `UserKnownHostsFile=${target.knownHostsFile}`, "-i", clientKey, `${USER}@${HOST_ADDRESS}`, "docker info"]),
    30,
  );
  return {
    ...state,
    ok: true,
    target,
    remoteSocket: socket,
    rejectedKeyFile: rejectedKey,
    wrongKnownHostsFile: path.join(d, "wrong_known_hosts"),
    linkDevice: VETH_OUT,
  };
}

const REMOTE = path.join(TEST_HOST_DIR, "remote");
/** The engine's data root (dockerdArgv's), on its own file system when {@link DISK_MB} is set. */
export const DATA_ROOT = path.join(REMOTE, "data");
export const DISK_MB = Number(process.env.COPILOTOS_TEST_HOST_DISK_MB ?? 0);
const DISK_IMAGE = path.join(TEST_HOST_DIR, "disk.img");

/** The CPU group of the test host's containers (test/support/cpuGroups.ts), and the path a container's cgroup names. */
const CPU_GROUP = `copilotos-test-host-${INSTANCE}`;
export const TEST_HOST_CPU_GROUP = `/${CPU_GROUP}`;

/** Starts the test host's dockerd in its namespace (own data root, exec root, pidfile, socket) and waits for it. */
async function startRemoteEngine(): Promise<void> {
  const socket = path.join(REMOTE, "docker.sock");
  const cpu = cpuGroupArgs(CPU_GROUP, TEST_HOST_SHARES);
  daemon("nsenter", ["--net=/var/run/netns/" + NETNS, ...dockerdArgv(REMOTE, ["-G", USER, ...cpu])], path.join(REMOTE, "dockerd.log"));
  await waitFor("the test host's dockerd", () => ok("docker", ["-H", `unix://${socket}`, "info"]), 60);
}

/**
 * Restarts the test host's Docker engine (SIGTERM, as a package upgrade or `systemctl restart
 * docker` would): its containers stop with it and come back by their restart policy.
 */
export async function restartRemoteEngine(): Promise<void> {
  await waitGone(killPidFile(path.join(REMOTE, "docker.pid")), 60);
  await startRemoteEngine();
}

async function stopRemote(): Promise<void> {
  const d = TEST_HOST_DIR;
  ok("crontab", ["-r", "-u", USER]);
  await stopSharedCron(d);
  await waitGone(killPidFile(path.join(d, "sshd.pid")), 10);
  await waitGone(killPidFile(path.join(d, "remote", "docker.pid")), 30);
  // A data root of its own goes with its engine (the loop device with it).
  if (ok("mountpoint", ["-q", DATA_ROOT])) sh("umount", ["-R", DATA_ROOT]);
  if (ok("ip", ["netns", "pids", NETNS])) sh("ip", ["netns", "del", NETNS]);
  ok("ip", ["link", "del", VETH_OUT]);
  removeCpuGroup(CPU_GROUP);
}

export async function teardownTestHost(): Promise<void> {
  const holder = lockHolder();
  if (holder !== undefined && holder !== process.pid) return; // another run's host: not ours to stop
  const state = readTestHost();
  await stopRemote();
  if (state.createdUser) ok("userdel", [USER]);
  if (state.startedLocalEngine) await waitGone(killPidFile(path.join(TEST_HOST_DIR, "local-dockerd.pid")), 30);
  // Overlay mounts are gone once dockerd stopped; anything left is a bug worth seeing, not hiding.
  // But for one: the engine's host-network sandbox (exec/netns/default, made by a `--network host`
  // container such as the backup's restic) stays mounted after dockerd exits.
  const hostNetns = path.join(TEST_HOST_DIR, "remote", "exec", "netns", "default");
  if (ok("mountpoint", ["-q", hostNetns])) sh("umount", [hostNetns]);
  fs.rmSync(TEST_HOST_DIR, { recursive: true, force: true });
}

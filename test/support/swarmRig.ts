/**
 * A real 3-node Docker Swarm on this machine: three dockerds, each in its own network namespace
 * and UTS namespace (own hostname: node-1…3; `nsenter --net … unshare --uts`, not `ip netns exec`,
 * which hides the cgroups dockerd needs), joined by a bridge that lives in a fourth namespace (so
 * this machine's own firewall never sees their traffic), node-1 the manager. Debian's registry
 * runs on that bridge, so services run images by digest as on a real cluster. The manager is
 * reached over real SSH as a deploy user whose sessions (and crontab jobs) see its engine, as the
 * program's host steps reach it; cron is this machine's, shared with the test hosts (cron.ts).
 * Needs root. `stop()` removes everything it made, waiting for each engine to exit.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { HostTarget } from "../../scripts/stack/hostExec";
import { startSharedCron, stopSharedCron } from "./cron";
import { cpuGroupArgs, cpuGroupOfPid, removeCpuGroup, TEST_HOST_SHARES } from "./cpuGroups";
import { daemon, dockerdArgv, keyPair, killPidFile, ok, sh, startSshd, waitFor, waitGone } from "./processes";
import { SftpTarget, startSftpServer, stopSftpServer } from "./sftpTarget";

export const SWARM_DIR = "/tmp/copilotos-swarm";
const NET = "cpt-swnet";
const NODES = [1, 2, 3] as const;
const nsOf = (i: number) => `cpt-sw${i}`;
export const nodeAddress = (i: number) => `10.202.0.${10 + i}`;
export const REGISTRY = "10.202.0.2:5000";
/** The manager's deploy user (its engine's socket group). */
const USER = "cptswarm";
/** The off-host backup target on the swarm's bridge (beside the registry, on no node): its folder and SFTP user. */
const SFTP = { dir: path.join(SWARM_DIR, "sftp"), user: "cptswsftp" };
/**
 * The nodes' upstream DNS on the bridge (beside the registry): it answers every name NXDOMAIN, as a
 * real host's resolver answers a name that is nowhere. Without one, Docker's embedded DNS gets no
 * answer for a name it cannot resolve itself (a service with no task, between Mongo's stop and its
 * new task) and its clients wait 5 s; measured on one node: 5.16 s without, 0.18 s with.
 */
const UPSTREAM_DNS = REGISTRY.split(":")[0];
const NXDOMAIN_PY = String.raw`import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
while True:
    q, peer = s.recvfrom(512)
    if len(q) >= 12:  # the question back: QR, RD as asked, RA, RCODE 3 (NXDOMAIN), no records
        flags = 0x8000 | (q[2] & 0x01) << 8 | 0x0080 | 3
        s.sendto(q[:2] + flags.to_bytes(2, "big") + q[4:6] + bytes(6) + q[12:], peer)
`;

/**
 * The rig's containers' CPU group (test/support/cpuGroups.ts): three nodes' containers, so the
 * weight of three test hosts' groups together.
 */
const CPU_GROUP = { name: "copilotos-swarm-rig", shares: 3 * TEST_HOST_SHARES };
/** What {@link SwarmRig.cpuGroupOf} is for a task in the rig's CPU group. */
export const SWARM_CPU_GROUP = `/${CPU_GROUP.name}`;

export interface SwarmNode {
  index: number;
  name: string;
  address: string;
  socket: string;
  /** `docker` arguments that reach this node's engine. */
  dockerArgs: string[];
}

export class SwarmRig {
  readonly nodes: SwarmNode[] = NODES.map((i) => ({
    index: i,
    name: `node-${i}`,
    address: nodeAddress(i),
    socket: path.join(SWARM_DIR, `n${i}`, "docker.sock"),
    dockerArgs: ["-H", `unix://${path.join(SWARM_DIR, `n${i}`, "docker.sock")}`],
  }));

  get manager(): SwarmNode {
    return this.nodes[0];
  }

  /** The manager as the program's host steps reach it: SSH as the deploy user, the host key pinned. */
  readonly managerSsh: Extract<HostTarget, { kind: "ssh" }> & { identityFile: string } = {
    kind: "ssh",
    address: nodeAddress(1),
    port: 22,
    user: USER,
    knownHostsFile: path.join(SWARM_DIR, "known_hosts"),
    identityFile: path.join(SWARM_DIR, "client_key"),
    connectTimeoutSeconds: 5,
  };

  /** The deploy user's home on the manager (the backups' folder is in it). */
  readonly home = path.join(SWARM_DIR, "home");

  /** The manager's SSH host key (`ssh-ed25519 AAAA…`), as config `host.hostKey` pins it. */
  get managerHostKey(): string {
    return fs.readFileSync(path.join(SWARM_DIR, "host_key.pub"), "utf8").split(" ").slice(0, 2).join(" ");
  }

  /** `docker …` on node `i` (1-based), its trimmed stdout. */
  docker(i: number, ...args: string[]): string {
    return sh("docker", [...this.nodes[i - 1].dockerArgs, ...args]).trim();
  }

  /** The CPU cgroup of container `id` on node `i`, without the container's own folder: {@link SWARM_CPU_GROUP} when in the rig's. */
  cpuGroupOf(i: number, id: string): string {
    return cpuGroupOfPid(this.docker(i, "inspect", "--format", "{{.State.Pid}}", id));
  }

  /** Runs a command in node `i`'s network namespace (a client on that node). */
  inNode(i: number, cmd: string, args: string[]): string {
    return sh("nsenter", [`--net=/run/netns/${nsOf(i)}`, cmd, ...args]);
  }

  async start(): Promise<void> {
    const missing = ["dockerd", "docker-registry", "nsenter", "unshare", "ip"].filter((c) => !ok("sh", ["-c", `command -v ${c}`]));
    if (missing.length) throw new Error(`the swarm rig needs ${missing.join(", ")} (apt-get install docker.io docker-registry iproute2 util-linux) and root`);
    await this.stop();
    fs.mkdirSync(SWARM_DIR, { recursive: true });
    sh("ip", ["netns", "add", NET]);
    const inNet = (...args: string[]) => sh("ip", ["netns", "exec", NET, ...args]);
    inNet("ip", "link", "add", "br0", "type", "bridge");
    inNet("ip", "addr", "add", `${REGISTRY.split(":")[0]}/24`, "dev", "br0");
    inNet("ip", "link", "set", "br0", "up");
    inNet("ip", "link", "set", "lo", "up");
    // This machine's end on the bridge (10.202.0.1): the tests' clients reach the edge nodes from here.
    sh("ip", ["link", "add", "cptsw0", "type", "veth", "peer", "name", "up0", "netns", NET]);
    inNet("ip", "link", "set", "up0", "master", "br0", "up");
    sh("ip", ["addr", "add", "10.202.0.1/24", "dev", "cptsw0"]);
    sh("ip", ["link", "set", "cptsw0", "up"]);
    for (const i of NODES) {
      sh("ip", ["netns", "add", nsOf(i)]);
      sh("ip", ["link", "add", `v${i}`, "netns", NET, "type", "veth", "peer", "name", "eth0", "netns", nsOf(i)]);
      inNet("ip", "link", "set", `v${i}`, "master", "br0", "up");
      for (const args of [
        ["addr", "add", `${nodeAddress(i)}/24`, "dev", "eth0"],
        ["link", "set", "eth0", "up"],
        ["link", "set", "lo", "up"],
      ])
        sh("ip", ["netns", "exec", nsOf(i), "ip", ...args]);
    }
    this.startRegistry();
    daemon(
      "nsenter",
      [`--net=/run/netns/${NET}`, "python3", "-c", NXDOMAIN_PY, UPSTREAM_DNS],
      path.join(SWARM_DIR, "dns.log"),
      path.join(SWARM_DIR, "dns.pid"),
    );
    const home = this.home;
    fs.mkdirSync(home, { recursive: true });
    if (!ok("id", [USER])) sh("useradd", ["-M", "-d", home, "-s", "/bin/sh", USER]);
    // No password, but not locked: sshd (without PAM) refuses locked accounts even with a key.
    sh("usermod", ["-p", "*", USER]);
    sh("chown", [`${USER}:${USER}`, home]);
    for (const i of NODES) this.startEngine(i);
    for (const n of this.nodes) await waitFor(`the dockerd of ${n.name}`, () => ok("docker", [...n.dockerArgs, "info"]), 60);
    this.docker(1, "swarm", "init", "--advertise-addr", nodeAddress(1));
    await this.startManagerSsh();
    const token = this.docker(1, "swarm", "join-token", "-q", "worker");
    for (const i of [2, 3]) this.docker(i, "swarm", "join", "--token", token, `${nodeAddress(1)}:2377`);
    await waitFor(
      "three ready nodes",
      () =>
        this.docker(1, "node", "ls", "--format", "{{.Status}}")
          .split("\n")
          .filter((s) => s === "Ready").length === 3,
      30,
    );
  }

  /** sshd in the manager's namespace for the deploy user, whose sessions' DOCKER_HOST is the manager's engine; and cron. */
  private async startManagerSsh(): Promise<void> {
    const hostKey = keyPair(SWARM_DIR, "host_key");
    const clientKey = keyPair(SWARM_DIR, "client_key");
    startSshd({
      ns: nsOf(1),
      dir: SWARM_DIR,
      address: nodeAddress(1),
      user: USER,
      hostKey,
      clientKey,
      extra: [`SetEnv DOCKER_HOST=unix://${this.manager.socket}`],
    });
    fs.writeFileSync(this.managerSsh.knownHostsFile, `${nodeAddress(1)} ${fs.readFileSync(`${hostKey}.pub`, "utf8").split(" ").slice(0, 2).join(" ")}\n`);
    fs.chmodSync(clientKey, 0o600);
    ok("crontab", ["-r", "-u", USER]);
    await startSharedCron(SWARM_DIR, nsOf(1));
  }

  private startRegistry(): void {
    const dir = path.join(SWARM_DIR, "registry");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, "config.yml"),
      ["version: 0.1", "storage:", "  filesystem:", `    rootdirectory: ${dir}/data`, "http:", `  addr: ${REGISTRY}`, ""].join("\n"),
    );
    daemon("nsenter", [`--net=/run/netns/${NET}`, "docker-registry", "serve", path.join(dir, "config.yml")], path.join(dir, "log"), path.join(dir, "pid"));
  }

  /** Starts node `i`'s engine (again, after `stopEngine`). */
  startEngine(i: number): void {
    const d = path.join(SWARM_DIR, `n${i}`);
    fs.mkdirSync(d, { recursive: true });
    const dockerd = dockerdArgv(d, ["--insecure-registry", REGISTRY, "-G", USER, "--dns", UPSTREAM_DNS, ...cpuGroupArgs(CPU_GROUP.name, CPU_GROUP.shares)]);
    daemon(
      "nsenter",
      [`--net=/run/netns/${nsOf(i)}`, "unshare", "--uts", "sh", "-c", `hostname node-${i} && exec "$@"`, "sh", ...dockerd],
      path.join(d, "dockerd.log"),
    );
  }

  async waitEngine(i: number): Promise<void> {
    await waitFor(`the dockerd of node-${i}`, () => ok("docker", [...this.nodes[i - 1].dockerArgs, "info"]), 60);
  }

  /** Stops node `i`'s engine as a power-off would leave it to the others: gone, tasks and all. */
  async stopEngine(i: number): Promise<void> {
    await waitGone(killPidFile(path.join(SWARM_DIR, `n${i}`, "docker.pid")), 30);
    killShims(path.join(SWARM_DIR, `n${i}`));
  }

  /** Pushes local image `ref` (on node-1's engine) to the registry; returns `registry/repo@sha256:…`. */
  push(ref: string, repo: string): string {
    const target = `${REGISTRY}/${repo}`;
    this.docker(1, "tag", ref, target);
    this.docker(1, "push", "-q", target);
    return this.docker(1, "image", "inspect", "--format", "{{index .RepoDigests 0}}", target);
  }

  /** An SFTP server on the swarm's bridge (the registry's address, no node's): the stack's off-host restic target. */
  startSftp(): Promise<SftpTarget> {
    return startSftpServer({ ns: NET, address: REGISTRY.split(":")[0], ...SFTP });
  }

  async stop(): Promise<void> {
    ok("crontab", ["-r", "-u", USER]);
    await stopSftpServer(SFTP);
    if (fs.existsSync(SWARM_DIR)) await stopSharedCron(SWARM_DIR);
    await waitGone(killPidFile(path.join(SWARM_DIR, "sshd.pid")), 10);
    for (const i of NODES) {
      const sock = path.join(SWARM_DIR, `n${i}`, "docker.sock");
      if (fs.existsSync(sock)) ok("docker", ["-H", `unix://${sock}`, "swarm", "leave", "--force"]);
    }
    for (const i of NODES) await this.stopEngine(i);
    await waitGone(killPidFile(path.join(SWARM_DIR, "registry", "pid")), 10);
    await waitGone(killPidFile(path.join(SWARM_DIR, "dns.pid")), 10);
    for (const ns of [...NODES.map(nsOf), NET]) ok("ip", ["netns", "del", ns]);
    ok("ip", ["link", "del", "cptsw0"]);
    // Anything an engine left mounted under its roots (it had stopped: nothing is in use).
    const mounts = fs.existsSync("/proc/mounts") ? fs.readFileSync("/proc/mounts", "utf8").split("\n") : [];
    for (const m of mounts
      .map((l) => l.split(" ")[1])
      .filter((p) => p?.startsWith(SWARM_DIR))
      .sort()
      .reverse())
      ok("umount", ["-l", m]);
    fs.rmSync(SWARM_DIR, { recursive: true, force: true });
    removeCpuGroup(CPU_GROUP.name);
    if (ok("id", [USER])) ok("userdel", [USER]);
  }
}

/** containerd shims of an engine that is gone (they keep task processes and mounts alive). */
function killShims(root: string): void {
  for (const line of sh("ps", ["-eo", "pid=,args="]).split("\n")) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (m && m[2].includes("containerd-shim") && m[2].includes(root)) ok("kill", ["-9", m[1]]);
  }
}

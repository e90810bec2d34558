/** The processes the test rigs start (dockerds, sshd, a registry): start, wait for, stop, and free ports for them. Root-only use. */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";

export const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"] }).toString();
export const ok = (cmd: string, args: string[]) => {
  try {
    sh(cmd, args);
    return true;
  } catch {
    return false;
  }
};
export const which = (cmd: string) => ok("sh", ["-c", `command -v ${cmd}`]);

export async function waitFor(what: string, check: () => boolean, seconds: number): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what} did not come up within ${seconds}s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts a detached process logging to `log`; its PID goes to `pidFile` when given. */
export function daemon(cmd: string, args: string[], log: string, pidFile?: string): void {
  const fd = fs.openSync(log, "a");
  const child = spawn(cmd, args, { detached: true, stdio: ["ignore", fd, fd] });
  if (pidFile && child.pid) fs.writeFileSync(pidFile, `${child.pid}\n`);
  child.unref();
  fs.closeSync(fd);
}

/** SIGTERM to the PID in `file`; the PID, or undefined when there is none. */
export function killPidFile(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, "utf8").trim());
    process.kill(pid, "SIGTERM");
    return pid;
  } catch {
    return undefined;
  }
}

/** Waits for `pid` to exit, SIGKILL after `seconds`. */
export async function waitGone(pid: number | undefined, seconds: number): Promise<void> {
  if (pid === undefined) return;
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  await waitFor(`process ${pid} to exit`, () => !alive(), seconds).catch(() => process.kill(pid, "SIGKILL"));
}

/** SIGTERM to a child this process started, then waits for it to exit (SIGKILL after `seconds`): a
 * process still writing its files when the caller removes their directory fails the removal. */
export async function stopChild(child: ChildProcess | undefined, seconds = 10): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), seconds * 1000);
  await exited;
  clearTimeout(timer);
}

/** A dockerd of its own under `root`: data, exec root, pidfile and socket there. */
export function dockerdArgv(root: string, extra: string[] = []): string[] {
  return [
    "dockerd",
    "--data-root",
    path.join(root, "data"),
    "--exec-root",
    path.join(root, "exec"),
    "--pidfile",
    path.join(root, "docker.pid"),
    "-H",
    `unix://${path.join(root, "docker.sock")}`,
    "--storage-driver=overlay2",
    ...extra,
  ];
}

/** An ed25519 key pair `<dir>/<name>` and `<name>.pub`, made once (an existing one is kept). */
export function keyPair(dir: string, name: string): string {
  const f = path.join(dir, name);
  if (!fs.existsSync(f)) sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", f]);
  return f;
}

/**
 * Starts this machine's sshd in the network namespace `ns` on `address`:22, its files in `dir`
 * (`sshd_config`, `sshd.pid`, `sshd.log`, `authorized_keys` = the client key's public half), for
 * `user` only, by key only; `extra` config lines after those.
 */
export function startSshd(o: { ns: string; dir: string; address: string; user: string; hostKey: string; clientKey: string; extra: string[] }): void {
  fs.copyFileSync(`${o.clientKey}.pub`, path.join(o.dir, "authorized_keys"));
  const config = [
    `ListenAddress ${o.address}:22`,
    `HostKey ${o.hostKey}`,
    `PidFile ${path.join(o.dir, "sshd.pid")}`,
    `AuthorizedKeysFile ${path.join(o.dir, "authorized_keys")}`,
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    "StrictModes no",
    `AllowUsers ${o.user}`,
    ...o.extra,
    "",
  ];
  fs.writeFileSync(path.join(o.dir, "sshd_config"), config.join("\n"));
  fs.mkdirSync("/run/sshd", { recursive: true });
  // nsenter, not `ip netns exec`: the latter remounts /sys (dockerd in the same namespace needs its cgroup mounts).
  sh("nsenter", [`--net=/var/run/netns/${o.ns}`, "/usr/sbin/sshd", "-f", path.join(o.dir, "sshd_config"), "-E", path.join(o.dir, "sshd.log")]);
}

/**
 * A network namespace `ns` linked to this machine by a veth pair: `outDev` here with `outAddress`,
 * `inDev` inside with `inAddress` (both /30), loopback up; `routes` are added inside (`ip route add …`).
 */
export function linkedNamespace(o: { ns: string; outDev: string; inDev: string; outAddress: string; inAddress: string; routes?: string[][] }): void {
  sh("ip", ["netns", "add", o.ns]);
  sh("ip", ["link", "add", o.outDev, "type", "veth", "peer", "name", o.inDev]);
  sh("ip", ["link", "set", o.inDev, "netns", o.ns]);
  sh("ip", ["addr", "add", `${o.outAddress}/30`, "dev", o.outDev]);
  sh("ip", ["link", "set", o.outDev, "up"]);
  const inside = [
    ["addr", "add", `${o.inAddress}/30`, "dev", o.inDev],
    ["link", "set", o.inDev, "up"],
    ["link", "set", "lo", "up"],
    ...(o.routes ?? []).map((r) => ["route", "add", ...r]),
  ];
  for (const args of inside) sh("ip", ["netns", "exec", o.ns, "ip", ...args]);
}

/** `n` different loopback ports nothing listens on now (held open together while the kernel picks them). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = Array.from({ length: n }, () => net.createServer());
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.listen(0, "127.0.0.1", r))));
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/**
 * An off-host backup target for tests: an SFTP server (this machine's sshd, `internal-sftp`) in a
 * network namespace of its own, with a key pair made here and its host key pinned, routed to the
 * test hosts' namespaces through this machine (the one place their links meet). Needs root; `stop`
 * removes everything it made, the forwarding rules included. The swarm rig runs the same server on
 * its bridge ({@link startSftpServer}).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { keyPair, killPidFile, linkedNamespace, ok, sh, startSshd, waitFor, waitGone } from "./processes";

const DIR = "/tmp/copilotos-sftp";
const NS = "cpt-sftp";
const OUT = "cptsf0";
const IN = "cptsf1";
export const SFTP_ADDRESS = "10.201.8.2";
const OUT_ADDRESS = "10.201.8.1";
const USER = "cptsftp";

export interface SftpTarget {
  address: string;
  port: number;
  user: string;
  /** The server's host key, `<type> <base64>` (what `backup.offsite.sftp.hostKey` pins). */
  hostKey: string;
  /** The client's private key (the `offsiteSshKey` secret). */
  clientKey: string;
  /** Where the repositories live on the server. */
  home: string;
}

/** The test host `n`'s namespace and addresses (test/support/testHost.ts). */
const hostNs = (n: number) => ({ ns: n === 0 ? "cpt-e2e" : `cpt-e2e${n}`, address: `10.201.${n}.2`, gateway: `10.201.${n}.1` });

/** Forwarding between the target's link and the test hosts' (Docker sets FORWARD's policy to DROP). */
const FORWARD_RULES = [
  ["-s", "10.201.8.0/30", "-d", "10.201.0.0/16", "-j", "ACCEPT"],
  ["-s", "10.201.0.0/16", "-d", "10.201.8.0/30", "-j", "ACCEPT"],
];

/**
 * An SFTP-only server (this machine's sshd, `internal-sftp`) for `user`, listening on `address` in
 * the namespace `ns`, its keys and state in `dir`; the repositories go in `dir/home`.
 */
export async function startSftpServer(o: { ns: string; address: string; dir: string; user: string }): Promise<SftpTarget> {
  fs.mkdirSync(o.dir, { recursive: true });
  const home = path.join(o.dir, "home");
  fs.mkdirSync(home, { recursive: true });
  if (!ok("id", [o.user])) sh("useradd", ["-M", "-d", home, "-s", "/bin/sh", o.user]);
  sh("usermod", ["-p", "*", o.user]);
  sh("chown", [`${o.user}:${o.user}`, home]);
  const hostKey = keyPair(o.dir, "host_key");
  const clientKey = keyPair(o.dir, "client_key");
  // SFTP only: the backup user gets no shell.
  startSshd({
    ns: o.ns,
    dir: o.dir,
    address: o.address,
    user: o.user,
    hostKey,
    clientKey,
    extra: ["Subsystem sftp internal-sftp", "ForceCommand internal-sftp"],
  });
  const scan = `ip netns exec ${o.ns} ssh-keyscan -T 2 ${o.address} 2>/dev/null | grep -q ssh-ed25519`;
  await waitFor(`sshd on the SFTP server ${o.address}`, () => ok("sh", ["-c", scan]), 20);
  const pub = fs.readFileSync(`${hostKey}.pub`, "utf8").split(" ").slice(0, 2).join(" ");
  return { address: o.address, port: 22, user: o.user, hostKey: pub, clientKey: fs.readFileSync(clientKey, "utf8"), home };
}

/** Stops {@link startSftpServer}'s sshd and removes its user and folder. */
export async function stopSftpServer(o: { dir: string; user: string }): Promise<void> {
  await waitGone(killPidFile(path.join(o.dir, "sshd.pid")), 10);
  if (ok("id", [o.user])) ok("userdel", [o.user]);
  fs.rmSync(o.dir, { recursive: true, force: true });
}

export async function startSftpTarget(): Promise<SftpTarget> {
  await stopSftpTarget();
  linkedNamespace({ ns: NS, outDev: OUT, inDev: IN, outAddress: OUT_ADDRESS, inAddress: SFTP_ADDRESS, routes: [["10.201.0.0/16", "via", OUT_ADDRESS]] });
  for (const rule of FORWARD_RULES) sh("iptables", ["-I", "FORWARD", "1", ...rule]);
  return startSftpServer({ ns: NS, address: SFTP_ADDRESS, dir: DIR, user: USER });
}

/** Routes test host `n`'s namespace to the target (and back, through this machine). */
export function routeTestHost(n: number): void {
  const h = hostNs(n);
  ok("ip", ["netns", "exec", h.ns, "ip", "route", "del", "10.201.8.0/30"]);
  sh("ip", ["netns", "exec", h.ns, "ip", "route", "add", "10.201.8.0/30", "via", h.gateway]);
}

export async function stopSftpTarget(): Promise<void> {
  await stopSftpServer({ dir: DIR, user: USER });
  for (const rule of FORWARD_RULES) while (ok("iptables", ["-D", "FORWARD", ...rule]));
  if (ok("ip", ["netns", "pids", NS])) sh("ip", ["netns", "del", NS]);
  ok("ip", ["link", "del", OUT]);
}

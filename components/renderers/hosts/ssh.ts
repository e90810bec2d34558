/**
 * How the Docker CLI's ssh transport (used by the Docker provider) reaches the host. Pure.
 * Host keys are pinned: StrictHostKeyChecking=yes against a known_hosts file holding only the
 * configured key, so a changed or spoofed host is refused instead of trusted on first use.
 */

/** `ssh://user@address:port`, the Docker provider's `host`. */
export function dockerSshUrl(user: string, address: string, port: number): string {
  const host = address.includes(":") ? `[${address}]` : address;
  return `ssh://${user}@${host}:${port}`;
}

/** One known_hosts line; non-default ports use the `[host]:port` form ssh looks up. */
export function knownHostsLine(address: string, port: number, hostKey: string): string {
  return `${port === 22 ? address : `[${address}]:${port}`} ${hostKey.trim()}\n`;
}

export interface SshOptionFiles {
  knownHostsFile: string;
  /** Private key file; without it, ssh uses the agent. */
  identityFile?: string;
  connectTimeoutSeconds: number;
}

/** Where and how the system ssh client reaches the host (the deliver and restore CLIs, the tests). */
export interface SshTarget extends SshOptionFiles {
  address: string;
  port: number;
  user: string;
}

/** Options for the ssh client: pinned host key, no prompts, bounded dial time. */
export function sshClientOptions(f: SshOptionFiles): string[] {
  const opts = [
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    `UserKnownHostsFile=${f.knownHostsFile}`,
    "-o",
    // Only the pin counts: no host key from the system-wide known_hosts is accepted instead.
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "BatchMode=yes",
    "-o",
    `ConnectTimeout=${f.connectTimeoutSeconds}`,
    "-o",
    "ServerAliveInterval=15",
  ];
  return f.identityFile ? [...opts, "-o", "IdentitiesOnly=yes", "-i", f.identityFile] : opts;
}

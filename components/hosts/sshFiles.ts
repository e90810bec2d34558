import * as fs from "node:fs";
import * as path from "node:path";
import type { SshOptionFiles } from "../renderers/ssh";

/** Where the ssh client's files for one host live: `<dir>/known_hosts`, and `<dir>/id_key` when there is a key. */
export function sshFilesIn(dir: string, hasKey: boolean, connectTimeoutSeconds: number): SshOptionFiles {
  return { knownHostsFile: path.join(dir, "known_hosts"), identityFile: hasKey ? path.join(dir, "id_key") : undefined, connectTimeoutSeconds };
}

/**
 * Writes the pinned known_hosts (and the key, if any) at `files`' paths, folder 0700 and files 0600;
 * returns what it wrote (no identity file without a key).
 */
export function writeSshFiles(files: SshOptionFiles, knownHosts: string, privateKey?: string): SshOptionFiles {
  fs.mkdirSync(path.dirname(files.knownHostsFile), { recursive: true, mode: 0o700 });
  fs.writeFileSync(files.knownHostsFile, knownHosts, { mode: 0o600 });
  if (!privateKey || !files.identityFile) return { ...files, identityFile: undefined };
  fs.writeFileSync(files.identityFile, privateKey.endsWith("\n") ? privateKey : `${privateKey}\n`, { mode: 0o600 });
  return files;
}

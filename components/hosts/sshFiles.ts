import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { SshOptionFiles } from "../renderers/hosts/ssh";

/**
 * `~/.copilotos/ssh/<project>-<stack>` (under `$COPILOTOS_STATE_DIR` instead of `~/.copilotos` when
 * set): one folder per stack, in the deploying user's own home, so no other local user can create it
 * first, and at the same path every run, so a deploy's inputs (the provider's ssh options, the
 * delivery command) do not change from one run to the next.
 */
export function defaultSshDir(project: string, stack: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.COPILOTOS_STATE_DIR || path.join(os.homedir(), ".copilotos"), "ssh", `${project}-${stack}`);
}

/** Where the ssh client's files for one host live: `<dir>/known_hosts`, and `<dir>/id_key` when there is a key. */
export function sshFilesIn(dir: string, hasKey: boolean, connectTimeoutSeconds: number): SshOptionFiles {
  return { knownHostsFile: path.join(dir, "known_hosts"), identityFile: hasKey ? path.join(dir, "id_key") : undefined, connectTimeoutSeconds };
}

/**
 * Creates `dir` (0700) or accepts an existing one only if it is a real directory owned by this user
 * and closed to everyone else: the deploy key and the pinned host key live there. Throws naming the
 * folder and the fix.
 */
export function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  const uid = process.getuid?.();
  const why = "it holds the deploy key and the pinned host key";
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory (a link or a file); remove it (${why})`);
  if (uid !== undefined && st.uid !== uid) {
    throw new Error(`${dir} belongs to uid ${st.uid}, not to this user (uid ${uid}): another user could read the key or replace the pin; remove it (${why})`);
  }
  if (st.mode & 0o077) throw new Error(`${dir} is open to other users (mode ${(st.mode & 0o777).toString(8)}); chmod 700 it (${why})`);
}

/**
 * Writes the pinned known_hosts (and the key, if any) at `files`' paths, in a private folder
 * ({@link ensurePrivateDir}), files 0600; returns what it wrote (no identity file without a key).
 */
export function writeSshFiles(files: SshOptionFiles, knownHosts: string, privateKey?: string): SshOptionFiles {
  ensurePrivateDir(path.dirname(files.knownHostsFile));
  writePrivate(files.knownHostsFile, knownHosts);
  if (!privateKey || !files.identityFile) return { ...files, identityFile: undefined };
  writePrivate(files.identityFile, privateKey.endsWith("\n") ? privateKey : `${privateKey}\n`);
  return files;
}

function writePrivate(file: string, content: string): void {
  fs.writeFileSync(file, content, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

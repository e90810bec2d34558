/** Image versions and the stack's own tags for delivered images. Pure. */
import { parseImageRef } from "./imageRef";
import { shq as q } from "../shell";
import type { SshTarget } from "../hosts/ssh";

/** The tag part of a reference, or the first 12 hex digits of its digest: `api:1.2` → `1.2`. */
export function versionOfRef(ref: string): string {
  const p = parseImageRef(ref);
  if (p?.digest) return p.digest.replace(/^sha256:/, "").slice(0, 12);
  return p?.tag ?? "latest";
}

/** The deliver CLI invocation a local command runs (cwd: the project). */
export function deliverCommand(a: SshTarget & { image: string; tag: string; keep: number; compress: boolean }): string {
  return [
    "node scripts/run.js --prebuilt deliver",
    `--image ${q(a.image)}`,
    `--tag ${q(a.tag)}`,
    `--host ${q(`${a.user}@${a.address}:${a.port}`)}`,
    `--known-hosts ${q(a.knownHostsFile)}`,
    ...(a.identityFile ? [`--identity ${q(a.identityFile)}`] : []),
    `--connect-timeout ${a.connectTimeoutSeconds}`,
    `--keep ${a.keep}`,
    ...(a.compress ? ["--compress"] : []),
  ].join(" ");
}

/**
 * Precise syntax for config values that name something on a host or end up in a file the host
 * parses (user names, addresses, paths, engine endpoints, header values, SSH keys): a value either
 * fits, or the config check names the key and says what fits. Nothing here echoes a value.
 */
import { text } from "./values";

/** A login name: letters, digits, `_ . -`, not starting with `-` (an ssh option) or a digit. */
export const sshUser = (what: string) =>
  text(what).regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/, { error: "must be a user name: letters, digits, _ . - (at most 32, not starting with - or a digit)" });

const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const HOSTNAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`);
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const IPV6 = /^(?=.*:)[0-9A-Fa-f:.]{2,45}$/;
/** A host name, an IPv4 or an IPv6 address (no user@, no port, no spaces or newlines). */
export const hostAddress = (what: string) =>
  text(what).refine((s) => HOSTNAME.test(s) || IPV4.test(s) || IPV6.test(s), {
    error: "must be a host name or an IP address (no user@, port, spaces or newlines)",
  });

/** `unix:///abs/path` or `tcp://host:port`: the engine endpoints the Docker provider takes. */
export const dockerSocket = () =>
  text().regex(/^(unix:\/\/\/[A-Za-z0-9_./-]+|tcp:\/\/[A-Za-z0-9.-]+:\d{1,5})$/, { error: "must be unix:///<absolute path> or tcp://<host>:<port>" });

/** A folder on the host: absolute or `~/…`, plain characters only, no `..`. */
export const hostPath = () =>
  text()
    .regex(/^(~\/|\/)[A-Za-z0-9_./-]*$/, { error: "must be an absolute path or ~/path of letters, digits, _ . - /" })
    .refine((p) => !p.split("/").includes(".."), { error: "must not contain .. segments" });

/** One HTTP header value as nginx writes it: printable ASCII without `"`, `\` or `$` (no CR/LF: no injected headers). */
export const headerValue = () => text().regex(/^[\x20-\x21\x23\x25-\x5b\x5d-\x7e]+$/, { error: 'must be one line of printable ASCII without ", \\ or $' });

/** The key type an OpenSSH key blob declares inside itself (the first length-prefixed string). */
export function blobKeyType(base64: string): string | undefined {
  const blob = Buffer.from(base64, "base64");
  if (blob.length < 4) return undefined;
  const n = blob.readUInt32BE(0);
  return n > 0 && n < 64 && blob.length >= 4 + n ? blob.subarray(4, 4 + n).toString("latin1") : undefined;
}

/** Whether `<type> <base64>` is a real public key of that type: the blob decodes, says the same type, and is long enough for one. */
export function isKeyLine(line: string): boolean {
  const [type, b64] = line.split(" ");
  if (!b64 || Buffer.from(b64, "base64").toString("base64") !== b64) return false;
  const inner = blobKeyType(b64);
  const expected = type.startsWith("rsa-sha2-") ? "ssh-rsa" : type;
  return inner === expected && Buffer.from(b64, "base64").length >= 4 + inner.length + 32;
}

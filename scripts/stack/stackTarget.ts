/**
 * The host of a stack, for the CLIs that work on it directly (restore, adopt): its config from the
 * stack file (plus `--config`), and the pinned SSH connection to it, with the pin written into a
 * private folder the caller removes.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseConfig, rawFromAllConfig } from "../../components/config";
import { ALERT_KEYS, NOT_READ, OFFSITE_KEYS } from "../../components/config/keys";
import { sshFilesIn, writeSshFiles } from "../../components/hosts/sshFiles";
import { knownHostsLine } from "../../components/renderers/hosts/ssh";
import type { HostTarget } from "./hostExec";
import { projectRoot } from "./project";
import { loadStackConfig } from "./stackConfig";

/**
 * Secrets the CLIs that work on a stack's host never use, given so its config parses: the API key
 * (a placeholder), and the off-host target's credentials, which pulumi up already wrote on the host
 * ({@link NOT_READ}: set, no value). A value given with --secret wins.
 */
export const UNUSED_SECRETS = [
  "copilotos:saptivaApiKey=sk-unused-by-this-command",
  ...[...OFFSITE_KEYS, ...ALERT_KEYS].map((k) => `copilotos:${k}=${NOT_READ}`),
];

export interface StackTargetOptions {
  stack: string;
  /** Folder of the stack files. @default the project */
  stackDir?: string;
  config?: string[];
  secrets?: string[];
  /** An aws host's address and host key (its `sshHost` output): the stack makes them. */
  address?: string;
  hostKey?: string;
  /** The deploy key file (else the SSH agent). */
  identity?: string;
  /** A private folder for the known_hosts pin. */
  tmp: string;
  /** The CLI's name, for messages. */
  cli: string;
  /** The CLI works on a swarm stack, through its manager (`host.address`). @default refused */
  swarm?: boolean;
}

/** The `parseArgs` options every CLI that reaches a stack's host takes. */
export const HOST_OPTIONS = {
  identity: { type: "string" },
  config: { type: "string", multiple: true },
  "stack-dir": { type: "string" },
  address: { type: "string" },
  "host-key": { type: "string" },
} as const;

/** What `parseArgs` gives for {@link HOST_OPTIONS}. */
export interface HostArgs {
  identity?: string;
  config?: string[];
  "stack-dir"?: string;
  address?: string;
  "host-key"?: string;
}

/** {@link stackTarget} from a CLI's parsed {@link HOST_OPTIONS}. */
export function stackTargetFromArgs(stack: string, v: HostArgs, tmp: string, cli: string, swarm = false): StackTarget {
  return stackTarget({ stack, stackDir: v["stack-dir"], config: v.config, address: v.address, hostKey: v["host-key"], identity: v.identity, tmp, cli, swarm });
}

export type StackTarget = { cfg: ReturnType<typeof parseConfig>; target: HostTarget } | { usage: string };

export function stackTarget(o: StackTargetOptions): StackTarget {
  const input = loadStackConfig({
    stack: o.stack,
    dir: path.resolve(o.stackDir ?? projectRoot()),
    config: o.config,
    secrets: [...UNUSED_SECRETS, ...(o.secrets ?? [])],
  });
  const cfg = parseConfig(rawFromAllConfig(input.config));
  if (cfg.host.kind === "local") return { cfg, target: { kind: "local" } };
  if (cfg.host.kind === "swarm" && !o.swarm) {
    return { usage: `${o.cli}: ${o.stack} runs on a Docker Swarm; ${o.cli} works on single hosts so far (docs/swarm.md says what works on a swarm)\n` };
  }
  const ssh = cfg.host.kind === "ssh" || cfg.host.kind === "swarm" ? cfg.host : { address: o.address, hostKey: o.hostKey, port: 22 };
  if (!ssh.address || !ssh.hostKey) {
    return { usage: `${o.cli}: ${o.stack} runs on an aws host; pass --address and --host-key from \`pulumi stack output sshHost --stack ${o.stack}\`\n` };
  }
  const files = writeSshFiles(sshFilesIn(o.tmp, false, cfg.host.connectTimeoutSeconds), knownHostsLine(ssh.address, ssh.port, ssh.hostKey));
  return { cfg, target: { kind: "ssh", address: ssh.address, port: ssh.port, user: cfg.host.user, ...files, identityFile: o.identity } };
}

/**
 * Runs `fn` with the stack's config and host (a private folder for the pin, removed after): exit 2
 * when the host needs options the CLI was not given, 1 with `<cli>: <message>` when anything fails.
 */
export async function withStackTarget(
  stack: string,
  v: HostArgs,
  cli: string,
  err: (s: string) => void,
  fn: (found: { cfg: ReturnType<typeof parseConfig>; target: HostTarget }) => Promise<number>,
  swarm = false,
): Promise<number> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `copilotos-${cli}-`));
  try {
    const found = stackTargetFromArgs(stack, v, tmp, cli, swarm);
    if ("usage" in found) {
      err(found.usage);
      return 2;
    }
    return await fn(found);
  } catch (e) {
    err(`${cli}: ${(e as Error).message}\n`);
    return 1;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

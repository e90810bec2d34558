/**
 * `npm run restore -- <stack> [<backup file>] [--yes] [--identity <key file>] [--config key=value]...`
 * Without a file: lists the stack's backups on its host, newest first. With one: after confirmation
 * (type the stack name, or --yes), stops Mongo, replaces its volume's contents with the verified
 * archive and starts it again (components/renderers/backup.ts). Exit 0 done, 1 failed, 2 usage/refused.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createInterface } from "node:readline/promises";
import { parseArgs } from "node:util";
import { listBackupsScript, restoreScript } from "../components/renderers/backup";
import { containerName, stackPrefix, volumeName } from "../components/renderers/names";
import { knownHostsLine } from "../components/renderers/ssh";
import { parseConfig, rawFromAllConfig } from "../components/config";
import { sshFilesIn, writeSshFiles } from "../components/hosts/sshFiles";
import { describeTarget, HostTarget, runHostStep } from "./lib/hostExec";
import { projectRoot } from "./lib/project";
import { loadStackConfig } from "./lib/stackConfig";

export const USAGE =
  "usage: npm run restore -- <stack> [<backup file>] [--yes] [--identity <key file>] [--config key=value]... [--stack-dir dir]\n" +
  "       (aws hosts: also --address <ip> --host-key '<type> <base64>', from `pulumi stack output sshHost`)\n";

export interface RestoreIo {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Asks a question; undefined when there is no terminal to ask on. */
  ask?: (q: string) => Promise<string>;
}

export async function restore(argv: string[], io: RestoreIo): Promise<number> {
  let a;
  try {
    a = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        yes: { type: "boolean", default: false },
        identity: { type: "string" },
        config: { type: "string", multiple: true },
        "stack-dir": { type: "string" },
        address: { type: "string" },
        "host-key": { type: "string" },
      },
    });
  } catch (e) {
    io.err(`restore: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const [stack, file, ...extra] = a.positionals;
  if (!stack || extra.length) {
    io.err(USAGE);
    return 2;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "copilotos-restore-"));
  try {
    // The API key is not needed to restore; a placeholder satisfies the schema.
    const input = loadStackConfig({
      stack,
      dir: path.resolve(a.values["stack-dir"] ?? projectRoot()),
      config: a.values.config,
      secrets: ["copilotos:saptivaApiKey=sk-unused-by-restore"],
    });
    const cfg = parseConfig(rawFromAllConfig(input.config));
    let target: HostTarget = { kind: "local" };
    if (cfg.host.kind !== "local") {
      // An aws host's address and host key are made by the stack: its `sshHost` output.
      const ssh = cfg.host.kind === "ssh" ? cfg.host : { address: a.values.address, hostKey: a.values["host-key"], port: 22 };
      if (!ssh.address || !ssh.hostKey) {
        io.err(`restore: ${stack} runs on an aws host; pass --address and --host-key from \`pulumi stack output sshHost --stack ${stack}\`\n`);
        return 2;
      }
      const files = writeSshFiles(sshFilesIn(tmp, false, cfg.host.connectTimeoutSeconds), knownHostsLine(ssh.address, ssh.port, ssh.hostKey));
      target = { kind: "ssh", address: ssh.address, port: ssh.port, user: cfg.host.user, ...files, identityFile: a.values.identity };
    }
    const id = { project: "copilotos", stack };
    const spec = { dir: cfg.backup.dir, prefix: `${stackPrefix(id)}-mongo` };
    if (!file) {
      const r = await runHostStep(target, "listing backups", listBackupsScript(spec));
      io.out(r.stdout || `no backups of ${stack} in ${spec.dir} on ${describeTarget(target)}\n`);
      return 0;
    }
    const script = restoreScript({
      container: containerName(id, "mongo"),
      volume: volumeName(id, "mongo"),
      dir: cfg.backup.dir,
      prefix: spec.prefix,
      file,
      image: String(cfg.images.mongo),
    });
    if (!a.values.yes) {
      if (!io.ask) {
        io.err("restore: refusing without --yes: there is no terminal to confirm on\n");
        return 2;
      }
      const answer = await io.ask(
        `Restore ${file} into ${volumeName(id, "mongo")} on ${describeTarget(target)}? Mongo is stopped and all its current data replaced.\nType the stack name (${stack}) to confirm: `,
      );
      if (answer.trim() !== stack) {
        io.err("restore: not confirmed; nothing changed\n");
        return 2;
      }
    }
    const r = await runHostStep(target, "restore", script);
    io.out(r.stdout);
    return 0;
  } catch (e) {
    io.err(`restore: ${(e as Error).message}\n`);
    return 1;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export async function main(argv: string[]): Promise<number> {
  const tty = process.stdin.isTTY;
  const rl = tty ? createInterface({ input: process.stdin, output: process.stderr }) : undefined;
  try {
    return await restore(argv, {
      out: (s) => process.stdout.write(s),
      err: (s) => process.stderr.write(s),
      ask: rl ? (q) => rl.question(q) : undefined,
    });
  } finally {
    rl?.close();
  }
}

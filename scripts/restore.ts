/**
 * `npm run restore -- <stack> [<backup file>] [--yes] [--drill] [--identity <key file>] [--config key=value]...`
 * Without a file: lists the stack's backups on its host, newest first. With one: after confirmation
 * (type the stack name, or --yes), stops Mongo, replaces its volume's contents with the verified
 * archive and starts it again (components/renderers/operations/backup.ts). With --drill: restores the newest
 * backup (or the one named) into a scratch volume and serves it with a throwaway mongod, never
 * touching the live data (components/renderers/operations/drill.ts). Exit 0 done, 1 failed, 2 usage/refused.
 */
import { createInterface } from "node:readline/promises";
import { parseArgs } from "node:util";
import { listBackupsScript, restoreScript } from "../components/renderers/operations/backup";
import { drillScript } from "../components/renderers/operations/drill";
import { containerName, stackPrefix, volumeName } from "../components/renderers/names";
import { describeTarget, runHostStep } from "./stack/hostExec";
import { HOST_OPTIONS, withStackTarget } from "./stack/stackTarget";

export const USAGE =
  "usage: npm run restore -- <stack> [<backup file>] [--yes] [--identity <key file>] [--config key=value]... [--stack-dir dir]\n" +
  "       npm run restore -- <stack> --drill [<backup file>]   (restore into a scratch volume and serve it; the live data is not touched)\n" +
  "       (aws hosts: also --address <ip> --host-key '<type> <base64>', from `pulumi stack output sshHost`)\n" +
  "example: npm run restore -- staging --drill\n";

/** The flags it takes (its usage names each). */
export const OPTIONS = {
  yes: { type: "boolean", default: false },
  drill: { type: "boolean", default: false },
  ...HOST_OPTIONS,
} as const;

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
      options: OPTIONS,
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
  return withStackTarget(stack, a.values, "restore", io.err, async ({ cfg, target }) => {
    const id = { project: "copilotos", stack };
    const spec = { dir: cfg.backup.dir, prefix: `${stackPrefix(id)}-mongo` };
    const mongoVolume = cfg.adopt?.volumes.mongo ?? volumeName(id, "mongo");
    if (a.values.drill) {
      let script: string;
      try {
        script = drillScript({ container: containerName(id, "mongo"), dir: cfg.backup.dir, prefix: spec.prefix, image: String(cfg.images.mongo), file });
      } catch (e) {
        io.err(`restore: ${(e as Error).message}\n`);
        return 2;
      }
      const r = await runHostStep(target, "drill", script);
      io.out(r.stdout);
      return 0;
    }
    if (!file) {
      const r = await runHostStep(target, "listing backups", listBackupsScript(spec));
      io.out(r.stdout || `no backups of ${stack} in ${spec.dir} on ${describeTarget(target)}\n`);
      return 0;
    }
    const script = restoreScript({
      container: containerName(id, "mongo"),
      // An adopted compose volume is the stack's Mongo volume (config adopt.volumes.mongo).
      volume: mongoVolume,
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
        `Restore ${file} into ${mongoVolume} on ${describeTarget(target)}? Mongo is stopped and all its current data replaced.\nType the stack name (${stack}) to confirm: `,
      );
      if (answer.trim() !== stack) {
        io.err("restore: not confirmed; nothing changed\n");
        return 2;
      }
    }
    const r = await runHostStep(target, "restore", script);
    io.out(r.stdout);
    return 0;
  });
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

/**
 * `npm run backup -- <stack> [--import-archives] [--identity <key file>] [--config key=value]... [--stack-dir dir]`
 * Backs the stack's Mongo up now (seed 002's manual backup): the same backup `pulumi up` and the
 * host's schedule run (components/renderers/operations/backup.ts), its progress printed as it goes.
 * It ends with the verified archive and, with `backup.offsite`, the off-host snapshot's ID, the bytes
 * it added and the repository's size. `--import-archives` instead puts the verified archives already in
 * `backup.dir` into the off-host repository, each with its own time (the archives stay). Exit 0 done,
 * 1 failed, 2 usage. On a swarm it runs on the data node, reached at `host.address`.
 */
import { parseArgs } from "node:util";
import { backupSpecOf } from "../components/backupSpec";
import { backupScript } from "../components/renderers/operations/backup";
import { offsiteImportScript } from "../components/renderers/operations/offsite";
import { runHostStep } from "./stack/hostExec";
import { HOST_OPTIONS, withStackTarget } from "./stack/stackTarget";

export const USAGE =
  "usage: npm run backup -- <stack> [--identity <key file>] [--config key=value]... [--stack-dir dir]\n" +
  "       npm run backup -- <stack> --import-archives   (the archives already in backup.dir into the off-host repository)\n" +
  "       (aws hosts: also --address <ip> --host-key '<type> <base64>', from `pulumi stack output sshHost`)\n" +
  "example: npm run backup -- prod\n";

/** The flags it takes (its usage names each). */
export const OPTIONS = { "import-archives": { type: "boolean", default: false }, ...HOST_OPTIONS } as const;

export interface BackupIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

export async function backup(argv: string[], io: BackupIo): Promise<number> {
  let a;
  try {
    a = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  } catch (e) {
    io.err(`backup: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const [stack, ...extra] = a.positionals;
  if (!stack || extra.length) {
    io.err(USAGE);
    return 2;
  }
  return withStackTarget(
    stack,
    a.values,
    "backup",
    io.err,
    async ({ cfg, target }) => {
      if (!cfg.backup.enabled) {
        io.err(`backup: backups are off for ${stack} (backup.enabled is false); nothing was done\n`);
        return 2;
      }
      const spec = backupSpecOf({ identity: { project: "copilotos", stack }, cfg });
      if (a.values["import-archives"]) {
        if (!spec.offsite) {
          io.err(`backup: ${stack} has no off-host repository to import into (neither backup.offsite nor, on an aws host, backup.s3 is set)\n`);
          return 2;
        }
        await runHostStep(target, "import", offsiteImportScript(spec.offsite, spec.dir, spec.prefix), undefined, io.out);
        return 0;
      }
      await runHostStep(target, "backup", backupScript(spec), undefined, io.out);
      return 0;
    },
    // On a swarm too, through its manager: the script checks that it is the data node.
    true,
  );
}

export async function main(argv: string[]): Promise<number> {
  return backup(argv, { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) });
}

/**
 * `npm run restore -- <stack> [<backup file>] [--yes] [--drill] [--identity <key file>] [--config key=value]...`
 * Without a file: lists the stack's backups on its host, newest first. With one: after confirmation
 * (type the stack name, or --yes), stops Mongo, replaces its volume's contents with the verified
 * archive and starts it again (components/renderers/operations/restore.ts). With --drill: restores the newest
 * backup (or the one named) into a scratch volume and serves it with a throwaway mongod, never
 * touching the live data (components/renderers/operations/drill.ts).
 * `--from offsite` reads the restic repository off the host (config `backup.offsite`) instead: without
 * `--snapshot` it lists the snapshots; with one (an ID or `latest`), or with --drill, it copies that
 * snapshot's archive into the backup folder and restores (or drills) it like any archive there.
 * `--onto-new-host` is the recovery after a lost host: the stack's Mongo must not exist on this host
 * yet; its volume is made from the snapshot, and `pulumi up` then starts Mongo on it, its rotation
 * step giving the data the stack's password first (components/renderers/operations/offsite.ts, rotation.ts). On a swarm it runs on the data node, reached at
 * `host.address`: Mongo's service is scaled to 0 and back to 1 around the swap (`--onto-new-host` is
 * refused there: restore over the new swarm's empty Mongo). Exit 0 done, 1 failed, 2 usage/refused.
 */
import { createInterface } from "node:readline/promises";
import { parseArgs } from "node:util";
import { backupSpecOf, mongoVolumeLabelsOf } from "../components/backupSpec";
import { listBackupsScript } from "../components/renderers/operations/backup";
import { restoreScript } from "../components/renderers/operations/restore";
import { drillScript } from "../components/renderers/operations/drill";
import { FETCHED, offsiteFetchScript, offsiteSnapshotsScript, offsiteWhere } from "../components/renderers/operations/offsite";
import { describeTarget, HostTarget, runHostStep } from "./stack/hostExec";
import { HOST_OPTIONS, withStackTarget } from "./stack/stackTarget";

export const USAGE =
  "usage: npm run restore -- <stack> [<backup file>] [--yes] [--identity <key file>] [--config key=value]... [--stack-dir dir]\n" +
  "       npm run restore -- <stack> --drill [<backup file>]   (restore into a scratch volume and serve it; the live data is not touched)\n" +
  "       npm run restore -- <stack> --from offsite [--snapshot <id>|latest] [--drill] [--onto-new-host] [--yes]\n" +
  "         (the restic repository off the host; without --snapshot: its snapshots; --onto-new-host: the data onto a new host before pulumi up, which then starts Mongo on it: docs/disaster-recovery.md)\n" +
  "       (aws hosts: also --address <ip> --host-key '<type> <base64>', from `pulumi stack output sshHost`)\n" +
  "example: npm run restore -- staging --drill\n";

/** The flags it takes (its usage names each). */
export const OPTIONS = {
  yes: { type: "boolean", default: false },
  drill: { type: "boolean", default: false },
  from: { type: "string" },
  snapshot: { type: "string" },
  "onto-new-host": { type: "boolean", default: false },
  ...HOST_OPTIONS,
} as const;

export interface RestoreIo {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Asks a question; undefined when there is no terminal to ask on. */
  ask?: (q: string) => Promise<string>;
}

/** Confirmation by the stack's name (or --yes); false when refused. */
async function confirmed(io: RestoreIo, yes: boolean, stack: string, what: string): Promise<boolean> {
  if (yes) return true;
  if (!io.ask) {
    io.err("restore: refusing without --yes: there is no terminal to confirm on\n");
    return false;
  }
  const answer = await io.ask(`${what}\nType the stack name (${stack}) to confirm: `);
  if (answer.trim() === stack) return true;
  io.err("restore: not confirmed; nothing changed\n");
  return false;
}

export async function restore(argv: string[], io: RestoreIo): Promise<number> {
  let a;
  try {
    a = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  } catch (e) {
    io.err(`restore: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const [stack, file, ...extra] = a.positionals;
  const v = a.values;
  const offsite = v.from === "offsite";
  const misuse =
    (v.from !== undefined && !offsite && `--from takes "offsite" (the restic repository off the host), not "${v.from}"`) ||
    (offsite && file !== undefined && "--from offsite takes --snapshot <id>, not a file name") ||
    (!offsite && (v.snapshot !== undefined || v["onto-new-host"]) && "--snapshot and --onto-new-host read the off-host repository: add --from offsite") ||
    (v["onto-new-host"] && v.drill && "--onto-new-host restores for real; a drill never needs it");
  if (!stack || extra.length || misuse) {
    io.err(misuse ? `restore: ${misuse}\n${USAGE}` : USAGE);
    return 2;
  }
  return withStackTarget(
    stack,
    v,
    "restore",
    io.err,
    async ({ cfg, target }) => {
      const identity = { project: "copilotos", stack };
      const spec = backupSpecOf({ identity, cfg });
      const restoreFile = async (name: string) => {
        const r = await runHostStep(target, "restore", restoreScript({ ...spec, file: name, volumeLabels: mongoVolumeLabelsOf({ identity, cfg }) }));
        io.out(r.stdout);
        return 0;
      };
      const drill = async (name?: string) => {
        let script: string;
        try {
          script = drillScript({ container: spec.container, dir: spec.dir, prefix: spec.prefix, image: spec.image, file: name, swarm: spec.swarm });
        } catch (e) {
          io.err(`restore: ${(e as Error).message}\n`);
          return 2;
        }
        io.out((await runHostStep(target, "drill", script)).stdout);
        return 0;
      };
      if (offsite) {
        if (v["onto-new-host"] && spec.swarm) {
          io.err(
            `restore: --onto-new-host is for one host; on a swarm run pulumi up for ${stack} on the new nodes first (Mongo starts empty; its backups stay on the data node until it holds the app's database), ` +
              `then list the snapshots (npm run restore -- ${stack} --from offsite) and restore the last one taken before the loss: npm run restore -- ${stack} --from offsite --snapshot <id>\n`,
          );
          return 2;
        }
        if (!spec.offsite) {
          io.err(
            `restore: ${stack} has no off-host repository (neither backup.offsite nor, on an aws host, backup.s3 is set); its backups are on the host: npm run restore -- ${stack}\n`,
          );
          return 2;
        }
        if (v.snapshot === undefined && !v.drill && !v["onto-new-host"]) {
          io.out((await runHostStep(target, "listing off-host snapshots", offsiteSnapshotsScript(spec.offsite, spec.prefix))).stdout);
          return 0;
        }
        const snapshot = v.snapshot ?? "latest";
        const where = offsiteWhere(spec.offsite.target);
        if (!v.drill) {
          const what = v["onto-new-host"]
            ? `Recover ${stack}'s Mongo data from snapshot ${snapshot} of ${where} onto ${describeTarget(target)} (a new host: nothing of the stack may exist there yet)?`
            : `Restore snapshot ${snapshot} of ${where} into ${spec.volume} on ${describeTarget(target)}? Mongo is stopped and all its current data replaced.`;
          if (!(await confirmed(io, v.yes, stack, what))) return 2;
        }
        const name = await fetchSnapshot(target, io, { spec, snapshot, ontoNewHost: v["onto-new-host"] });
        if (v.drill) return drill(name);
        const done = await restoreFile(name);
        if (v["onto-new-host"])
          io.out(
            `restore: ${spec.volume} holds the data of snapshot ${snapshot}. Next: pulumi up. Its password-rotation step gives the data ` +
              `the stack's Mongo password (a throwaway mongod), then Mongo starts on it (docs/disaster-recovery.md)\n`,
          );
        return done;
      }
      if (v.drill) return drill(file);
      if (!file) {
        const r = await runHostStep(target, "listing backups", listBackupsScript(spec));
        io.out(r.stdout || `no backups of ${stack} in ${spec.dir} on ${describeTarget(target)}\n`);
        return 0;
      }
      restoreScript({ ...spec, file }); // refuses another stack's archive, or another file, before asking
      if (
        !(await confirmed(
          io,
          v.yes,
          stack,
          `Restore ${file} into ${spec.volume} on ${describeTarget(target)}? Mongo is stopped and all its current data replaced.`,
        ))
      )
        return 2;
      return restoreFile(file);
    },
    // On a swarm too, through its manager: the scripts check that it is the data node.
    true,
  );
}

/** Copies an off-host snapshot's archive into the backup folder (progress shown); its name there. */
async function fetchSnapshot(
  target: HostTarget,
  io: RestoreIo,
  f: { spec: ReturnType<typeof backupSpecOf>; snapshot: string; ontoNewHost: boolean },
): Promise<string> {
  const script = offsiteFetchScript({
    offsite: f.spec.offsite!,
    dir: f.spec.dir,
    prefix: f.spec.prefix,
    snapshot: f.snapshot,
    ontoNewHost: f.ontoNewHost ? { container: f.spec.container, volume: f.spec.volume } : undefined,
  });
  const r = await runHostStep(target, "copying the snapshot", script, undefined, (s) => io.out(s.replace(new RegExp(`^${FETCHED} .*\\n?`, "m"), "")));
  const name = new RegExp(`^${FETCHED} (\\S+)$`, "m").exec(r.stdout)?.[1];
  if (!name) throw new Error(`the off-host snapshot ${f.snapshot} was copied, but its archive's name was not reported`);
  return name;
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

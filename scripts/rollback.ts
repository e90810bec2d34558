/**
 * `npm run rollback -- <stack> [--to <update number>] [--yes] [--secrets]`
 * Without --to: lists the stack's updates with their image refs. With it: restores that update's
 * image refs and app config as stack config (scripts/plans/rollbackPlan.ts), shows the preview, and
 * runs `up` after confirmation (type the stack name, or --yes). Declined or failed before `up`,
 * the config is put back as it was. Exit 0 done, 1 failed, 2 usage/refused.
 * The Pulumi calls go through {@link StackBackend}; the real one uses the Automation API.
 */
import { createInterface } from "node:readline/promises";
import { parseArgs } from "node:util";
import { NAMESPACE } from "../components/config/keys";
import { projectRoot } from "./stack/project";
import { configPlan, describePlan, formatHistory, HistoryConfigValue, HistoryEntry, planRollback, RollbackError } from "./plans/rollbackPlan";

export const USAGE = "usage: npm run rollback -- <stack> [--to <update number>] [--yes] [--secrets]\nexample: npm run rollback -- prod --to 41\n";

/** The flags it takes (its usage names each). */
export const OPTIONS = { to: { type: "string" }, yes: { type: "boolean", default: false }, secrets: { type: "boolean", default: false } } as const;

/** The Pulumi operations a rollback needs, for one stack. */
export interface StackBackend {
  stackExists(stack: string): Promise<boolean>;
  history(stack: string, showSecrets: boolean): Promise<HistoryEntry[]>;
  /** The stack's current config, as `{ value, secret }` per top-level key (structured values as JSON text). */
  config(stack: string): Promise<Record<string, { value: string; secret?: boolean }>>;
  removeConfig(stack: string, keys: string[]): Promise<void>;
  /** Sets full key paths (`copilotos:api.env.X`) with --path semantics. */
  setConfig(stack: string, entries: { key: string; value: string; secret: boolean }[]): Promise<void>;
  preview(stack: string, out: (s: string) => void): Promise<void>;
  up(stack: string, out: (s: string) => void): Promise<void>;
}

export interface RollbackIo {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Asks a question; undefined when there is no terminal to ask on. */
  ask?: (q: string) => Promise<string>;
}

/** `backend` may be a factory, so a usage error is reported before the Pulumi CLI is looked for. */
export async function rollback(argv: string[], backendOrFactory: StackBackend | (() => Promise<StackBackend>), io: RollbackIo): Promise<number> {
  let a;
  try {
    a = parseArgs({
      args: argv,
      allowPositionals: true,
      options: OPTIONS,
    });
  } catch (e) {
    io.err(`rollback: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const [stack, ...extra] = a.positionals;
  if (!stack || extra.length) {
    io.err(USAGE);
    return 2;
  }
  const backend = typeof backendOrFactory === "function" ? await backendOrFactory() : backendOrFactory;
  const to = a.values.to === undefined ? undefined : Number(a.values.to);
  if (to !== undefined && (!Number.isInteger(to) || to < 1)) {
    io.err(`rollback: --to must be an update number (a whole number >= 1), not "${a.values.to}"\n${USAGE}`);
    return 2;
  }
  try {
    if (!(await backend.stackExists(stack))) throw new RollbackError(`stack ${stack} does not exist in this project's backend (pulumi stack ls lists them)`);
    const history = await backend.history(stack, a.values.secrets);
    if (to === undefined) {
      io.out(formatHistory(stack, history));
      io.out(`Roll back with: npm run rollback -- ${stack} --to <#>\n`);
      return 0;
    }
    const before = await backend.config(stack);
    const plan = planRollback(stack, history, to, { secrets: a.values.secrets, current: before as Record<string, HistoryConfigValue> });
    const current = JSON.parse(before[`${NAMESPACE}:images`]?.value ?? "{}") as Record<string, string>;
    io.out(describePlan(plan, current));

    // The keys the plan replaces are the ones to put back; what puts them back is known before
    // anything changes, and it runs whenever a step fails, a half-applied config included.
    const undo = configPlan(before as Record<string, HistoryConfigValue>, plan.remove).set;
    const restoreBefore = async () => {
      await backend.removeConfig(stack, plan.remove);
      await backend.setConfig(stack, undo);
    };
    try {
      await backend.removeConfig(stack, plan.remove);
      await backend.setConfig(stack, plan.set);
      await backend.preview(stack, io.out);
      if (!a.values.yes) {
        const answer = io.ask ? await io.ask(`Type the stack name (${stack}) to run the update: `) : undefined;
        if (answer?.trim() !== stack) throw new RollbackError(io.ask ? "not confirmed" : "no terminal to confirm on; pass --yes to run the update");
      }
    } catch (e) {
      await restoreBefore();
      throw new RollbackError(`${(e as Error).message}; the stack's config is back as it was, nothing changed`);
    }
    await backend.up(stack, io.out);
    io.out(`${stack} is at the images and app config of update ${to}; its history records this as a new update.\n`);
    return 0;
  } catch (e) {
    io.err(`rollback: ${(e as Error).message}\n`);
    return e instanceof RollbackError && /not confirmed|pass --yes/.test(e.message) ? 2 : 1;
  }
}

/** The real backend: the Pulumi Automation API on this project (needs the Pulumi CLI). */
export async function automationBackend(): Promise<StackBackend> {
  const auto = await import("@pulumi/pulumi/automation");
  const workDir = projectRoot();
  const ws = await auto.LocalWorkspace.create({ workDir });
  const select = (stack: string) => auto.LocalWorkspace.selectStack({ stackName: stack, workDir });
  return {
    stackExists: async (stack) => (await ws.listStacks()).some((s) => s.name === stack || s.name.endsWith(`/${stack}`)),
    history: async (stack, showSecrets) => (await (await select(stack)).history(undefined, undefined, showSecrets)) as unknown as HistoryEntry[],
    config: async (stack) => (await select(stack)).getAllConfig(),
    removeConfig: async (stack, keys) => {
      const s = await select(stack);
      for (const key of keys) await s.removeConfig(key).catch(() => undefined);
    },
    setConfig: async (stack, entries) => {
      const s = await select(stack);
      for (const e of entries) await s.setConfig(e.key, { value: e.value, secret: e.secret }, true);
    },
    preview: async (stack, out) => void (await (await select(stack)).preview({ onOutput: out, diff: true })),
    up: async (stack, out) => void (await (await select(stack)).up({ onOutput: out })),
  };
}

export async function main(argv: string[]): Promise<number> {
  const rl = process.stdin.isTTY ? createInterface({ input: process.stdin, output: process.stdout }) : undefined;
  try {
    return await rollback(argv, automationBackend, {
      out: (s) => process.stdout.write(s),
      err: (s) => process.stderr.write(s),
      ask: rl ? (q) => rl.question(q) : undefined,
    });
  } finally {
    rl?.close();
  }
}

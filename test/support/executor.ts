/**
 * Applies the program's recorded graph (scripts/mockRuntime/harness.ts, mock runtime) to a real Docker
 * engine as `pulumi up` does with the docker and command providers, so every claim about updates,
 * failures and re-runs is tested under the engine's own rules (docs/testing.md lists each with its
 * source):
 * - a resource starts once every resource it depends on is done (its Output inputs, its
 *   `dependsOn` with a component standing for all its children, its parent's dependencies and its
 *   provider); independent resources run concurrently, in an order drawn from a seed that is printed
 *   and replayed by `EXECUTOR_SEED=<n>`; after a failure the running steps finish and none starts;
 * - each resource is diffed against the last state it reached (engine/diff.ts): nothing, an update
 *   in place, or a replacement, create-before-delete unless it sets `deleteBeforeReplace`;
 * - a failed create is not recorded, but for what the provider recorded before failing (a container
 *   whose `wait` failed: recorded with an initialization error, updated on the next run); a failed
 *   update keeps the previous state;
 * - what was replaced or is no longer declared is deleted at the end of a successful update, in
 *   reverse dependency order (retained resources are only forgotten, protected ones refuse); after a
 *   failed update those deletes wait for the end of the next successful one.
 * Values the mocks made up (image digests, container IDs) are replaced by the real ones before a
 * later resource reads them. Not a provider for docker.Image builds or AWS resources.
 */
import type { ProgramRun, RecordedOptions, RecordedResource } from "../../scripts/mockRuntime/harness";
import { diffResource } from "./engine/diff";
import { create, Engine, Live, PartialCreate, remove, stateOnly, update } from "./engine/providers";
import { executorSeed, GraphStep, runSteps } from "./engine/schedule";

export type { Engine } from "./engine/providers";
export { refreshState } from "./engine/refresh";

/** One resource as the state records it: the inputs it was last applied with, and what its provider made. */
export interface StateEntry {
  key: string;
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  /** Names of the resources it depended on (what must outlive it when deletes run). */
  deps: string[];
  opts: RecordedOptions;
  live: Live;
  /** Set when the provider recorded it but its create failed (a container whose wait failed). */
  initError?: string;
}

/** What the executor remembers between applies: the stack's state, in effect. */
export class ExecState {
  readonly resources = new Map<string, StateEntry>();
  /** Replaced resources of a failed update: deleted at the end of the next one that succeeds. */
  readonly pendingDeletes: StateEntry[] = [];
}

export interface ApplyStep {
  name: string;
  type: string;
  action: "create" | "update" | "replace" | "same" | "delete";
  seconds: number;
  output?: string;
}

export class ApplyError extends Error {
  override name = "ApplyError";
  constructor(
    message: string,
    readonly steps: ApplyStep[],
    readonly seed: number,
  ) {
    super(message);
  }
}

/**
 * Runs before each resource the apply changes (not before unchanged ones), with its name: where a
 * fault test kills the update (throw) or breaks the host between two steps.
 */
export type BeforeStep = (name: string) => Promise<void>;

export interface ApplyOptions {
  /** @default `EXECUTOR_SEED`, else a new one (printed through `log`) */
  seed?: number;
  /** Steps run at once at most. @default 16 */
  concurrency?: number;
  /**
   * `pulumi up` killed (SIGKILL) after this resource's provider finished its `create`, `update` or
   * `delete` and before the state recorded it: the engine then keeps a pending operation and the
   * state from before it. A pending create: the resource is not in the state, so the next run
   * creates it again. A pending update: the previous inputs stay, so the next run updates again. A
   * pending delete: the resource stays, so the next successful run deletes it again (a container
   * already gone then fails its delete, as the provider does, until a refresh). @default none
   */
  killAfter?: { step: string; op: "create" | "update" | "delete" };
  /**
   * `pulumi up --target`: only these resources (by name; providers and the stack always) are created,
   * updated or replaced. Every other one keeps the state it has, old inputs and outputs; one with no
   * state is not created (a "skipped create"), and a resource that depends on one, or is the child of
   * one, fails the update before it runs ("which was not specified in --target list", the engine's
   * untargeted create). Only targeted resources are deleted at the end. The check uses a resource's
   * dependencies with its parents' (the engine: its own and its parent): never looser. @default all
   */
  targets?: string[];
}

/** Resources `--target` never leaves out: providers and the stack (the engine's implicitly targeted ones). */
const implicitlyTargeted = (type: string) => type.startsWith("pulumi:providers:") || type === "pulumi:pulumi:Stack";

const killed = (step: string, op: string) => new Error(`pulumi up killed (SIGKILL) after ${step}'s ${op} finished, before the state recorded it`);

const SHORT = (t: string) => t.replace(/^.*:/, "");
const keyOf = (r: { type: string; name: string }) => `${r.type}::${r.name}`;

/** Each resource's dependencies: its own and its parents' (up the chain), among the graph's resources. */
export function dependenciesOf(run: ProgramRun): Map<string, string[]> {
  const byName = new Map(run.resources.map((r) => [r.name, r]));
  const out = new Map<string, string[]>();
  for (const r of run.resources) {
    const deps = new Set(r.deps);
    for (let p = byName.get(r.opts.parent ?? ""); p; p = byName.get(p.opts.parent ?? "")) for (const d of p.deps) deps.add(d);
    deps.delete(r.name);
    // Default providers are registered by the engine itself, before any program resource: never waited on here.
    out.set(
      r.name,
      [...deps].filter((d) => byName.has(d)),
    );
  }
  return out;
}

export async function applyGraph(
  run: ProgramRun,
  engine: Engine,
  state: ExecState,
  log: (line: string) => void = () => undefined,
  beforeStep: BeforeStep = async () => undefined,
  options: ApplyOptions = {},
): Promise<ApplyStep[]> {
  const seed = options.seed ?? executorSeed();
  log(`executor: seed ${seed} (EXECUTOR_SEED=${seed} replays this order)`);
  const real = new Map<string, string>();
  for (const a of state.resources.values()) for (const [k, v] of Object.entries(a.live.real)) real.set(k, v);
  const steps: ApplyStep[] = [];
  const replaced: StateEntry[] = [];
  const deps = dependenciesOf(run);
  const targeted = (r: { name: string; type: string }) => !options.targets || options.targets.includes(r.name) || implicitlyTargeted(r.type);
  const skipped = new Set<string>();
  const step = (r: { name: string; type: string }, action: ApplyStep["action"], started: number, output?: string) => {
    const s = { name: r.name, type: SHORT(r.type), action, seconds: (Date.now() - started) / 1000, output };
    steps.push(s);
    if (action !== "same") log(`${action} ${s.type} ${r.name} (${s.seconds.toFixed(1)}s)`);
  };

  const applyOne = async (res: RecordedResource) => {
    const key = keyOf(res);
    const inputs = substitute(res.inputs, real) as Record<string, unknown>;
    const before = state.resources.get(key);
    const started = Date.now();
    const entry = (live: Live, initError?: string): StateEntry => ({
      key,
      type: res.type,
      name: res.name,
      inputs,
      deps: deps.get(res.name) ?? [],
      opts: res.opts,
      live,
      ...(initError ? { initError } : {}),
    });
    const record = (e: StateEntry) => {
      state.resources.set(key, e);
      for (const [k, v] of Object.entries(e.live.real)) real.set(k, v);
    };
    if (options.targets) {
      const needs = targeted(res) ? [...(deps.get(res.name) ?? []), res.opts.parent ?? ""] : (before?.deps ?? []);
      const missing = needs.find((d) => skipped.has(d));
      if (missing && (before || targeted(res))) throw new Error(`Resource '${res.name}' depends on '${missing}' which was not specified in --target list.`);
      if (!targeted(res)) {
        if (!before) return void skipped.add(res.name);
        record(before);
        return step(res, "same", started);
      }
    }
    if (stateOnly(res.type)) return record(entry(before?.live ?? { real: {} }));
    const diff = before ? diffResource(res.type, before.inputs, inputs, res.opts.ignoreChanges) : undefined;
    if (before && diff?.change === "same" && !before.initError) {
      record({ ...before, deps: deps.get(res.name) ?? [], opts: res.opts });
      return step(res, "same", started);
    }
    await beforeStep(res.name);
    if (before && (diff?.change === "update" || diff?.change === "same")) {
      // An update in place, or the engine's empty update of a resource with initialization errors.
      const live = await update(res, inputs, diff.keys, before.live, engine).catch((e: Error) => {
        step(res, "update", started, e.message);
        throw e;
      });
      if (options.killAfter?.op === "update" && options.killAfter.step === res.name) throw killed(res.name, "update");
      record(entry(live));
      return step(res, "update", started, live.output);
    }
    if (before) {
      if (before.opts.protect) throw new Error(`${res.name} is protected: it cannot be replaced (its ${diff?.keys.join(", ")} changed)`);
      if (res.opts.deleteBeforeReplace) {
        await deleteEntry(before, engine);
        state.resources.delete(key);
      }
    }
    const action = before ? "replace" : "create";
    try {
      const live = await create(res, inputs, engine);
      if (options.killAfter?.op === "create" && options.killAfter.step === res.name) throw killed(res.name, "create");
      if (before && !res.opts.deleteBeforeReplace) replaced.push(before);
      record(entry(live));
      step(res, action, started, live.output);
    } catch (e) {
      if (e instanceof PartialCreate) {
        if (before && !res.opts.deleteBeforeReplace) replaced.push(before);
        record(entry(e.live, e.message));
      }
      step(res, action, started, (e as Error).message);
      throw e;
    }
  };

  const graph: GraphStep[] = run.resources.map((res) => ({ key: res.name, deps: deps.get(res.name) ?? [], run: () => applyOne(res) }));
  const result = await runSteps(graph, seed, options.concurrency ?? 16);
  if (result.failed) {
    state.pendingDeletes.push(...replaced);
    const more = result.alsoFailed.map((f) => `\nalso failed: ${f.key}: ${f.error.message}`).join("");
    throw new ApplyError(`${result.failed.key}: ${result.failed.error.message}${more}\n[executor seed ${seed}]`, steps, seed);
  }

  // The update succeeded: what it replaced, what an earlier failed update replaced, and what the program no longer declares go now.
  // With --target, only targeted resources are deleted; the others' deletes wait.
  const declared = new Set(run.resources.map(keyOf));
  const undeclared = [...state.resources.values()].filter((e) => !declared.has(e.key) && targeted(e));
  for (const e of undeclared) state.resources.delete(e.key);
  const waiting = state.pendingDeletes.splice(0);
  state.pendingDeletes.push(...waiting.filter((e) => !targeted(e)));
  const doomed = [...waiting.filter(targeted), ...replaced, ...undeclared];
  const ids = doomed.map((e, i) => `${e.name}#${i}`);
  const left: StateEntry[] = [];
  const deletes: GraphStep[] = doomed.map((e, i) => ({
    key: ids[i],
    // Reverse order: whatever depends on it goes first.
    deps: doomed.flatMap((other, j) => (j !== i && other.deps.includes(e.name) ? [ids[j]] : [])),
    run: async () => {
      const started = Date.now();
      try {
        const output = await deleteEntry(e, engine);
        if (options.killAfter?.op === "delete" && options.killAfter.step === e.name) throw killed(e.name, "delete");
        // A container's delete is named by the container it removes (which of the API's containers went).
        const shown = e.type === "docker:index/container:Container" && e.live.name ? { ...e, name: e.live.name } : e;
        if (output !== "retained" && !stateOnly(e.type)) step(shown, "delete", started, output);
      } catch (err) {
        left.push(e);
        throw err;
      }
    },
  }));
  const removal = await runSteps(deletes, seed, options.concurrency ?? 16);
  if (removal.failed) {
    const notRun = removal.notStarted.map((id) => doomed[ids.indexOf(id)]);
    state.pendingDeletes.push(...left, ...notRun);
    throw new ApplyError(`${removal.failed.key.replace(/#\d+$/, "")}: delete failed: ${removal.failed.error.message}\n[executor seed ${seed}]`, steps, seed);
  }
  return steps;
}

/** The provider's delete, unless the resource is retained (then it is only forgotten). */
async function deleteEntry(e: StateEntry, engine: Engine): Promise<string | undefined> {
  if (e.opts.protect) throw new Error(`${e.name} is protected: it cannot be deleted`);
  if (e.opts.retainOnDelete) return "retained";
  return remove(e.type, e.inputs, e.live, engine);
}

/** Replaces made-up values by real ones, longest first (a fake image ID is part of a fake digest). */
export function substitute(value: unknown, real: Map<string, string>): unknown {
  if (typeof value === "string") {
    let s = value;
    const fakes = [...real.keys()].sort((a, b) => b.length - a.length);
    for (const fake of fakes) if (s.includes(fake)) s = s.split(fake).join(real.get(fake)!);
    return s;
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, real));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, real)]));
  return value;
}

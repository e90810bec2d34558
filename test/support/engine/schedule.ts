/**
 * Runs a graph of steps the way the Pulumi engine's step executor does: a step starts as soon as
 * every step it depends on is done, independent steps run at the same time, and after a failure the
 * steps already running finish while no other step starts. The order among ready steps is drawn
 * from a seeded generator, so one seed is one order and `EXECUTOR_SEED=<n>` replays it.
 */

export interface GraphStep {
  key: string;
  /** Keys of the steps that must be done first (keys not in the graph are ignored: already done). */
  deps: string[];
  run(): Promise<void>;
}

export interface GraphRun {
  /** Keys in the order their steps finished. */
  done: string[];
  /** The first step that failed, and why. */
  failed?: { key: string; error: Error };
  /** Further failures among the steps that were already running. */
  alsoFailed: { key: string; error: Error }[];
  /** Steps that never started (they waited on a failed step, or came after the failure). */
  notStarted: string[];
  /** The most steps that ran at one time. */
  maxConcurrent: number;
}

/** mulberry32: a small seeded generator, the same numbers for the same seed on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of this run: `EXECUTOR_SEED` when set, else a new one. */
export function executorSeed(env: NodeJS.ProcessEnv = process.env): number {
  const given = env.EXECUTOR_SEED;
  if (given !== undefined && given !== "") {
    if (!/^\d+$/.test(given)) throw new Error(`EXECUTOR_SEED must be a whole number, not ${JSON.stringify(given)}`);
    return Number(given);
  }
  return Math.floor(Math.random() * 2 ** 31);
}

export async function runSteps(steps: GraphStep[], seed: number, concurrency = 16): Promise<GraphRun> {
  const random = seededRandom(seed);
  const keys = new Set(steps.map((s) => s.key));
  const waiting = new Map(steps.map((s) => [s.key, s]));
  const finished = new Set<string>();
  const result: GraphRun = { done: [], alsoFailed: [], notStarted: [], maxConcurrent: 0 };
  const running = new Map<string, Promise<void>>();
  const ready = () => [...waiting.values()].filter((s) => s.deps.every((d) => !keys.has(d) || finished.has(d)));

  for (;;) {
    if (!result.failed) {
      const candidates = ready();
      while (candidates.length && running.size < concurrency) {
        const [step] = candidates.splice(Math.floor(random() * candidates.length), 1);
        waiting.delete(step.key);
        const started = step.run().then(
          () => {
            finished.add(step.key);
            result.done.push(step.key);
          },
          (e: unknown) => {
            const error = e instanceof Error ? e : new Error(String(e));
            if (result.failed) result.alsoFailed.push({ key: step.key, error });
            else result.failed = { key: step.key, error };
          },
        );
        running.set(
          step.key,
          started.finally(() => running.delete(step.key)),
        );
        result.maxConcurrent = Math.max(result.maxConcurrent, running.size);
      }
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  result.notStarted = [...waiting.keys()];
  if (!result.failed && result.notStarted.length) throw new Error(`steps wait on each other in a cycle: ${result.notStarted.join(", ")}`);
  return result;
}

/**
 * A bounded request loop for the swap test and bench: a few clients in parallel send GET requests,
 * one connection each (no keep-alive, so a closed idle connection is never counted as a failure or
 * hidden by a retry), until told to stop and a minimum count is reached; at most 30 minutes, and
 * under jest no longer than the test file (a failed test never leaves one running). Loopback only.
 *
 * The clients run in a worker thread (test/support/loadClient.js): a test blocks its own event loop
 * now and then (synchronous `docker` calls, the program's modules loaded again before each deploy),
 * and an answer that arrived in time must not be counted as "no answer" because the test's timers
 * ran before its sockets were read.
 */
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import type { LoadResult, LoadSpec } from "./loadClient";

export { get } from "./loadClient";
export type { Answer, LoadResult } from "./loadClient";

export interface LoadLoop {
  /** Resolves when `stop()` was called and at least `minRequests` were made. */
  done: Promise<LoadResult>;
  stop(): void;
  /** Requests made so far. */
  count(): number;
  /** Resolves once `n` requests have been made. */
  reached(n: number): Promise<void>;
}

/** The loops not stopped yet: a test that fails between a loop's start and its stop leaves one. */
const running = new Set<Worker>();
/** Longest a loop runs when nothing stops it (a test's own timeout is shorter). */
const MAX_LOOP_MS = 30 * 60_000;
// Under jest, whatever a test file's failed tests left running ends with the file.
const jestAfterAll = (globalThis as { afterAll?: (fn: () => Promise<unknown>) => void }).afterAll;
if (jestAfterAll) jestAfterAll(() => Promise.all([...running].map((w) => w.terminate())));

/** What a test asserts of a loop that must not fail: the count with the first failures, so the failure's message (and CI's digest) says which. */
export function failuresOf(load: LoadResult): { failed: number; samples: string[] } {
  return { failed: load.failed, samples: load.samples };
}
export const NO_FAILURES = { failed: 0, samples: [] };

export function startLoad(url: string, opts: Omit<LoadSpec, "url">): LoadLoop {
  const counter = new SharedArrayBuffer(4);
  const count = () => Atomics.load(new Int32Array(counter), 0);
  const worker = new Worker(path.join(__dirname, "loadClient.js"), { workerData: { loadLoop: true, url, ...opts, counter } });
  running.add(worker);
  const cap = setTimeout(() => worker.postMessage("stop"), MAX_LOOP_MS).unref();
  const done = new Promise<LoadResult>((resolve, reject) => {
    worker.once("message", (r: LoadResult) => {
      resolve(r);
      void worker.terminate();
    });
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`the request loop's worker exited (${code}) without a result`)));
  });
  done.catch(() => undefined);
  worker.once("exit", () => {
    running.delete(worker);
    clearTimeout(cap);
  });
  return {
    done,
    stop: () => worker.postMessage("stop"),
    count,
    reached: (n) =>
      new Promise((resolve) => {
        const poll = () => (count() >= n ? resolve() : setTimeout(poll, 20));
        poll();
      }),
  };
}

/**
 * A bounded request loop for the swap test and bench: a few clients in parallel send GET requests,
 * one connection each (no keep-alive, so a closed idle connection is never counted as a failure or
 * hidden by a retry), until told to stop and a minimum count is reached. Loopback only.
 */
import * as http from "node:http";
import * as https from "node:https";

export interface LoadResult {
  requests: number;
  failed: number;
  /** Count of 200 answers per body (e.g. `v1`, `v2`). */
  bodies: Record<string, number>;
  /** Seconds from the first to the last failed request (0 when none failed). */
  outageSeconds: number;
  /** The longest time between two answers of 200, in seconds: how long clients had no service (one hung request included). */
  longestGapSeconds: number;
  /** The first few failures, for the test's message. */
  samples: string[];
  seconds: number;
}

export interface LoadLoop {
  /** Resolves when `stop()` was called and at least `minRequests` were made. */
  done: Promise<LoadResult>;
  stop(): void;
  /** Requests made so far. */
  count(): number;
  /** Resolves once `n` requests have been made. */
  reached(n: number): Promise<void>;
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body, trimmed. */
  body: string;
}

/**
 * One GET on its own connection (no keep-alive); an `https` URL is checked against `ca` (PEM) when
 * given, else against the system's CAs, and against `servername` (sent as SNI) when given.
 */
export function get(url: string, opts: { timeoutMs?: number; headers?: Record<string, string>; ca?: string; servername?: string } = {}): Promise<Answer> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const client = url.startsWith("https:") ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(
      url,
      { agent: false, ca: opts.ca, servername: opts.servername, headers: { Connection: "close", ...opts.headers }, timeout: timeoutMs },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: body.trim() }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
  });
}

export function startLoad(url: string, opts: { minRequests: number; clients?: number; timeoutMs?: number }): LoadLoop {
  const started = Date.now();
  const result: LoadResult = { requests: 0, failed: 0, bodies: {}, outageSeconds: 0, longestGapSeconds: 0, samples: [], seconds: 0 };
  let lastOk = 0;
  let stopping = false;
  let firstFail = 0;
  let lastFail = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  const fail = (what: string) => {
    result.failed++;
    const now = Date.now();
    firstFail ||= now;
    lastFail = now;
    if (result.samples.length < 5) result.samples.push(`${((now - started) / 1000).toFixed(2)}s: ${what}`);
  };
  const client = async () => {
    while (!stopping || result.requests < opts.minRequests) {
      try {
        const r = await get(url, { timeoutMs: opts.timeoutMs });
        if (r.status === 200) {
          result.bodies[r.body] = (result.bodies[r.body] ?? 0) + 1;
          const now = Date.now();
          if (lastOk) result.longestGapSeconds = Math.max(result.longestGapSeconds, (now - lastOk) / 1000);
          lastOk = now;
        } else fail(`HTTP ${r.status}`);
      } catch (e) {
        fail((e as Error).message);
        await new Promise((r) => setTimeout(r, 10));
      }
      result.requests++;
      for (const w of waiters.filter((x) => result.requests >= x.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  const done = Promise.all(Array.from({ length: opts.clients ?? 2 }, client)).then(() => {
    result.outageSeconds = firstFail ? (lastFail - firstFail) / 1000 : 0;
    result.seconds = (Date.now() - started) / 1000;
    return result;
  });
  return {
    done,
    stop: () => (stopping = true),
    count: () => result.requests,
    reached: (n) => (result.requests >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
  };
}

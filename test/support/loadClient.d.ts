import type { IncomingHttpHeaders } from "node:http";

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body, trimmed. */
  body: string;
}

export interface LoadResult {
  requests: number;
  failed: number;
  /** Count of 200 answers per body (e.g. `v1`, `v2`). */
  bodies: Record<string, number>;
  /** Count of the other answers per HTTP status (a failed request with no status is in `failed` only). */
  statuses: Record<string, number>;
  /** Seconds from the first to the last failed request (0 when none failed). */
  outageSeconds: number;
  /** When the first and the last failed request ended (epoch ms; 0 when none failed). */
  firstFailAt: number;
  lastFailAt: number;
  /** When the first 200 answer after the last failed request arrived (epoch ms; 0 when none did). */
  recoveredAt: number;
  /** The longest time between two answers of 200, in seconds: how long clients had no service (one hung request included). */
  longestGapSeconds: number;
  /** The longest any answered request took, in seconds. */
  slowestSeconds: number;
  /** The first few failures, for the test's message. */
  samples: string[];
  seconds: number;
}

export interface LoadSpec {
  url: string;
  minRequests: number;
  /** @default 2 */
  clients?: number;
  /** @default 5000 */
  timeoutMs?: number;
  /** https: the CA to check the server's certificate against, and the name it must carry (sent as SNI). */
  ca?: string;
  servername?: string;
}

/**
 * One GET on its own connection (no keep-alive); an `https` URL is checked against `ca` (PEM) when
 * given, else against the system's CAs, and against `servername` (sent as SNI) when given.
 */
export function get(url: string, opts?: { timeoutMs?: number; headers?: Record<string, string>; ca?: string; servername?: string }): Promise<Answer>;

/** `clients` request loops until `isStopping()` and `minRequests` were made; `counted` gets the count after each request. */
export function runLoad(spec: LoadSpec, isStopping: () => boolean, counted: (n: number) => void): Promise<LoadResult>;

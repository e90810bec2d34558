/**
 * Mongo connection strings, read back. Pure. The API builds its own URL from its env parts and its
 * password file (components/renderers/services/appContract.ts); only a hand-typed `MONGODB_URL` (which it
 * prefers) needs reading, so the policy pack can compare it with Mongo's root credentials.
 */

export interface ParsedMongoUrl {
  user: string;
  password: string;
  host: string;
  port: number;
  database: string;
}

/** Reads a `mongodb://` URL back into its parts (decoded); undefined when it is not one. */
export function parseMongoUrl(url: string): ParsedMongoUrl | undefined {
  const m = /^mongodb:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/:?,]+)(?::(\d+))?(?:\/([^?]*))?/.exec(url.trim());
  if (!m) return undefined;
  try {
    return {
      user: decodeURIComponent(m[1] ?? ""),
      password: decodeURIComponent(m[2] ?? ""),
      host: m[3],
      port: m[4] ? Number(m[4]) : 27017,
      database: decodeURIComponent(m[5] ?? ""),
    };
  } catch {
    return undefined;
  }
}

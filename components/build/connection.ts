/**
 * Connection strings. Pure. The user name and password are URL-encoded, so a password holding
 * `@ : / ? # %` cannot break the URL (or silently point it elsewhere).
 */

export interface MongoUrlParts {
  user: string;
  password: string;
  /** Host name on the stack network: the Mongo container's alias. */
  host: string;
  port: number;
  database: string;
  /** @default "admin" (the root user lives in the admin database) */
  authSource?: string;
}

/** `mongodb://user:pass@host:27017/db?authSource=admin`. */
export function mongoUrl(p: MongoUrlParts): string {
  const auth = `${encodeURIComponent(p.user)}:${encodeURIComponent(p.password)}`;
  return `mongodb://${auth}@${p.host}:${p.port}/${encodeURIComponent(p.database)}?authSource=${encodeURIComponent(p.authSource ?? "admin")}`;
}

export interface RedisUrlParts {
  password: string;
  host: string;
  port: number;
  /** @default 0 */
  db?: number;
}

/** `redis://:pass@host:6379/0`. */
export function redisUrl(p: RedisUrlParts): string {
  return `redis://:${encodeURIComponent(p.password)}@${p.host}:${p.port}/${p.db ?? 0}`;
}

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

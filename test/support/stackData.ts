/**
 * A stack's data on the test host, for tests that must end with nothing lost: "documents" written
 * into the Mongo stand-in's volume (files, as mongod keeps its collections) and keys in the real
 * Redis, each fingerprinted (sha256 of every file, and of every key with its value).
 */
import { execFileSync } from "node:child_process";
import { requireTestHost } from "./testHost";
import { STANDIN_TAGS } from "./standins";

const docker = (...args: string[]): string =>
  execFileSync("docker", ["-H", `unix://${requireTestHost().remoteSocket}`, ...args], { stdio: ["pipe", "pipe", "pipe"] })
    .toString()
    .trim();

export interface DataNames {
  /** Mongo's data volume. */
  mongoVolume: string;
  /** The Redis container (it changes when a stack takes over a compose deployment). */
  redis: string;
  /** Redis's password; unset, read from the container's own password file (the stack's Redis). */
  redisPassword?: string;
}

export class StackData {
  readonly mongoVolume: string;
  redis: string;
  private readonly redisPassword?: string;

  constructor(names: DataNames) {
    this.mongoVolume = names.mongoVolume;
    this.redis = names.redis;
    this.redisPassword = names.redisPassword;
  }

  /** The data of one of the project's stacks (`copilotos-<stack>-…`). */
  static ofStack(stack: string): StackData {
    return new StackData({ mongoVolume: `copilotos-${stack}-mongo-data`, redis: `copilotos-${stack}-redis` });
  }

  /** Redis commands in the Redis container, authenticated (REDISCLI_AUTH: on no redis-cli command line). */
  private redisCli(script: string): string {
    const auth = this.redisPassword === undefined ? ["sh", "-c", `export REDISCLI_AUTH="$(cat /run/secrets/redis_password)"; ${script}`] : ["sh", "-c", script];
    return docker("exec", ...(this.redisPassword === undefined ? [] : ["-e", `REDISCLI_AUTH=${this.redisPassword}`]), this.redis, ...auth);
  }

  /** Writes `docs` collection files of `bytes` each into Mongo's volume and `keys` keys into Redis. */
  seed(docs = 3, bytes = 700_000, keys = 50): void {
    this.onMongoVolume(`for i in $(seq 1 ${docs}); do head -c ${bytes} /dev/urandom > /data/db/collection-$i-faults.wt; done`);
    this.redisCli(`for i in $(seq 1 ${keys}); do redis-cli SET "doc:$i" "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \\n')" >/dev/null; done`);
  }

  /**
   * Every Mongo data file with its sha256 (the users file, which a password rotation rewrites, and
   * what a restore keeps aside are not data), then every Redis key with its value's sha256.
   */
  fingerprint(): { mongo: string; redis: string } {
    const mongo = this.onMongoVolume(
      "cd /data/db && find . -type f ! -name .users ! -path './.copilotos-*' | sort | xargs sha256sum && find . -type f ! -name .users ! -path './.copilotos-*' | wc -l",
    );
    const redis = this.redisCli(`redis-cli --scan | sort | while read -r k; do printf '%s %s\\n' "$k" "$(redis-cli GET "$k" | sha256sum | cut -c1-16)"; done`);
    return { mongo, redis };
  }

  /** `cmd` in a throwaway container on Mongo's volume (works whether Mongo runs or not). */
  onMongoVolume(cmd: string): string {
    return docker("run", "--rm", "--network", "none", "-v", `${this.mongoVolume}:/data/db`, STANDIN_TAGS.mongo, "sh", "-c", cmd);
  }
}

import { StackValidationPolicy } from "@pulumi/policy";
import { serviceOf, uploadAt, validateContainers } from "../lib";

/** What mongod needs beside its cache (connections, index builds, the filesystem cache of the journal). */
const MONGO_HEADROOM_MB = 256;
/** Where the stack's Redis reads its config (components/renderers/services/containers.ts REDIS_CONF). */
const REDIS_CONF = "/usr/local/etc/redis/redis.conf";

/**
 * A database that does not know its container's memory limit is stopped by the kernel's OOM killer
 * at the limit: mongod sizes WiredTiger's cache from the host's RAM, Redis grows without bound. The
 * stack sizes both from the limit; this refuses a cache that leaves mongod less than 256 MiB, a
 * Redis `maxmemory` at or above its limit, and either missing.
 */
export const databasesSized: StackValidationPolicy = {
  name: "databases-sized",
  description: "Mongo's WiredTiger cache leaves room under its memory limit; Redis has a maxmemory below its limit.",
  configSchema: { properties: {} },
  validateStack: validateContainers((p, args, report) => {
    const service = serviceOf(p);
    const limit = p.memory ?? 0;
    if (service === "mongo") {
      const args_ = p.command ?? [];
      const at = args_.indexOf("--wiredTigerCacheSizeGB");
      const gb = at >= 0 ? Number(args_[at + 1]) : NaN;
      if (!Number.isFinite(gb)) report(`${args.name}: no --wiredTigerCacheSizeGB: mongod sizes its cache from the host's RAM, not its ${limit} MiB limit.`);
      else if (limit > 0 && gb * 1024 > limit - MONGO_HEADROOM_MB)
        report(
          `${args.name}: WiredTiger's cache (${gb} GB) leaves mongod less than ${MONGO_HEADROOM_MB} MiB of its ${limit} MiB limit; lower mongo.cacheGb or raise resources.mongo.memoryMb.`,
        );
    }
    if (service === "redis") {
      const mb = Number(/^maxmemory (\d+)mb$/m.exec(uploadAt(p, REDIS_CONF) ?? "")?.[1] ?? NaN);
      if (!Number.isFinite(mb)) report(`${args.name}: no maxmemory: Redis grows until the kernel kills it at its ${limit} MiB limit.`);
      else if (limit > 0 && mb >= limit) report(`${args.name}: maxmemory ${mb} MiB is not below its ${limit} MiB limit; lower redis.maxmemoryMb.`);
    }
  }),
};

/**
 * Databases sized to their containers' limits (issue: security baseline, item 5): WiredTiger's cache
 * from Mongo's memory limit, Redis's maxmemory below its limit with an eviction policy, so the
 * databases, not the kernel's OOM killer, decide what happens at the limit.
 */
import { parseConfig } from "../components/config";
import { mongoCommand, redisConf, redisMaxMemoryMb, wiredTigerCacheGb } from "../components/renderers/services/containers";
import { minimalConfig, problemsOf } from "./support/config";
import { containerOf, fileOf, runStack } from "./support/program";

test("MongoDB's own rule on the container's limit: 50% of (limit - 1 GiB), at least 0.25 GB; Redis 75% of its limit", () => {
  expect([512, 1024, 1536, 2048, 4096, 16384].map(wiredTigerCacheGb)).toEqual([0.25, 0.25, 0.25, 0.5, 1.5, 7.5]);
  expect(mongoCommand(1.5)).toEqual(["mongod", "--wiredTigerCacheSizeGB", "1.5"]);
  expect([512, 100].map(redisMaxMemoryMb)).toEqual([384, 75]);
  expect(redisConf('pa"ss', { maxMemoryMb: 384, policy: "volatile-lru" })).toBe(
    'requirepass "pa\\"ss"\nappendonly yes\ndir /data\nmaxmemory 384mb\nmaxmemory-policy volatile-lru\n',
  );
});

test("the program: mongod's cache and Redis's maxmemory from the limits, or from config", async () => {
  const run = await runStack("staging");
  expect(containerOf(run, "mongo").inputs.command).toEqual(["mongod", "--wiredTigerCacheSizeGB", "0.25"]);
  expect(fileOf(run, containerOf(run, "redis"), "/usr/local/etc/redis/redis.conf")).toMatch(/\nmaxmemory 192mb\nmaxmemory-policy volatile-lru\n$/); // staging: Redis 256 MiB
  const sized = await runStack("staging", [
    "copilotos:resources.mongo.memoryMb=4096",
    "copilotos:redis.maxmemoryMb=200",
    "copilotos:redis.evictionPolicy=allkeys-lru",
  ]);
  expect(containerOf(sized, "mongo").inputs.command).toEqual(["mongod", "--wiredTigerCacheSizeGB", "1.5"]);
  expect(fileOf(sized, containerOf(sized, "redis"), "/usr/local/etc/redis/redis.conf")).toMatch(/\nmaxmemory 200mb\nmaxmemory-policy allkeys-lru\n$/);
  // A cache the limit cannot hold is the policy's to refuse (databases-sized); the program passes it on.
  const big = await runStack("staging", ["copilotos:mongo.cacheGb=2"]);
  expect(containerOf(big, "mongo").inputs.command).toEqual(["mongod", "--wiredTigerCacheSizeGB", "2"]);
});

test("config: an unknown eviction policy and a cache under mongod's minimum are refused, naming the key", () => {
  expect(parseConfig(minimalConfig()).redis).toEqual({ evictionPolicy: "volatile-lru" });
  expect(problemsOf({ ...minimalConfig(), redis: { evictionPolicy: "random" } }).map((p) => p.key)).toEqual(["copilotos:redis.evictionPolicy"]);
  expect(problemsOf({ ...minimalConfig(), mongo: { cacheGb: 0.1 } }).map((p) => [p.key, p.message])).toEqual([
    ["copilotos:mongo.cacheGb", "must be at least 0.25 (mongod's minimum)"],
  ]);
});

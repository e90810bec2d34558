/**
 * What the engine decides for one resource, from its last recorded inputs and the program's new
 * ones: nothing, an update in place, or a replacement. Each type's rule is its provider's diff,
 * written down in docs/testing.md with its source:
 * - command Commands: `triggers` is `replaceOnChanges`; any other input is an update that runs
 *   `update ?? create` (pulumi-command common/inputs.go, commandController.go);
 * - docker Containers: the fields without ForceNew in the docker provider's schema are updated in
 *   place (`restart`, `maxRetryCount`, `memory`, `memorySwap`, `cpuShares`, `cpuSet` through
 *   `docker update`; `wait`, `destroyGraceSeconds`… only in the state); every other field replaces;
 * - docker Networks, Volumes, Secrets, ServiceConfigs, RemoteImages: replaced on any change of a
 *   field the provider marks ForceNew (all of them but `keepLocally`/`forceRemove` on images);
 * - docker Services: updated in place, but for their name;
 * - random RandomPasswords: every input is ForceNew (keepers included).
 */
export type Change = "same" | "update" | "replace";

export interface Diff {
  change: Change;
  /** Top-level inputs that differ. */
  keys: string[];
}

/** Container fields the docker provider applies with `docker update`. */
export const CONTAINER_UPDATED = ["restart", "maxRetryCount", "memory", "memorySwap", "cpuShares", "cpuSet"];
/** Container fields without ForceNew that change only the state. */
export const CONTAINER_STATE_ONLY = [
  "wait",
  "waitTimeout",
  "mustRun",
  "destroyGraceSeconds",
  "start",
  "attach",
  "logs",
  "removeVolumes",
  "containerReadRefreshTimeoutMilliseconds",
];

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** The top-level input keys whose values differ, leaving out `ignoreChanges` keys. */
export function changedKeys(olds: Record<string, unknown>, news: Record<string, unknown>, ignore: string[] = []): string[] {
  const keys = new Set([...Object.keys(olds), ...Object.keys(news)]);
  return [...keys].filter((k) => !ignore.includes(k) && !same(olds[k], news[k])).sort();
}

/** The provider's decision for `type` given the inputs that changed. */
export function diffResource(type: string, olds: Record<string, unknown>, news: Record<string, unknown>, ignore: string[] = []): Diff {
  const keys = changedKeys(olds, news, ignore);
  if (keys.length === 0) return { change: "same", keys };
  const replaceIf = (forceNew: (k: string) => boolean): Diff => ({ change: keys.some(forceNew) ? "replace" : "update", keys });
  switch (type) {
    case "command:remote:Command":
    case "command:local:Command":
      return replaceIf((k) => k === "triggers");
    case "docker:index/container:Container":
      return replaceIf((k) => !CONTAINER_UPDATED.includes(k) && !CONTAINER_STATE_ONLY.includes(k));
    case "docker:index/remoteImage:RemoteImage":
      return replaceIf((k) => k !== "keepLocally" && k !== "forceRemove");
    case "docker:index/service:Service":
      return replaceIf((k) => k === "name");
    case "docker:index/network:Network":
    case "docker:index/volume:Volume":
    case "docker:index/secret:Secret":
    case "docker:index/serviceConfig:ServiceConfig":
    case "random:index/randomPassword:RandomPassword":
      return { change: "replace", keys };
    default:
      // Components and providers have no provider diff here: their children carry the changes.
      return { change: "update", keys };
  }
}

import { StackValidationPolicy } from "@pulumi/policy";
import { runningContainers, ContainerProps, labelsOf } from "../lib";

export interface PidsLimitedConfig {
  /** The largest limit a container may have. */
  maxPids: number;
}

/** `docker update --pids-limit <n> <container>` lines of a host step's script (the container name possibly quoted). */
const PIDS_LINE = /docker update --pids-limit (\d+) '?([A-Za-z0-9_.-]+)'?/g;

/** Container name → the pids limit a host step of the stack sets on it. */
export function pidsLimitsSet(resources: { type: string; props: Record<string, unknown> }[]): Map<string, number> {
  const limits = new Map<string, number>();
  for (const r of resources.filter((x) => x.type.startsWith("command:"))) {
    const script = r.props.create;
    if (typeof script !== "string") continue;
    for (const m of script.matchAll(PIDS_LINE)) limits.set(m[2], Number(m[1]));
  }
  return limits;
}

/**
 * A fork bomb or a thread leak in one container stops at its own limit, not the host's. The Docker
 * provider has no pids input, so the stack sets the limits in a host step (`docker update
 * --pids-limit`); this rule reads that step's script and checks every container of the stack is in it.
 */
export const pidsLimited: StackValidationPolicy = {
  name: "pids-limited",
  description:
    "Every container of the stack gets a pids limit no larger than maxPids from a host step (`docker update --pids-limit`), since the Docker provider cannot set one.",
  configSchema: { properties: { maxPids: { type: "integer", minimum: 1, default: 4096 } } },
  validateStack: (args, report) => {
    const { maxPids } = args.getConfig<PidsLimitedConfig>();
    const limits = pidsLimitsSet(args.resources);
    for (const c of runningContainers(args.resources)) {
      const props = c.props as ContainerProps;
      const labels = labelsOf(props);
      const ofStack = labels["copilotos.service"] !== undefined || labels["copilotos.monitoring"] === "true";
      // An app container's name is unknown until its suffix is generated (a first preview): nothing to match yet.
      if (!ofStack || typeof props.name !== "string") continue;
      const limit = limits.get(props.name);
      if (limit === undefined) report(`${c.name}: no pids limit; no host step runs docker update --pids-limit on ${props.name}.`, c.urn);
      else if (limit === 0 || limit > maxPids) report(`${c.name}: its pids limit is ${limit}, outside 1..${maxPids} (policy config maxPids).`, c.urn);
    }
  },
};

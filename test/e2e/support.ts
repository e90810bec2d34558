/** Helpers for tests against the real test host (test/support/testHost.ts). */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { FIREWALL_CONTAINER, FIREWALL_TRIAL_CONTAINER } from "../../components/renderers/hosts/firewall";
import { NETNS, requireTestHost, TEST_HOST_DIR } from "../support/testHost";
import { queryProm, Series } from "../support/prometheus";

export const host = requireTestHost();
const quiet = { stdio: ["pipe", "pipe", "pipe"] as "pipe"[] };

/** `docker` against the test host's engine, from the outside (for setup and assertions). */
export const remote = (...args: string[]): string =>
  execFileSync("docker", ["-H", `unix://${host.remoteSocket}`, ...args], quiet)
    .toString()
    .trim();

export const remoteTry = (...args: string[]): string | undefined => {
  try {
    return remote(...args);
  } catch {
    return undefined;
  }
};

/** Removes containers and volumes whose names start with `prefix` on the test host. */
export function removeByPrefix(prefix: string): void {
  const ctrs = remote("ps", "-aq", "--filter", `name=^/${prefix}`);
  if (ctrs) remote("rm", "-f", "-v", ...ctrs.split("\n"));
  const vols = remote("volume", "ls", "-q", "--filter", `name=^${prefix}`);
  if (vols) remote("volume", "rm", "-f", ...vols.split("\n"));
  const nets = remote("network", "ls", "-q", "--filter", `name=^${prefix}`);
  if (nets) remote("network", "rm", ...nets.split("\n"));
}

/**
 * Takes the host firewall (host.firewall, on for every ssh stack) off the test host: its containers,
 * its nftables table in the host's namespace, the deploy user's entries. A suite starts without the
 * rules an earlier suite's stacks left, which would close the ports it publishes itself.
 */
export function removeFirewall(): void {
  remoteTry("rm", "-f", FIREWALL_CONTAINER, FIREWALL_TRIAL_CONTAINER);
  spawnSync("nsenter", [`--net=/var/run/netns/${NETNS}`, "nft", "delete", "table", "inet", "copilotos"], quiet);
  fs.rmSync(path.join(TEST_HOST_DIR, "home", ".copilotos", "firewall"), { recursive: true, force: true });
}

/**
 * Removes every container, volume and network of the project's stacks on the test host (labels, not
 * names), the files writers (labelled for the container they write for, not with the stack's labels)
 * and the host firewall.
 */
export function removeProject(): void {
  removeFirewall();
  const writers = remote("ps", "-aq", "--filter", "label=copilotos.files-for");
  if (writers) remote("rm", "-f", "-v", ...writers.split("\n"));
  for (const kind of ["ps -aq", "volume ls -q", "network ls -q"] as const) {
    const [cmd, ...rest] = kind.split(" ");
    const ids = remote(cmd, ...rest, "--filter", "label=copilotos.project=copilotos");
    if (ids) remote(...(cmd === "ps" ? ["rm", "-f", "-v"] : [cmd, "rm"]), ...ids.split("\n"));
  }
}

/** A PromQL query's series (labels and value), read inside the test host's Prometheus container `prometheus`. */
export const promQuery = (prometheus: string, promql: string): Series[] => queryProm(remote, prometheus, promql);

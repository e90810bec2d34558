/**
 * CPU groups for the test engines' containers. On this machine (cgroup v1, the cgroupfs driver)
 * every dockerd puts its containers under /docker: all the test hosts' and the swarm's containers
 * together would weigh as much as one busy process, and under CI (nine jest processes, eleven
 * engines, two cores) the stand-ins answered trivial requests in seconds and health checks timed
 * out. So each engine's containers get a group of their own, `/<name>` beside /docker, weighted
 * (`cpu.shares`) over a busy process: a test host's containers get their share whatever the other
 * suites do, and the jest processes (the unit tests among them) take what the containers leave.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ok } from "./processes";

const CGROUP_V1 = "/sys/fs/cgroup";

/** A test host's containers' weight: twice a busy process at nice 0. */
export const TEST_HOST_SHARES = 2048;

/**
 * Makes the CPU group `/<name>` with `shares` (idempotent) and returns the dockerd flags that put
 * the engine's containers in it; none where there is no cgroup v1 cpu controller (they stay in the
 * engine's default group).
 */
export function cpuGroupArgs(name: string, shares: number): string[] {
  const cpu = path.join(CGROUP_V1, "cpu");
  if (!fs.existsSync(path.join(cpu, "cpu.shares"))) return [];
  fs.mkdirSync(path.join(cpu, name), { recursive: true });
  fs.writeFileSync(path.join(cpu, name, "cpu.shares"), String(shares));
  return ["--cgroup-parent", `/${name}`];
}

/** The group's folder under every controller (runc made them; empty once the engine is gone). */
export function removeCpuGroup(name: string): void {
  if (!fs.existsSync(CGROUP_V1)) return;
  for (const controller of fs.readdirSync(CGROUP_V1)) {
    const dir = path.join(CGROUP_V1, controller, name);
    if (fs.existsSync(dir)) ok("rmdir", [dir]);
  }
}

/** The CPU cgroup process `pid` is in, without its own folder (a container's: its engine's group). */
export function cpuGroupOfPid(pid: string | number): string {
  const cpu = fs
    .readFileSync(`/proc/${pid}/cgroup`, "utf8")
    .split("\n")
    .find((l) => /^\d+:(?:[^:]*,)?cpu(?:,[^:]*)?:/.test(l));
  return path.dirname(cpu?.split(":")[2] ?? "(no cpu controller)");
}

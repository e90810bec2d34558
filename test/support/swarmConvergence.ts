/**
 * When the test executor counts a swarm service as converged: the docker provider's rule (its
 * converge check imitates `docker service create/update` without --detach). Tasks are read with
 * desired state running. Each slot counts once, by the task the provider picks for it: the lowest
 * desired state, ties to the least advanced observed state; tasks on Down nodes are left out. A
 * replicated service has converged when as many slots run as it has replicas. So two running
 * tasks in one slot (swarmkit keeps them at times after a node returns) count as one, as the
 * provider and `docker service ls` count them; a global service has one task per node and every
 * one of them must run.
 */

/** The Engine API's task as the count reads it. */
export interface SwarmTask {
  NodeID?: string;
  Slot?: number;
  CreatedAt?: string;
  DesiredState?: string;
  Status: { State: string; Err?: string };
}

/** Task states in the order a task walks them (swarmkit's numbering; unknown ones are left out). */
const ORDER = [
  "new",
  "allocated",
  "pending",
  "assigned",
  "accepted",
  "preparing",
  "ready",
  "starting",
  "running",
  "complete",
  "shutdown",
  "failed",
  "rejected",
  "remove",
  "orphaned",
];
const rank = (state: string | undefined): number => ORDER.indexOf(state ?? "") + 1;

/** The one task the provider counts for each slot, on nodes that are not Down. */
export function tasksBySlot(tasks: SwarmTask[], activeNodes: ReadonlySet<string>): Map<number, SwarmTask> {
  const bySlot = new Map<number, SwarmTask>();
  for (const t of tasks) {
    if (rank(t.DesiredState) === 0 || rank(t.Status.State) === 0) continue;
    if (t.NodeID && !activeNodes.has(t.NodeID)) continue;
    const slot = t.Slot ?? 0;
    const held = bySlot.get(slot);
    if (held) {
      if (rank(held.DesiredState) < rank(t.DesiredState)) continue;
      if (rank(held.DesiredState) === rank(t.DesiredState) && rank(held.Status.State) <= rank(t.Status.State)) continue;
    }
    bySlot.set(slot, t);
  }
  return bySlot;
}

/** Each task for a message: its node, slot, creation time, state and error. */
export function describeTasks(tasks: SwarmTask[]): string {
  const each = tasks.map(
    (t) =>
      `node ${(t.NodeID ?? "none").slice(0, 12)} slot ${t.Slot ?? "-"} made ${t.CreatedAt?.slice(11, 19) ?? "-"} ${t.Status.State}${t.Status.Err ? ` (${t.Status.Err})` : ""}`,
  );
  return each.join(", ") || "none";
}

/**
 * Undefined when the service has converged; else how far it is (`1 of 2 running`) and every task
 * read, for the error (slot and creation time tell a task kept from before an update).
 * `replicas` is undefined for a global service.
 */
export function unconvergedReason(tasks: SwarmTask[], activeNodes: ReadonlySet<string>, replicas: number | undefined): string | undefined {
  const isRunning = (t: SwarmTask) => t.Status.State === "running" && rank(t.DesiredState) <= rank("running");
  if (replicas === undefined) {
    const counted = tasks.filter((t) => !t.NodeID || activeNodes.has(t.NodeID));
    const running = counted.filter(isRunning).length;
    if (counted.length > 0 && running === counted.length) return undefined;
    return `${running} of ${counted.length} running; tasks: ${describeTasks(tasks)}`;
  }
  const running = [...tasksBySlot(tasks, activeNodes).values()].filter(isRunning).length;
  if (running === replicas) return undefined;
  return `${running} of ${replicas} running; tasks: ${describeTasks(tasks)}`;
}

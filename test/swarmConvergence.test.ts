/**
 * The test executor's count of a converged swarm service (the docker provider's rule), on task
 * lists as the Engine API returns them: the duplicate slots seen after a node's return, a
 * start-first update half done, tasks on a Down node, a global service.
 */
import { type SwarmTask, tasksBySlot, unconvergedReason } from "./support/swarmConvergence";

const task = (node: string, slot: number, state: string, made = "2026-12-07T23:44:29.1Z", desired = "running"): SwarmTask => ({
  NodeID: node,
  Slot: slot,
  CreatedAt: made,
  DesiredState: desired,
  Status: { State: state },
});
const ALL = new Set(["n1", "n2", "n3"]);

test("two running tasks in each of two slots (the CI failure's list) count as 2 of 2, as the provider counts them", () => {
  const tasks = [
    task("n2", 2, "running", "2026-12-07T23:44:56.0Z"),
    task("n1", 1, "running", "2026-12-07T23:44:48.0Z"),
    task("n3", 2, "running", "2026-12-07T23:44:56.5Z"),
    task("n3", 1, "running", "2026-12-07T23:44:29.0Z"),
  ];
  expect([...tasksBySlot(tasks, ALL).keys()].sort()).toEqual([1, 2]);
  expect(unconvergedReason(tasks, ALL, 2)).toBeUndefined();
});

test("a start-first update half done: the slot counts by its new task, still starting, so 1 of 2", () => {
  const tasks = [task("n1", 1, "running"), task("n2", 2, "running"), task("n3", 2, "starting", "2026-12-07T23:45:01.0Z")];
  expect(tasksBySlot(tasks, ALL).get(2)?.NodeID).toBe("n3");
  expect(unconvergedReason(tasks, ALL, 2)).toBe(
    "1 of 2 running; tasks: node n1 slot 1 made 23:44:29 running, node n2 slot 2 made 23:44:29 running, node n3 slot 2 made 23:45:01 starting",
  );
});

test("a slot's task on a Down node is not counted, and a failed task names its error", () => {
  const tasks = [
    task("n1", 1, "running"),
    task("n3", 2, "running"),
    { ...task("n2", 3, "failed"), Status: { State: "failed", Err: "task: non-zero exit (1)" } },
  ];
  const up = new Set(["n1", "n2"]);
  expect([...tasksBySlot(tasks, up).keys()]).toEqual([1, 3]);
  expect(unconvergedReason(tasks, up, 2)).toBe(
    "1 of 2 running; tasks: node n1 slot 1 made 23:44:29 running, node n3 slot 2 made 23:44:29 running, node n2 slot 3 made 23:44:29 failed (task: non-zero exit (1))",
  );
  expect(unconvergedReason(tasks.slice(0, 2), ALL, 2)).toBeUndefined();
});

test("fewer running than replicas, or none at all, is not converged", () => {
  expect(unconvergedReason([task("n1", 1, "running")], ALL, 2)).toBe("1 of 2 running; tasks: node n1 slot 1 made 23:44:29 running");
  expect(unconvergedReason([], ALL, 1)).toBe("0 of 1 running; tasks: none");
});

test("a global service: every task on a node that is up must run", () => {
  const tasks = [task("n1", 0, "running"), task("n2", 0, "preparing"), task("n3", 0, "running")];
  expect(unconvergedReason(tasks, ALL, undefined)).toBe(
    "2 of 3 running; tasks: node n1 slot 0 made 23:44:29 running, node n2 slot 0 made 23:44:29 preparing, node n3 slot 0 made 23:44:29 running",
  );
  expect(unconvergedReason(tasks, new Set(["n1", "n3"]), undefined)).toBeUndefined();
  expect(unconvergedReason([], ALL, undefined)).toBe("0 of 0 running; tasks: none");
});

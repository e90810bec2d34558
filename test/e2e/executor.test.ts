/**
 * The test executor's engine rules on small hand-made graphs, against the real test host: Command
 * replacements by trigger (the new create first, the old delete at the end), updates, failed
 * creates left out of the state, create-before-delete meeting a fixed name, delete-before-replace
 * stopping with the grace period, a container whose wait failed kept in the state, deletes of a
 * failed update waiting for the next successful one, and independent steps running together.
 */
import type { ProgramRun, RecordedOptions } from "../../scripts/mockRuntime/harness";
import { runOnHost } from "../../scripts/stack/hostExec";
import { applyGraph, ApplyError, ExecState } from "../support/executor";
import { graphOf, recorded } from "../support/program";
import { busyboxImage } from "../support/testImages";
import { requireTestHost } from "../support/testHost";

jest.setTimeout(180_000);

const host = requireTestHost();
const engine = { dockerArgs: ["-H", `unix://${host.remoteSocket}`], ssh: host.target };
const IMAGE = "cpt-exec:1";
const CMD = "command:remote:Command";
const CONTAINER = "docker:index/container:Container";
const VOLUME = "docker:index/volume:Volume";

const onHost = async (script: string) => (await runOnHost(host.target, script, "")).stdout.trim();
const docker = (...args: string[]) => onHost(["docker", ...args.map((a) => `'${a}'`)].join(" ") + " 2>&1 || true");
const apply = (run: ProgramRun, state: ExecState) => applyGraph(run, engine, state, () => undefined, undefined, { seed: 1 });
const logLines = () => onHost("cat ~/exec-rules.log 2>/dev/null || true").then((t) => t.split("\n").filter(Boolean));

beforeAll(async () => {
  // TERM is trapped: a graceful stop leaves a mark in the volume, a kill does not.
  busyboxImage(engine.dockerArgs, IMAGE, {
    cmd: ["sh", "-c", "trap 'echo stopped-gracefully > /data/mark; exit 0' TERM; while :; do sleep 1; done"],
  });
  await onHost("rm -f ~/exec-rules.log");
});

afterAll(async () => {
  await onHost(
    "docker ps -aq --filter label=cpt-exec=1 | xargs -r docker rm -f >/dev/null; docker volume rm cpt-exec-data >/dev/null 2>&1; rm -f ~/exec-rules.log; true",
  );
});

const logCmd = (name: string, v: string, triggers: string[] = [v], opts: Partial<RecordedOptions> = {}, deps: string[] = []) =>
  recorded(CMD, name, { create: `echo create-${v} >> ~/exec-rules.log`, delete: `echo delete-${v} >> ~/exec-rules.log`, triggers }, opts, deps);

test("a triggers change replaces a Command: its new create runs now, the old resource's delete at the end; another input change runs only the update", async () => {
  const state = new ExecState();
  await apply(graphOf(logCmd("job", "1")), state);
  const steps = await apply(graphOf(logCmd("job", "2")), state);
  expect(steps.filter((s) => s.action !== "same").map((s) => `${s.action} ${s.name}`)).toEqual(["replace job", "delete job"]);
  expect(await logLines()).toEqual(["create-1", "create-2", "delete-1"]);
  // Same triggers, another script: an update (`update ?? create`), nothing deleted.
  const changed = recorded(CMD, "job", { create: "echo create-3 >> ~/exec-rules.log", delete: "echo delete-3 >> ~/exec-rules.log", triggers: ["2"] });
  expect((await apply(graphOf(changed), state)).map((s) => `${s.action} ${s.name}`)).toEqual(["update job"]);
  expect((await apply(graphOf(changed), state)).map((s) => `${s.action} ${s.name}`)).toEqual(["same job"]);
  // No longer declared: its (last applied) delete runs.
  await apply(graphOf(), state);
  expect(await logLines()).toEqual(["create-1", "create-2", "delete-1", "create-3", "delete-3"]);
  await onHost("rm -f ~/exec-rules.log");
});

test("a failed create is not recorded: the next run creates it again; a failed update keeps the previous state", async () => {
  const state = new ExecState();
  const failing = recorded(CMD, "once", { create: "echo broken >&2; exit 3", triggers: ["a"] });
  const error = await apply(graphOf(failing), state).catch((e: Error) => e);
  expect(error).toBeInstanceOf(ApplyError);
  expect((error as Error).message).toBe("once: command failed (exit 3):\nbroken\n[executor seed 1]");
  expect(state.resources.size).toBe(0);
  const fixed = recorded(CMD, "once", { create: "true", triggers: ["a"] });
  expect((await apply(graphOf(fixed), state)).map((s) => `${s.action} ${s.name}`)).toEqual(["create once"]);
  const badUpdate = recorded(CMD, "once", { create: "exit 4", triggers: ["a"] });
  await expect(apply(graphOf(badUpdate), state)).rejects.toThrow("once: command failed (exit 4)");
  expect(state.resources.get(`${CMD}::once`)?.inputs.create).toBe("true");
  // Diffed against the state it last reached: the update runs again.
  await expect(apply(graphOf(badUpdate), state)).rejects.toThrow("once: command failed (exit 4)");
});

const box = (name: string, env: string, opts: Partial<RecordedOptions> = {}, extra: Record<string, unknown> = {}) =>
  recorded(
    CONTAINER,
    "box",
    {
      name,
      image: IMAGE,
      envs: [`V=${env}`],
      labels: [{ label: "cpt-exec", value: "1" }],
      volumes: [{ volumeName: "cpt-exec-data", containerPath: "/data" }],
      destroyGraceSeconds: 10,
      ...extra,
    },
    opts,
    ["data"],
  );
const data = recorded(VOLUME, "data", { name: "cpt-exec-data" }, { retainOnDelete: true });

test("create-before-delete meets a fixed name and fails as the engine does; deleteBeforeReplace stops the old one with its grace period first", async () => {
  const state = new ExecState();
  await apply(graphOf(data, box("cpt-exec-fixed", "1")), state);
  const error = await apply(graphOf(data, box("cpt-exec-fixed", "2")), state).catch((e: Error) => e);
  expect((error as Error).message).toContain(
    'box: docker create --name failed: Error response from daemon: Conflict. The container name "/cpt-exec-fixed" is already in use',
  );
  expect(await docker("inspect", "--format", "{{.State.Running}} {{json .Config.Env}}", "cpt-exec-fixed")).toContain('true ["V=1"');
  const steps = await apply(graphOf(data, box("cpt-exec-fixed", "2", { deleteBeforeReplace: true })), state);
  expect(steps.map((s) => `${s.action} ${s.name}`)).toEqual(expect.arrayContaining(["replace box"]));
  expect(await docker("inspect", "--format", "{{json .Config.Env}}", "cpt-exec-fixed")).toContain('["V=2"');
  // Stopped, not killed: its TERM trap wrote the mark.
  expect(await docker("exec", "cpt-exec-fixed", "cat", "/data/mark")).toBe("stopped-gracefully");
  // The volume is retained: no longer declared, it is forgotten, not removed.
  await apply(graphOf(), state);
  expect(await docker("volume", "ls", "-q", "--filter", "name=^cpt-exec-data$")).toBe("cpt-exec-data");
  await docker("volume", "rm", "cpt-exec-data");
});

test("a renamed container is created beside the old one; when a later step fails the old one stays until the next successful update deletes it", async () => {
  const state = new ExecState();
  await apply(graphOf(data, box("cpt-exec-a", "1")), state);
  const gate = (ok: boolean) => recorded(CMD, "gate", { create: ok ? "true" : "exit 5", triggers: [`${ok}`] }, {}, ["box"]);
  const failed = await apply(graphOf(data, box("cpt-exec-b", "2"), gate(false)), state).catch((e: Error) => e);
  expect(failed).toBeInstanceOf(ApplyError);
  expect(await docker("inspect", "--format", "{{.State.Running}}", "cpt-exec-a")).toBe("true");
  expect(await docker("inspect", "--format", "{{.State.Running}}", "cpt-exec-b")).toBe("true");
  expect(state.pendingDeletes.map((e) => e.live.name)).toEqual(["cpt-exec-a"]);
  const steps = await apply(graphOf(data, box("cpt-exec-b", "2"), gate(true)), state);
  expect(steps.filter((s) => s.action !== "same").map((s) => `${s.action} ${s.name}`)).toEqual(["create gate", "delete cpt-exec-a"]);
  expect(await docker("inspect", "cpt-exec-a")).toContain("No such object");
  expect(state.pendingDeletes).toEqual([]);
  await apply(graphOf(), state);
  await docker("volume", "rm", "cpt-exec-data");
});

test("a container whose wait failed is in the state (an initialization error): the next unchanged run updates it instead of creating another", async () => {
  const state = new ExecState();
  const sick = box("cpt-exec-sick", "1", {}, { wait: true, waitTimeout: 3, healthcheck: { tests: ["CMD-SHELL", "false"], interval: "1s", retries: 1 } });
  const error = await apply(graphOf(data, sick), state).catch((e: Error) => e);
  expect((error as Error).message).toContain("box: container cpt-exec-sick was not healthy within 3s");
  expect(state.resources.get(`${CONTAINER}::box`)?.initError).toContain("not healthy");
  const id = await docker("inspect", "--format", "{{.Id}}", "cpt-exec-sick");
  const steps = await apply(graphOf(data, sick), state);
  expect(steps.filter((s) => s.action !== "same").map((s) => `${s.action} ${s.name}`)).toEqual(["update box"]);
  expect(await docker("inspect", "--format", "{{.Id}}", "cpt-exec-sick")).toBe(id);
  expect(state.resources.get(`${CONTAINER}::box`)?.initError).toBeUndefined();
  await apply(graphOf(), state);
  await docker("volume", "rm", "cpt-exec-data");
});

test("independent steps run at the same time; a dependent one waits for both", async () => {
  const state = new ExecState();
  // Each records when it started and ended on the host: overlap is judged by those, not by the test's clock (a loaded machine connects late).
  const sleeper = (name: string) => recorded(CMD, name, { create: `date +%s.%N > ~/exec-${name}; sleep 2; date +%s.%N >> ~/exec-${name}`, triggers: ["1"] });
  const after = recorded(CMD, "after", { create: "date +%s.%N > ~/exec-after", triggers: ["1"] }, {}, ["s1", "s2"]);
  await apply(graphOf(sleeper("s1"), sleeper("s2"), after), state);
  const read = async (f: string) => (await onHost(`cat ~/exec-${f}; rm -f ~/exec-${f}`)).split("\n").map(Number);
  const [[start1, end1], [start2, end2], [last]] = [await read("s1"), await read("s2"), await read("after")];
  // Both ran at once: each started before the other ended.
  expect(start1).toBeLessThan(end2);
  expect(start2).toBeLessThan(end1);
  expect(last).toBeGreaterThanOrEqual(Math.max(end1, end2));
});

test("killed after an update finished (a pending update): the state keeps the inputs from before, so the next run updates again", async () => {
  const state = new ExecState();
  const job = (v: string) => recorded(CMD, "job", { create: `echo run-${v} >> ~/exec-rules.log`, triggers: ["fixed"] });
  await apply(graphOf(job("1")), state);
  const killed = await applyGraph(graphOf(job("2")), engine, state, () => undefined, undefined, { seed: 1, killAfter: { step: "job", op: "update" } }).catch(
    (e: Error) => e,
  );
  expect((killed as Error).message).toMatch(/^job: pulumi up killed \(SIGKILL\) after job's update finished, before the state recorded it/);
  expect(state.resources.get(`${CMD}::job`)?.inputs.create).toBe("echo run-1 >> ~/exec-rules.log");
  expect((await apply(graphOf(job("2")), state)).map((s) => `${s.action} ${s.name}`)).toEqual(["update job"]);
  expect(await logLines()).toEqual(["run-1", "run-2", "run-2"]);
  await onHost("rm -f ~/exec-rules.log");
});

test("a container gone from the engine fails its delete, as the provider's stop does; killed after a delete (a pending delete) ends the same way; pulumi refresh drops it and the next run converges", async () => {
  const state = new ExecState();
  await apply(graphOf(data, box("cpt-exec-p1", "1")), state);
  // A pending delete: the replaced container is removed, the kill comes before the state forgets it.
  const killed = await applyGraph(graphOf(data, box("cpt-exec-p2", "2")), engine, state, () => undefined, undefined, {
    seed: 1,
    killAfter: { step: "box", op: "delete" },
  }).catch((e: Error) => e);
  expect((killed as Error).message).toMatch(/^box: delete failed: pulumi up killed \(SIGKILL\) after box's delete finished/);
  expect(await docker("inspect", "cpt-exec-p1")).toContain("No such object");
  expect(state.pendingDeletes.map((e) => e.live.name)).toEqual(["cpt-exec-p1"]);
  const again = await apply(graphOf(data, box("cpt-exec-p2", "2")), state).catch((e: Error) => e);
  expect((again as Error).message).toMatch(/^box: delete failed: Error stopping container [0-9a-f]{64}: docker stop -t failed: .*No such container/);
  // The same for a container someone removed by hand.
  await docker("rm", "-f", "cpt-exec-p2");
  const { refreshState } = await import("../support/executor");
  expect(await refreshState(state, engine)).toEqual(["box", "box"]);
  expect(state.pendingDeletes).toEqual([]);
  const steps = await apply(graphOf(data, box("cpt-exec-p2", "2")), state);
  expect(steps.filter((s) => s.action !== "same").map((s) => `${s.action} ${s.name}`)).toEqual(["create box"]);
  await apply(graphOf(), state);
  await docker("volume", "rm", "cpt-exec-data");
});

test("a local Command runs its interpreter with the script last and its environment added, where the rig says this machine is", async () => {
  const state = new ExecState();
  const local = recorded("command:local:Command", "here", {
    create: `echo "$0 $GREETING"; ip -4 -o addr | grep -qF ' ${host.target.address}/' && echo "in the test host's namespace"`,
    interpreter: ["/bin/bash", "-c"],
    environment: { GREETING: "hello" },
    triggers: ["1"],
  });
  const netns = (await import("../support/testHost")).NETNS;
  const steps = await applyGraph(graphOf(local), { ...engine, local: { netns } }, state, () => undefined, undefined, { seed: 1 });
  expect(steps[0].output).toBe("/bin/bash hello\nin the test host's namespace\n");
});

test("--target: only the targeted resource changes; the others keep their state, a new one is not created, a target that needs it fails before it runs, deletes wait", async () => {
  const state = new ExecState();
  const targeted = (run: ProgramRun, targets: string[]) => applyGraph(run, engine, state, () => undefined, undefined, { seed: 1, targets });
  const acted = (steps: { action: string; name: string }[]) => steps.map((s) => `${s.action} ${s.name}`).sort();
  await apply(graphOf(logCmd("a", "a1"), logCmd("b", "b1", ["b1"], {}, ["a"]), logCmd("gone", "g1")), state);
  await onHost("rm -f ~/exec-rules.log");
  // a and b changed, c and d (d needs c) are new, gone is no longer declared: only b is targeted.
  const next = [logCmd("a", "a2"), logCmd("b", "b2", ["b2"], {}, ["a"]), logCmd("c", "c1"), logCmd("d", "d1", ["d1"], {}, ["c"])];
  expect(acted(await targeted(graphOf(...next), ["b"]))).toEqual(["delete b", "replace b", "same a"]);
  expect(await logLines()).toEqual(["create-b2", "delete-b1"]);
  expect([...state.resources.values()].map((e) => `${e.name} ${String(e.inputs.create)}`).sort()).toEqual([
    "a echo create-a1 >> ~/exec-rules.log",
    "b echo create-b2 >> ~/exec-rules.log",
    "gone echo create-g1 >> ~/exec-rules.log",
  ]);
  // d needs c, which exists nowhere and is not targeted: the engine's untargeted create, d never runs.
  const error = await targeted(graphOf(...next), ["d"]).catch((e: Error) => e);
  expect((error as Error).message).toMatch(/^d: Resource 'd' depends on 'c' which was not specified in --target list\./);
  expect(await logLines()).toEqual(["create-b2", "delete-b1"]);
  // Without --target everything converges, and what is no longer declared goes last.
  expect(acted(await apply(graphOf(...next), state))).toEqual(["create c", "create d", "delete gone", "replace a", "same b"].concat("delete a").sort());
  expect(await logLines()).toEqual(expect.arrayContaining(["create-a2", "create-c1", "create-d1", "delete-g1", "delete-a1"]));
  await apply(graphOf(), state);
  await onHost("rm -f ~/exec-rules.log");
});

/**
 * The test executor's engine rules that need no engine: the scheduler (dependencies, concurrency,
 * seeds, stopping after a failure), the providers' diff rules, and the dependencies the harness
 * records from the program's own registrations.
 */
import { dependenciesOf } from "./support/executor";
import { changedKeys, diffResource } from "./support/engine/diff";
import { executorSeed, GraphStep, runSteps, seededRandom } from "./support/engine/schedule";
import { graphOf, recorded, runStack } from "./support/program";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Steps that log when they start and end, each taking `ms`. */
function logged(spec: Record<string, string[]>, ms = 20, fail: string[] = []) {
  const events: string[] = [];
  const steps: GraphStep[] = Object.entries(spec).map(([key, deps]) => ({
    key,
    deps,
    run: async () => {
      events.push(`start ${key}`);
      await sleep(ms);
      events.push(`end ${key}`);
      if (fail.includes(key)) throw new Error(`${key} broke`);
    },
  }));
  return { events, steps };
}

describe("the scheduler", () => {
  test("a step starts only after every step it depends on has ended", async () => {
    const { events, steps } = logged({ a: [], b: ["a"], c: ["a", "b"], d: [] });
    const run = await runSteps(steps, 1);
    expect(run.done.sort()).toEqual(["a", "b", "c", "d"]);
    expect(events.indexOf("start b")).toBeGreaterThan(events.indexOf("end a"));
    expect(events.indexOf("start c")).toBeGreaterThan(events.indexOf("end b"));
  });

  test("independent steps run at the same time", async () => {
    const { steps } = logged({ a: [], b: [], c: [], d: ["a"] }, 200);
    const started = Date.now();
    const run = await runSteps(steps, 7);
    expect(run.maxConcurrent).toBe(3);
    // Three at once, then d: two step lengths, not four.
    expect(Date.now() - started).toBeLessThan(600);
    expect(await runSteps(logged({ a: [], b: [], c: [] }).steps, 7, 1).then((r) => r.maxConcurrent)).toBe(1);
  });

  test("the order among ready steps comes from the seed: the same seed replays it, other seeds change it", async () => {
    const wide = () => logged(Object.fromEntries("abcdefgh".split("").map((k) => [k, []])), 1).steps;
    const order = async (seed: number) => (await runSteps(wide(), seed, 1)).done.join("");
    expect(await order(42)).toBe(await order(42));
    const orders = new Set<string>();
    for (let seed = 0; seed < 20; seed++) orders.add(await order(seed));
    expect(orders.size).toBeGreaterThan(10);
    expect(seededRandom(5)()).toBe(seededRandom(5)());
  });

  test("after a failure the steps already running finish and no other step starts", async () => {
    const { events, steps } = logged({ a: [], slow: [], b: ["a"], c: [] }, 30, ["a"]);
    // slow takes longer than a: it is running when a fails, and must still end.
    steps[1].run = async () => {
      events.push("start slow");
      await sleep(120);
      events.push("end slow");
    };
    const run = await runSteps(steps, 3, 2);
    expect(run.failed?.key).toBe("a");
    expect(run.failed?.error.message).toBe("a broke");
    expect(events).toContain("end slow");
    expect(events).not.toContain("start b");
    expect(run.notStarted).toContain("b");
  });

  test("EXECUTOR_SEED replays a run; anything but a whole number is refused by name", () => {
    expect(executorSeed({ EXECUTOR_SEED: "1234" })).toBe(1234);
    expect(() => executorSeed({ EXECUTOR_SEED: "12x" })).toThrow('EXECUTOR_SEED must be a whole number, not "12x"');
    expect(Number.isInteger(executorSeed({}))).toBe(true);
  });

  test("steps that wait on each other in a cycle are an error, not a hang", async () => {
    await expect(runSteps(logged({ a: ["b"], b: ["a"] }).steps, 1)).rejects.toThrow("steps wait on each other in a cycle: a, b");
  });
});

describe("the providers' diff rules", () => {
  const CMD = "command:remote:Command";
  const CONTAINER = "docker:index/container:Container";
  test.each([
    [CMD, { create: "a", triggers: ["1"] }, { create: "a", triggers: ["1"] }, "same"],
    [CMD, { create: "a", triggers: ["1"] }, { create: "b", triggers: ["1"] }, "update"],
    [CMD, { create: "a", stdin: "x", triggers: ["1"] }, { create: "a", stdin: "y", triggers: ["1"] }, "update"],
    [CMD, { create: "a", triggers: ["1"] }, { create: "a", triggers: ["2"] }, "replace"],
    [CONTAINER, { image: "i", memory: 256 }, { image: "i", memory: 512 }, "update"],
    [CONTAINER, { image: "i", restart: "no" }, { image: "i", restart: "unless-stopped" }, "update"],
    [CONTAINER, { image: "i", wait: true }, { image: "i", wait: false }, "update"],
    [CONTAINER, { image: "i", destroyGraceSeconds: 10 }, { image: "i", destroyGraceSeconds: 60 }, "update"],
    [CONTAINER, { image: "i", envs: ["A=1"] }, { image: "i", envs: ["A=2"] }, "replace"],
    [CONTAINER, { image: "i" }, { image: "j" }, "replace"],
    ["docker:index/volume:Volume", { name: "v", labels: [] }, { name: "v", labels: [{ label: "a", value: "b" }] }, "replace"],
    ["docker:index/network:Network", { name: "n", driver: "bridge" }, { name: "n", driver: "overlay" }, "replace"],
    ["docker:index/remoteImage:RemoteImage", { name: "a:1", keepLocally: true }, { name: "a:1", keepLocally: false }, "update"],
    ["docker:index/remoteImage:RemoteImage", { name: "a:1" }, { name: "a:2" }, "replace"],
    ["docker:index/service:Service", { name: "s", taskSpec: { a: 1 } }, { name: "s", taskSpec: { a: 2 } }, "update"],
    ["docker:index/secret:Secret", { name: "s", data: "x" }, { name: "s", data: "y" }, "replace"],
    ["random:index/randomPassword:RandomPassword", { length: 32 }, { length: 40 }, "replace"],
  ])("%s %j → %j: %s", (type, olds, news, change) => {
    expect(diffResource(type, olds, news).change).toBe(change);
  });

  test("ignoreChanges keys never count, and the changed keys are named", () => {
    expect(changedKeys({ a: 1, b: 2, c: 3 }, { a: 1, b: 3, c: 4 }, ["c"])).toEqual(["b"]);
    expect(diffResource("aws:ec2/instance:Instance", { ami: "1" }, { ami: "2" }, ["ami"])).toEqual({ change: "same", keys: [] });
  });
});

describe("dependencies, as the engine sees them", () => {
  const res = (name: string, deps: string[], parent?: string) => recorded("t", name, {}, { parent }, deps);

  test("a resource waits for its own dependencies and for those of every parent above it", () => {
    const run = graphOf(res("comp", ["x"]), res("inner", ["y"], "comp"), res("leaf", ["z"], "inner"), res("x", []), res("y", []), res("z", []));
    const deps = dependenciesOf(run);
    expect(deps.get("leaf")?.sort()).toEqual(["x", "y", "z"]);
    expect(deps.get("x")).toEqual([]);
  });

  test("the program's registrations carry their Output inputs, dependsOn (components expanded) and provider", async () => {
    const run = await runStack("staging");
    const deps = dependenciesOf(run);
    const of = (name: string) => deps.get(name) ?? [];
    // An Output input: the route switch reads the new API container's name and the proxy's ID.
    expect(of("copilotos-api-route-switch")).toEqual(
      expect.arrayContaining(["copilotos-api-ready-wait", "copilotos-proxy-container", "copilotos-api-container"]),
    );
    // dependsOn a component (the API's roll-out) stands for its children: the web waits for the API's health gate.
    const web = run.resources.find((r) => r.name === "copilotos-web-container")!;
    expect(of(web.name)).toEqual(expect.arrayContaining(["copilotos-api-health-wait", "copilotos-preflight-check"]));
    // Every Docker resource waits for its provider.
    const provider = run.resources.find((r) => r.type === "pulumi:providers:docker")!;
    expect(of(web.name)).toContain(provider.name);
    // No resource depends on itself or on a name the graph does not have (default providers are the engine's own).
    const names = new Set(run.resources.map((r) => r.name));
    for (const [name, list] of deps) for (const d of list) expect(`${name} → ${d}: ${names.has(d) && d !== name}`).toBe(`${name} → ${d}: true`);
  });
});

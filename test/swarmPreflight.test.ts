/**
 * The swarm's pre-flight: the program runs it through the manager before anything of the stack is
 * created or changed (mock runtime, the engine's dependency rules), and its script, run by sh against
 * a stand-in `docker`, lists every problem and exits 1, or says ok. The real swarm runs it in
 * test/e2e/swarm.test.ts.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describedScript } from "../components/renderers/shell";
import { swarmPreflightScript, SwarmPreflightSpec } from "../components/renderers/swarm/preflight";
import { dependenciesOf } from "./support/executor";
import { runStack } from "./support/program";
import { withDocker } from "./support/standInDocker";

const ID = { project: "copilotos", stack: "swarm" };
const SPEC: SwarmPreflightSpec = {
  identity: ID,
  nodes: [
    { name: "node-1", role: "manager", edge: true },
    { name: "node-2", role: "worker", edge: true },
    { name: "node-3", role: "worker", edge: false },
  ],
  dataNode: "node-1",
  ports: [3000, 8001],
  services: ["copilotos-swarm-mongo", "copilotos-swarm-api"],
  network: "copilotos-swarm",
  minFreeMb: 2048,
  tools: ["tar"],
};

describe("in the program", () => {
  test("it runs first: every docker resource and host step of the stack waits for it (its own and its parents' dependencies, transitively)", async () => {
    const run = await runStack("swarm", ["copilotos:monitoring.enabled=true"], [], path.join(__dirname, "fixtures"));
    const check = run.resources.find((r) => r.name === "copilotos-preflight-check")!;
    expect(check.inputs.create).toBe(
      describedScript(
        "preflight: read-only checks through the manager: 3 nodes in the swarm with their roles (data node node-1 ready), ports 3000,8001 published by no other service, 10 services and network copilotos-swarm not another's, 2048 MiB free on the data node",
        swarmPreflightScript({
          ...SPEC,
          services: ["mongo", "redis", "api", "web", "proxy", "prometheus", "alertmanager", "blackbox", "node-exporter", "redis-exporter"].map(
            (s) => `copilotos-swarm-${s}`,
          ),
          tools: ["tar", "sha256sum"],
        }),
      ),
    );
    const deps = dependenciesOf(run);
    const closure = (name: string, seen = new Set<string>()): Set<string> => {
      for (const d of deps.get(name) ?? []) if (!seen.has(d)) closure(d, seen.add(d));
      return seen;
    };
    const changes = run.resources.filter(
      (r) =>
        /^docker:index\/(service|secret|serviceConfig|network|remoteImage):/.test(r.type) ||
        (r.type === "command:remote:Command" && r.name !== "copilotos-preflight-check" && !r.name.startsWith("copilotos-offsite")),
    );
    expect(changes.length).toBeGreaterThan(30);
    expect(changes.filter((r) => !closure(r.name).has("copilotos-preflight-check")).map((r) => r.name)).toEqual([]);
    // And it waits for nothing of the stack but the connection.
    expect([...closure("copilotos-preflight-check")].filter((d) => !/host|provider/.test(d))).toEqual([]);
  });
});

describe("against a stand-in docker", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "cpt-swarm-pf-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** The swarm as the stand-in describes it: each node's `role state availability`, the services and their ports. */
  const preflight = (
    o: { nodes?: Record<string, string>; self?: string; others?: string; serviceLabels?: string; networkLabels?: string; freeKb?: number } = {},
  ) => {
    const nodes = { "node-1": "manager ready active", "node-2": "worker ready active", "node-3": "worker ready active", ...o.nodes };
    // df's answer: the data node's Docker root and its free KiB.
    fs.writeFileSync(
      path.join(dir, "df"),
      `#!/bin/sh\necho 'Filesystem 1024-blocks Used Available Capacity Mounted'\necho "/dev/x 1 1 ${o.freeKb ?? 10_000_000} 1% /"\n`,
      {
        mode: 0o755,
      },
    );
    return withDocker(dir, swarmPreflightScript(SPEC), [
      `  'info --format') case "$*" in *ControlAvailable*) echo true ;; *DockerRootDir*) echo /var/lib/docker ;; *) echo '${o.self ?? "node-1"}' ;; esac ;;`,
      `  'node inspect') case "$*" in ${Object.entries(nodes)
        .filter(([, v]) => v)
        .map(([n, v]) => `*" ${n}") echo '${v}' ;;`)
        .join(" ")} *) exit 1 ;; esac ;;`,
      // Two services of the stack (s1, s2) and one of another (x9), which publishes `others`.
      `  'service ls') case "$*" in *label=*) printf 's1\\ns2\\n' ;; *) printf 's1\\ns2\\nx9\\n' ;; esac ;;`,
      `  'service inspect') case "$*" in *PublishedPort*) case "$*" in *x9) echo '${o.others ?? "80 "}' ;; *) echo '3000 8001 ' ;; esac ;; *Spec.Name*) echo intruder ;; *copilotos-swarm-api) echo '${o.serviceLabels ?? "copilotos/swarm"}' ;; *copilotos-swarm-mongo) exit 1 ;; *) echo copilotos/other ;; esac ;;`,
      `  'network inspect') ${o.networkLabels === undefined ? "exit 1" : `echo '${o.networkLabels}'`} ;;`,
      "  'ps --filter') case \"$*\" in *publish=8001*) echo 'copilotos-swarm-proxy.abc|copilotos/swarm' ;; esac ;;",
    ]);
  };

  test("a swarm as the config says: ok, and what it only says (a worker down, another node's disk)", () => {
    const r = preflight({ nodes: { "node-3": "worker down active" } });
    expect([r.status, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toBe(
      "preflight: docker 27.5.1 on node-1, a manager\npreflight: node node-3 is down and active: its tasks run on the others meanwhile\npreflight: ok\n",
    );
  });

  test("every problem listed, then exit 1 with nothing changed", () => {
    const r = preflight({
      nodes: { "node-1": "manager ready drain", "node-2": "manager ready active", "node-3": "" },
      others: "8001 ",
      serviceLabels: "/",
      networkLabels: "copilotos/other",
      freeKb: 1024 * 100,
    });
    expect(r.status).toBe(1);
    expect(r.stderr.split("\n")).toEqual([
      "preflight: node node-1, the data node, is ready and drain: Mongo and Redis run nowhere else (docker node ls)",
      "preflight: node node-2 is a manager, host.nodes says worker",
      "preflight: node node-3 of host.nodes is not in this swarm (docker node ls; host.nodes names each node by its hostname)",
      "preflight: port 8001 is published by service intruder (stack copilotos/other)",
      "preflight: service copilotos-swarm-api already exists (no copilotos labels)",
      "preflight: network copilotos-swarm already exists (stack copilotos/other)",
      "preflight: only 100 MiB free on /var/lib/docker (the data node's Docker root); need 2048 MiB",
      "preflight: failed; nothing was changed",
      "",
    ]);
    // Only reads: no create, update, rm or label change.
    expect(r.calls.filter((c) => / (create|update|rm|scale)\b/.test(c))).toEqual([]);
  });

  test("another manager than the data node: its disk is not checked from here, said", () => {
    const r = preflight({ self: "node-2", nodes: { "node-2": "manager ready active" }, freeKb: 1 });
    expect(r.stdout).toContain("preflight: the data node node-1 is not this manager: its free space is not checked from here\n");
    expect(r.stderr).toBe("preflight: node node-2 is a manager, host.nodes says worker\npreflight: failed; nothing was changed\n");
  });

  test("is clean under shellcheck", () => {
    const r = spawnSync("shellcheck", ["-s", "sh", "-S", "warning", "-f", "gcc", "-"], { input: swarmPreflightScript(SPEC), encoding: "utf8" });
    expect([r.status, r.stdout]).toEqual([0, ""]);
  });
});

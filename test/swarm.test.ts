/** The stack on a Docker Swarm (host.kind swarm), run under the mock runtime: every service, secret and config it declares. */
import * as path from "node:path";
import { parseConfig } from "../components/config";
import { nodeLabelScript, swarmSecretName } from "../components/renderers/swarm/services";
import { minimalConfig, problemsOf } from "./support/config";
import { ofType, runStack, SAPTIVA_KEY } from "./support/program";
import type { ProgramRun, RecordedResource } from "../scripts/mockRuntime/harness";
import { describedScript } from "../components/renderers/shell";

const fixtures = path.join(__dirname, "fixtures");
const SERVICE = "docker:index/service:Service";
const SECRET = "docker:index/secret:Secret";
const id = { project: "copilotos", stack: "swarm" };
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC14sYWFiDHgTKJ0Qp2N7SZUdlgOt/qxwjm5T3A8C1kT";
const swarmHost = (extra: Record<string, unknown> = {}) => ({
  kind: "swarm",
  address: "203.0.113.20",
  user: "deploy",
  hostKey: HOST_KEY,
  nodes: [{ name: "node-1", role: "manager" }, { name: "node-2" }],
  dataNode: "node-1",
  ...extra,
});

let run: ProgramRun;
beforeAll(async () => {
  run = await runStack("swarm", [], [], fixtures);
});
const service = (name: string): RecordedResource => {
  const found = ofType(run, SERVICE).find((s) => s.inputs.name === `copilotos-swarm-${name}`);
  if (!found) throw new Error(`no ${name} service`);
  return found;
};
interface Task {
  containerSpec: { env: Record<string, string>; secrets: { fileName: string; secretName: string }[]; image: string; healthcheck: { tests: string[] } };
  placement: { constraints: string[] };
}
const taskOf = (name: string) => service(name).inputs.taskSpec as Task;
const secretNames = (name: string) => Object.fromEntries(taskOf(name).containerSpec.secrets.map((s) => [s.fileName, s.secretName]));

describe("config host.kind swarm", () => {
  test("parses with defaults: 2 replicas of each app, a 30 s update monitor, every node an edge worker unless said", () => {
    expect(parseConfig({ ...minimalConfig(), host: swarmHost() }).host).toEqual({
      ...swarmHost(),
      port: 22,
      connectTimeoutSeconds: 10,
      nodes: [
        { name: "node-1", role: "manager", edge: true, labels: {} },
        { name: "node-2", role: "worker", edge: true, labels: {} },
      ],
      replicas: { api: 2, web: 2 },
      updateMonitorSeconds: 30,
    });
  });
  test.each([
    [{ dataNode: "node-9" }, "copilotos:host.dataNode", "must be one of the nodes (node-1, node-2)"],
    [{ nodes: [{ name: "node-1" }] }, "copilotos:host.nodes", "must include a manager"],
    [{ nodes: [{ name: "node-1", role: "manager" }, { name: "node-1" }] }, "copilotos:host.nodes.1.name", "names node node-1 twice"],
    [{ nodes: [{ name: "node-1", role: "manager", edge: false }] }, "copilotos:host.nodes", "must include an edge node (edge: true) to publish the app ports"],
    [{ nodes: [{ name: "node 1", role: "manager" }], dataNode: "node 1" }, "copilotos:host.nodes.0.name", "must be a hostname (letters, digits, . and -)"],
  ])("%j is refused by name", (extra, key, message) => {
    expect(problemsOf({ ...minimalConfig(), host: swarmHost(extra) })).toEqual(expect.arrayContaining([expect.objectContaining({ key, message })]));
  });
  test("what a swarm does not do yet is refused by name, never ignored", () => {
    const keys = problemsOf({
      ...minimalConfig(),
      host: swarmHost(),
      delivery: { mode: "transfer" },
      api: { migrate: ["true"] },
      ports: { mongo: 27017 },
    }).map((p) => p.key);
    expect(keys).toEqual(["copilotos:delivery.mode", "copilotos:api.migrate", "copilotos:ports.mongo"]);
  });
});

describe("the swarm stack", () => {
  test("five services: the apps replicated, Mongo and Redis one task each pinned to the data node, the proxy global on edge nodes", () => {
    const modes = Object.fromEntries(["mongo", "redis", "api", "web", "proxy"].map((n) => [n, service(n).inputs.mode]));
    expect(modes).toEqual({
      mongo: { replicated: { replicas: 1 } },
      redis: { replicated: { replicas: 1 } },
      api: { replicated: { replicas: 3 } },
      web: { replicated: { replicas: 2 } },
      proxy: { global: true },
    });
    expect(taskOf("mongo").placement.constraints).toEqual(["node.hostname == node-1"]);
    expect(taskOf("redis").placement.constraints).toEqual(["node.hostname == node-1"]);
    expect(taskOf("proxy").placement.constraints).toEqual(["node.labels.copilotos.edge == true"]);
    expect(taskOf("api").placement.constraints).toEqual([]);
  });

  test("every service is reached by DNS round robin (dnsrr: no VIP, no IPVS needed); only the proxy publishes, in host mode", () => {
    for (const n of ["mongo", "redis", "api", "web"]) expect(service(n).inputs.endpointSpec).toEqual({ mode: "dnsrr", ports: [] });
    expect(service("proxy").inputs.endpointSpec).toEqual({
      mode: "dnsrr",
      ports: [
        { targetPort: 8001, publishedPort: 8001, publishMode: "host", protocol: "tcp" },
        { targetPort: 3000, publishedPort: 3000, publishMode: "host", protocol: "tcp" },
      ],
    });
  });

  test("apps update start-first and roll back on failure, health-checked by readiness; data services and the proxy stop-first", () => {
    expect(service("api").inputs.updateConfig).toEqual({
      parallelism: 1,
      delay: "5s",
      order: "start-first",
      failureAction: "rollback",
      monitor: "30s",
      maxFailureRatio: "0",
    });
    expect(service("api").inputs.rollbackConfig).toMatchObject({ order: "start-first", failureAction: "pause" });
    expect(taskOf("api").containerSpec.healthcheck.tests[1]).toContain("/api/health/ready");
    for (const n of ["mongo", "redis", "proxy"]) expect((service(n).inputs.updateConfig as { order: string }).order).toBe("stop-first");
  });

  test("every service's tasks drop every capability but the service's own, as the single host's containers do", () => {
    const caps = Object.fromEntries(
      ["mongo", "redis", "api", "web", "proxy"].map((n) => {
        const c = (service(n).inputs.taskSpec as { containerSpec: { capDrops: string[]; capAdds: string[] } }).containerSpec;
        return [n, [c.capDrops, c.capAdds]];
      }),
    );
    expect(caps).toEqual({
      mongo: [["ALL"], ["CHOWN", "DAC_OVERRIDE", "SETGID", "SETUID"]],
      redis: [["ALL"], ["CHOWN", "DAC_OVERRIDE", "SETGID", "SETUID"]],
      api: [["ALL"], []],
      web: [["ALL"], []],
      proxy: [["ALL"], ["CHOWN", "SETGID", "SETUID"]],
    });
  });

  test("every service's tasks run on a read-only root (their files are Docker secrets and configs), with memory (the API a volume of its own) for what each writes", () => {
    const MiB = 1024 * 1024;
    const roots = Object.fromEntries(
      ["mongo", "redis", "api", "web", "proxy"].map((n) => {
        const c = (service(n).inputs.taskSpec as { containerSpec: { readOnly: boolean; mounts: { type: string; source?: string; target: string }[] } })
          .containerSpec;
        return [n, [c.readOnly, c.mounts.filter((m) => m.type === "tmpfs" || !m.source)]];
      }),
    );
    const tmp = { type: "tmpfs", target: "/tmp", tmpfsOptions: { sizeBytes: 64 * MiB } };
    expect(roots).toEqual({
      mongo: [true, [tmp]],
      redis: [true, []],
      // The uploaded documents (the app's FILES_ROOT, /tmp) on disk: the task's own volume.
      api: [true, [{ type: "volume", target: "/tmp" }]],
      web: [true, [tmp, { type: "tmpfs", target: "/app/apps/web/.next/cache", tmpfsOptions: { sizeBytes: 256 * MiB, mode: 0o1777 } }]],
      proxy: [true, [tmp]],
    });
    // The data volumes stay where they were.
    const mongoMounts = (service("mongo").inputs.taskSpec as { containerSpec: { mounts: { type: string; target: string }[] } }).containerSpec.mounts;
    expect(mongoMounts.filter((m) => m.type === "volume")).toEqual([{ type: "volume", source: "copilotos-swarm-mongo-data", target: "/data/db" }]);
  });

  test("secrets are Docker secrets named by the hash of their value; Mongo's root password and the API's come from one output", () => {
    const secrets = ofType(run, SECRET);
    expect(secrets.map((s) => s.name).sort()).toEqual(
      ["jwt-secret-key", "mongo-root-password", "mongodb-password", "redis-conf", "redis-password", "saptiva-api-key", "secret-key"].map(
        (f) => `copilotos-secret-${f}`,
      ),
    );
    for (const s of secrets) {
      expect(s.inputs.name).toMatch(/^copilotos-swarm-[a-z_]+-[0-9a-f]{12}$/);
      expect(s.secretPaths).toContain("data");
      expect(s.opts.retainOnDelete).toBe(true);
    }
    const saptiva = secrets.find((s) => s.name === "copilotos-secret-saptiva-api-key")!;
    expect(saptiva.inputs.name).toBe(swarmSecretName(id, "saptiva_api_key", SAPTIVA_KEY));
    expect(Buffer.from(String(saptiva.inputs.data), "base64").toString()).toBe(SAPTIVA_KEY);
    const mongoRoot = Buffer.from(String(secrets.find((s) => s.name === "copilotos-secret-mongo-root-password")!.inputs.data), "base64").toString();
    const apiMongo = Buffer.from(String(secrets.find((s) => s.name === "copilotos-secret-mongodb-password")!.inputs.data), "base64").toString();
    expect(apiMongo).toBe(mongoRoot);
    expect(Object.keys(secretNames("api")).sort()).toEqual(["jwt_secret_key", "mongodb_password", "redis_password", "saptiva_api_key", "secret_key"]);
    expect(secretNames("redis").redis_password).toBe(secretNames("api").redis_password);
  });

  test("no secret value in any service's env, and none in any output", () => {
    const values = [...run.secretValues];
    for (const s of ofType(run, SERVICE)) {
      const env = JSON.stringify((s.inputs.taskSpec as Task).containerSpec.env);
      for (const v of values) expect(env).not.toContain(v);
    }
    expect(JSON.stringify(run.outputs)).not.toContain(SAPTIVA_KEY);
    // Secret names carry a hash, not the value: the specs stay readable (not secret) in a preview.
    for (const s of ofType(run, SERVICE)) expect([s.inputs.name, s.secretPaths]).toEqual([s.inputs.name, []]);
    expect(run.outputs.services).toEqual({
      value: {
        mongo: "copilotos-swarm-mongo",
        redis: "copilotos-swarm-redis",
        api: "copilotos-swarm-api",
        web: "copilotos-swarm-web",
        proxy: "copilotos-swarm-proxy",
      },
      isSecret: false,
    });
  });

  test("the proxy reaches the apps by service name through Docker's DNS, asked again every 5 s", () => {
    const config = ofType(run, "docker:index/serviceConfig:ServiceConfig").find((c) => c.name === "copilotos-proxy-nginx-conf")!;
    const conf = Buffer.from(String(config.inputs.data), "base64").toString();
    expect(conf).toContain("  resolver 127.0.0.11 valid=5s ipv6=off;\n");
    expect(conf).toContain("      set $copilotos_api http://copilotos-swarm-api:8001;\n      proxy_pass $copilotos_api;\n");
    expect(conf).not.toContain("upstream copilotos_api");
  });

  test("the nodes are checked and labelled on the manager before any service", () => {
    const labels = run.resources.find((r) => r.name === "copilotos-node-labels")!;
    expect(labels.inputs.create).toBe(
      describedScript(
        "labels: roles and labels of 3 swarm nodes",
        nodeLabelScript(id, [
          { name: "node-1", role: "manager", edge: true, labels: { disk: "ssd" } },
          { name: "node-2", role: "worker", edge: true, labels: {} },
          { name: "node-3", role: "worker", edge: false, labels: {} },
        ]),
      ),
    );
    for (const n of ["mongo", "api", "proxy"]) expect(service(n).opts.dependsOn).toContain("copilotos-node-labels");
  });
});

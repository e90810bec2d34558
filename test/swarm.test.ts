/** The stack on a Docker Swarm (host.kind swarm), run under the mock runtime: every service, secret and config it declares. */
import * as path from "node:path";
import { parseConfig } from "../components/config";
import { nodeLabelScript, swarmSecretName } from "../components/renderers/swarm/services";
import { minimalConfig, problemsOf, swarmHost } from "./support/config";
import { ofType, runStack, SAPTIVA_KEY } from "./support/program";
import type { ProgramRun, RecordedResource } from "../scripts/mockRuntime/harness";
import { describedScript } from "../components/renderers/shell";
import { backupScript, swarmMongoLines } from "../components/renderers/operations/backup";
import { restoreScript } from "../components/renderers/operations/restore";
import { drillScript } from "../components/renderers/operations/drill";

const fixtures = path.join(__dirname, "fixtures");
/** The fixture's Mongo on a swarm: its service, on data node node-1. */
const SWARM_MONGO = { service: "copilotos-swarm-mongo", node: "node-1" };
const SERVICE = "docker:index/service:Service";
const SECRET = "docker:index/secret:Secret";
const id = { project: "copilotos", stack: "swarm" };

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
      api: { migrate: ["python3 -m", "x"] },
      ports: { mongo: 27017 },
    }).map((p) => p.key);
    expect(keys).toEqual(["copilotos:delivery.mode", "copilotos:api.migrate", "copilotos:ports.mongo"]);
    // A migration whose program is a plain word is the swarm's one-off job.
    expect(parseConfig({ ...minimalConfig(), host: swarmHost(), api: { migrate: ["python3", "-m", "scripts.migrate"] } }).api.migrate).toEqual([
      "python3",
      "-m",
      "scripts.migrate",
    ]);
  });
  test("backups need the data node to be the manager the connection reaches: a worker data node is refused by name unless backups are off", () => {
    const onWorker = swarmHost({ nodes: [{ name: "node-1", role: "manager" }, { name: "node-2" }], dataNode: "node-2" });
    expect(problemsOf({ ...minimalConfig(), host: onWorker })).toEqual([
      {
        key: "copilotos:host.dataNode",
        fix: "pulumi config set --path copilotos:host.dataNode <value>",
        message:
          "must be a manager while backups are on: a swarm's backups run on the data node, reached at host.address (make it a manager and point host.address at it), or set backup.enabled false",
      },
    ]);
    expect(parseConfig({ ...minimalConfig(), host: onWorker, backup: { enabled: false } }).host).toMatchObject({ dataNode: "node-2" });
    expect(parseConfig({ ...minimalConfig(), host: swarmHost() }).backup.enabled).toBe(true);
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

  test("Mongo is backed up on the data node before Mongo changes and before the apps update, and by the manager's schedule", () => {
    const spec = {
      container: "copilotos-swarm-mongo",
      volume: "copilotos-swarm-mongo-data",
      dir: "~/copilotos-backups",
      prefix: "copilotos-swarm-mongo",
      keep: 7,
      tiers: { daily: 7, weekly: 4, monthly: 12 },
      image: "mongo:7.0",
      swarm: SWARM_MONGO,
    };
    const before = (name: string) => run.resources.find((r) => r.name === `copilotos-${name}-backup-run`)!;
    const does = (what: string) =>
      `backup before ${what}: fsyncLock + archive copilotos-swarm-mongo-data on node node-1 into ~/copilotos-backups, verified, newest 7 kept`;
    expect(before("mongo").inputs.create).toBe(describedScript(does("a Mongo change"), backupScript(spec)));
    expect(before("app").inputs.create).toBe(describedScript(does("the app update"), backupScript(spec)));
    // The Mongo backup's triggers: Mongo's image as the service runs it, its settings, a hash of the password.
    const [image, settings, hash] = before("mongo").inputs.triggers as string[];
    expect(image).toBe(taskOf("mongo").containerSpec.image);
    expect(JSON.parse(settings)).toEqual({ user: "copilotos_user", database: "copilotos", resources: { memoryMb: 1024, cpus: 1 } });
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    // Mongo waits for its backup; the API waits for the app backup, which waits for Mongo.
    expect(service("mongo").opts.dependsOn).toContain("copilotos-mongo-backup");
    expect(service("api").opts.dependsOn).toContain("copilotos-app-backup");
    expect(run.resources.find((r) => r.name === "copilotos-app-backup")!.opts.dependsOn).toContain("copilotos-mongo");
    const schedule = run.resources.find((r) => r.name === "copilotos-backup-schedule-install")!;
    expect(schedule.inputs.create).toContain(backupScript(spec));
    expect(schedule.inputs.create).toContain("backup schedule: crontab line (30 3 * * *) backs up copilotos-swarm-mongo-data between deploys");
  });
});

describe("the backup script on a swarm", () => {
  const base = {
    container: "copilotos-swarm-mongo",
    volume: "copilotos-swarm-mongo-data",
    dir: "~/b",
    prefix: "copilotos-swarm-mongo",
    keep: 7,
    image: "mongo:7",
  };
  const swarm = SWARM_MONGO;
  test("checks that this engine is the data node, then finds Mongo's running task there by its service's label", () => {
    expect(swarmMongoLines(swarm, "backup")).toEqual([
      "here=$(docker info --format '{{.Name}}')",
      `if [ "$here" != node-1 ]; then printf 'backup: Mongo'\\''s data is on node %s, and this connection reaches node %s; backups, restores and password changes on a swarm run on its data node: point host.address at the data node (a manager)\\n' node-1 "$here" >&2; exit 1; fi`,
      "ctr=$(docker ps -q --filter label=com.docker.swarm.service.name=copilotos-swarm-mongo | head -n 1)",
    ]);
  });
  test("is the single host's script with those lines after the container's name: the same lock, archive, verification and retention", () => {
    const one = backupScript(base);
    const at = one.indexOf("\n", one.indexOf("ctr=")) + 1;
    expect(backupScript({ ...base, swarm })).toBe(one.slice(0, at) + swarmMongoLines(swarm, "backup").join("\n") + "\n" + one.slice(at));
  });
});

describe("the restore script on a swarm", () => {
  const spec = {
    container: "copilotos-swarm-mongo",
    volume: "copilotos-swarm-mongo-data",
    dir: "~/b",
    prefix: "copilotos-swarm-mongo",
    image: "mongo:7",
    file: "copilotos-swarm-mongo-20261206T000000Z.tar",
    swarm: SWARM_MONGO,
  };
  const script = restoreScript(spec).split("\n");
  const at = (line: string) => script.indexOf(line);
  const TASKS = "docker ps -q --filter label=com.docker.swarm.service.name=copilotos-swarm-mongo | head -n 1";
  test("finds Mongo's task on the data node and reads the stack's password from it before anything stops", () => {
    const find = swarmMongoLines(spec.swarm, "restore");
    expect(script.slice(at(find[0]) - 1, at(find[0]) + 8)).toEqual([
      "svc=copilotos-swarm-mongo",
      ...find,
      'if ! docker service inspect "$svc" >/dev/null 2>&1; then state=missing; elif [ -n "$ctr" ]; then state=true; else state=false; fi',
      'pwfile=""; user=""; pw=""',
      `if [ "$state" = true ]; then pwfile=$(docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$ctr" | sed -n 's/^MONGO_INITDB_ROOT_PASSWORD_FILE=//p'); user=$(docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$ctr" | sed -n 's/^MONGO_INITDB_ROOT_USERNAME=//p'); fi`,
      'if [ -n "$pwfile" ]; then pw=$(docker exec "$ctr" cat "$pwfile"); fi',
      'if [ "$state" = false ]; then echo "restore: no task of $svc runs, so the restored data keeps the password it was backed up with" >&2; fi',
    ]);
    // After the archive's checks, before the swap.
    expect(at(find[0])).toBeGreaterThan(at('f="$dir/$name"'));
  });
  test("stops Mongo by scaling its service to 0 and waiting for its task to leave, re-keys from the password read, scales back to 1 (its previous spec the running one) and waits", () => {
    const scale0 = at('  echo "restore: scaling $svc to 0 tasks"; docker service scale --detach "$svc=0" >/dev/null; tries=0');
    const wait0 = at(
      `  while [ -n "$(${TASKS})" ]; do tries=$((tries + 1)); if [ "$tries" -ge 120 ]; then docker service scale --detach "$svc=1" >/dev/null; docker service update --detach "$svc" >/dev/null; echo "restore: $svc's task did not stop within 120s; it was scaled back to 1 and the data is untouched" >&2; exit 1; fi; sleep 1; done`,
    );
    const swap = at('echo "restore: unpacking $name beside the data in $vol, then swapping it in"');
    const rekey = script.findIndex((l) => l.startsWith(`    out=$(printf '%s' "$pw" | docker exec -i "$rekey" sh -c `));
    // Scaled back, then updated with no change: the previous spec is the running one, not the scale's 0-task one.
    const scale1 = at('  docker service scale --detach "$svc=1" >/dev/null; docker service update --detach "$svc" >/dev/null');
    const wait1 = at(
      `  until docker service ps "$svc" --filter desired-state=running --format '{{.CurrentState}}' | grep -q '^Running'; do tries=$((tries + 1)); if [ "$tries" -ge 120 ]; then echo "restore: $svc was scaled back to 1, and its task was not running and healthy within 120s: docker service ps $svc" >&2; exit 1; fi; sleep 1; done`,
    );
    const order = [scale0, wait0, swap, rekey, scale1, wait1];
    expect([order.every((i) => i > 0), [...order].sort((a, b) => a - b)]).toEqual([true, order]);
    expect(script.filter((l) => l.includes("docker stop") || l.includes("docker start"))).toEqual([
      '    docker stop -t 60 "$rekey" >/dev/null || true; docker rm -f "$rekey" >/dev/null 2>&1 || true',
    ]);
  });
  test("the single host's restore is unchanged by the swarm's: its container stopped and started, the password copied from it", () => {
    const one = restoreScript({ ...spec, swarm: undefined });
    expect(one).toContain('if [ "$state" = true ]; then echo "restore: stopping $ctr"; docker stop -t 60 "$ctr" >/dev/null; fi\n');
    expect(one).toContain(`  out=$(docker cp "$ctr:$pwfile" - | tar -xOf - | docker exec -i "$rekey" sh -c `);
    expect(one).not.toContain("docker service");
  });
});

describe("the drill on a swarm", () => {
  test("serves the archive with the image of Mongo's running task on the data node (the stack's container name only when none runs)", () => {
    const d = { container: "copilotos-swarm-mongo", dir: "~/b", prefix: "copilotos-swarm-mongo", image: "mongo:7" };
    const swarm = SWARM_MONGO;
    const one = drillScript(d);
    const at = one.indexOf("\n", one.indexOf("ctr=")) + 1;
    expect(drillScript({ ...d, swarm })).toBe(
      one.slice(0, at) + [...swarmMongoLines(swarm, "drill"), '[ -n "$ctr" ] || ctr=copilotos-swarm-mongo'].join("\n") + "\n" + one.slice(at),
    );
  });
});

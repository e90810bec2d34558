/**
 * The monitoring on a Docker Swarm, without a swarm: the services' builder (exact objects), the
 * swarm's prometheus.yml and rules read by the real `promtool` (NodeDown and the node's name on host
 * alerts proven by `promtool test rules`), the manager's metrics job run by sh against a stand-in
 * `docker` answering with the formats a real swarm prints (measured on the rig), and the program
 * under the mock runtime. The real swarm runs all of it in test/e2e/swarm.test.ts.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { prometheusConfig } from "../components/renderers/monitoring/prometheus";
import { alertRules, rulesConfig } from "../components/renderers/monitoring/rules";
import { MonitoringSpec, PROMETHEUS_RULES } from "../components/renderers/monitoring/spec";
import { swarmMetricsJob } from "../components/renderers/monitoring/swarmMetrics";
import { swarmMonitoringService } from "../components/renderers/swarm/monitoring";
import { SPEC } from "./support/monitoringSpec";
import { ofType, runStack, SAPTIVA_KEY } from "./support/program";
import type { ProgramRun } from "../scripts/mockRuntime/harness";

const ID = { project: "copilotos", stack: "swarm" };
const SWARM: MonitoringSpec = { ...SPEC, stack: "swarm", tls: undefined, backups: false, swarm: { nodeExporterService: "copilotos-swarm-node-exporter" } };

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "cpt-swarm-monitoring-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
const run = (cmd: string, args: string[], files: Record<string, string>) => {
  for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
  const r = spawnSync(cmd, args, { cwd: dir, encoding: "utf8" });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
};

describe("the services", () => {
  const parts = { identity: ID, image: "img@sha256:1", network: "copilotos-swarm", retentionDays: 15, dataNode: "node-1", monitorSeconds: 30 };
  test("the node exporter: one task per node named after it, on a read-only root, its textfile folder a local volume", () => {
    const s = swarmMonitoringService({ ...parts, part: "nodeExporter" });
    expect([s.name, s.mode, s.taskSpec.placement, s.endpointSpec]).toEqual([
      "copilotos-swarm-node-exporter",
      { global: true },
      { constraints: [] },
      { mode: "dnsrr", ports: [] },
    ]);
    expect(s.taskSpec.containerSpec).toMatchObject({
      image: "img@sha256:1",
      args: [
        "--collector.filesystem.mount-points-exclude=^/.+",
        "--collector.filesystem.fs-types-exclude=^$",
        "--collector.textfile.directory=/textfile",
        "--web.listen-address=:9100",
      ],
      hostname: "{{.Node.Hostname}}",
      readOnly: true,
      mounts: [{ type: "volume", source: "copilotos-swarm-metrics", target: "/textfile" }],
      capDrops: ["ALL"],
      capAdds: [],
    });
    expect(s.taskSpec.networksAdvanceds).toEqual([{ name: "copilotos-swarm", aliases: ["node-exporter"] }]);
    expect(s.taskSpec.resources).toEqual({ limits: { memoryBytes: 64 * 1024 * 1024, nanoCpus: 250_000_000 } });
  });
  test("Prometheus and Alertmanager: pinned to the data node with their data volumes, updated stop-first; the exporters go anywhere", () => {
    const prometheus = swarmMonitoringService({
      ...parts,
      part: "prometheus",
      configs: [{ configId: "c1", configName: "copilotos-swarm-prometheus-yml-0123456789ab", fileName: "/etc/prometheus/prometheus.yml" }],
    });
    expect(prometheus.mode).toEqual({ replicated: { replicas: 1 } });
    expect(prometheus.taskSpec.placement).toEqual({ constraints: ["node.hostname == node-1"] });
    expect(prometheus.taskSpec.containerSpec.mounts).toEqual([{ type: "volume", source: "copilotos-swarm-prometheus-data", target: "/prometheus" }]);
    expect(prometheus.taskSpec.containerSpec.configs).toEqual([
      { configId: "c1", configName: "copilotos-swarm-prometheus-yml-0123456789ab", fileName: "/etc/prometheus/prometheus.yml" },
    ]);
    expect(prometheus.taskSpec.containerSpec.args).toContain("--storage.tsdb.retention.time=15d");
    expect(prometheus.updateConfig).toMatchObject({ order: "stop-first", failureAction: "rollback" });
    const am = swarmMonitoringService({
      ...parts,
      part: "alertmanager",
      secrets: [{ file: "/etc/alertmanager/alertmanager.yml", secretId: "s1", secretName: "n1" }],
    });
    expect([am.taskSpec.placement.constraints, am.taskSpec.containerSpec.mounts[0].target]).toEqual([["node.hostname == node-1"], "/alertmanager"]);
    expect(am.taskSpec.containerSpec.secrets).toEqual([{ secretId: "s1", secretName: "n1", fileName: "/etc/alertmanager/alertmanager.yml", fileMode: 0o444 }]);
    for (const part of ["blackbox", "redisExporter"] as const) {
      const s = swarmMonitoringService({ ...parts, part });
      expect([part, s.taskSpec.placement.constraints, s.taskSpec.containerSpec.mounts]).toEqual([part, [], []]);
    }
  });
});

describe("prometheus.yml and the rules on a swarm", () => {
  test("the node exporters are the tasks Docker's DNS answers for tasks.<service>, asked again each scrape interval", () => {
    expect(prometheusConfig(SWARM)).toContain(
      [
        "  - job_name: node",
        "    dns_sd_configs:",
        "      - names:",
        "          - tasks.copilotos-swarm-node-exporter",
        "        type: A",
        "        port: 9100",
        "        refresh_interval: 15s",
        "  - job_name: redis",
      ].join("\n"),
    );
    const files = { "prometheus.yml": prometheusConfig(SWARM).replace(PROMETHEUS_RULES, path.join(dir, "rules.yml")), "rules.yml": rulesConfig(SWARM) };
    const config = run("promtool", ["check", "config", "prometheus.yml"], files);
    expect([config.code, config.out]).toEqual([0, expect.stringContaining("SUCCESS: prometheus.yml is valid prometheus config file syntax")]);
  });

  test("NodeDown replaces HostUnreachable; the host alerts carry the node's name", () => {
    const rules = alertRules(SWARM);
    expect(rules.map((r) => r.alert)).toEqual(alertRules({ ...SWARM, swarm: undefined }).map((r) => (r.alert === "HostUnreachable" ? "NodeDown" : r.alert)));
    const disk = rules.find((r) => r.alert === "HostDiskFull")!;
    expect(disk.expr).toBe(
      '(node_filesystem_avail_bytes{mountpoint="/"} / node_filesystem_size_bytes{mountpoint="/"} * 100 < 10) * on(instance) group_left(nodename) node_uname_info',
    );
    expect(disk.action).toBe("ssh to the alert's node: docker system df; df -h of Docker's root dir (docker info: Docker Root Dir)");
  });

  test("promtool test rules: NodeDown fires for a node down 30 s and not for a drained one; HostDiskFull names the node", () => {
    const byName = Object.fromEntries(alertRules(SWARM).map((r) => [r.alert, r]));
    const expected = (alert: string, labels: Record<string, string>) => ({
      exp_labels: { ...labels, severity: byName[alert].severity, scope: byName[alert].scope },
      exp_annotations: { summary: byName[alert].summary, action: byName[alert].action },
    });
    const node = (n: string, availability: string) => `copilotos_swarm_node_ready{job="node",node="${n}",availability="${availability}"}`;
    const tests = [
      {
        interval: "15s",
        input_series: [
          { series: node("node-1", "active"), values: "1x10" },
          { series: node("node-2", "active"), values: "1 0x9" },
          { series: node("node-3", "drain"), values: "0x10" },
        ],
        alert_rule_test: [
          { eval_time: "15s", alertname: "NodeDown", exp_alerts: [] },
          { eval_time: "1m", alertname: "NodeDown", exp_alerts: [expected("NodeDown", { job: "node", node: "node-2", availability: "active" })] },
        ],
      },
      {
        interval: "15s",
        input_series: [
          { series: 'node_filesystem_avail_bytes{instance="10.0.1.5:9100",mountpoint="/"}', values: "5x10" },
          { series: 'node_filesystem_size_bytes{instance="10.0.1.5:9100",mountpoint="/"}', values: "100x10" },
          { series: 'node_filesystem_avail_bytes{instance="10.0.1.6:9100",mountpoint="/"}', values: "50x10" },
          { series: 'node_filesystem_size_bytes{instance="10.0.1.6:9100",mountpoint="/"}', values: "100x10" },
          { series: 'node_uname_info{instance="10.0.1.5:9100",nodename="node-2"}', values: "1x10" },
          { series: 'node_uname_info{instance="10.0.1.6:9100",nodename="node-3"}', values: "1x10" },
        ],
        alert_rule_test: [
          {
            eval_time: "1m",
            alertname: "HostDiskFull",
            exp_alerts: [expected("HostDiskFull", { instance: "10.0.1.5:9100", mountpoint: "/", nodename: "node-2" })],
          },
        ],
      },
    ];
    const r = run("promtool", ["test", "rules", "tests.yml"], {
      "rules.yml": rulesConfig(SWARM),
      "tests.yml": stringify({ rule_files: ["rules.yml"], evaluation_interval: "15s", tests }),
    });
    expect([r.code, r.out]).toEqual([0, expect.stringContaining("SUCCESS")]);
  });
});

describe("the manager's metrics job", () => {
  const log = (ts: string, status: number) =>
    `${ts} 10.0.1.9 "203.0.113.9" [06/Dec/2026:02:27:33 +0000] "GET /api/chat HTTP/1.1" ${status} 45 0.004 10.0.1.7:8001 "curl/7.88.1"`;
  /** The stand-in docker: answers as the rig's swarm printed (task names `<service>.<slot or node id>`); `cp` keeps its tar. */
  const standin = (failedTasks: string[]) =>
    [
      "#!/bin/sh",
      'echo "$*" >> "$HOME/calls"',
      'case "$1 $2" in',
      "  'service ls') printf '%s\\n' 'copilotos-swarm-api 2/2' 'copilotos-swarm-web 1/2' 'copilotos-swarm-redis 0/1' 'copilotos-swarm-node-exporter 3/3' ;;",
      `  'service ps') printf '%s\\n' ${failedTasks.map((t) => `'${t}'`).join(" ")} ;;`,
      "  'node ls') printf '%s\\n' 'node-1 Ready Active' 'node-2 Down Active' 'node-3 Down Drain' ;;",
      // A line stamped before this sample's end, and one after it (left for the next sample).
      `  'service logs') printf '%s\\n' '${log("2026-12-06T02:27:33.871812465Z", 502)}' '${log("2999-01-01T00:00:00.000000000Z", 500)}' ;;`,
      "  'ps -q') echo nodeexp1 ;;",
      '  \'cp -\') n=$(find "$HOME" -maxdepth 1 -name "copy*" | wc -l); cat > "$HOME/copy$n.tar" ;;',
      "esac",
    ].join("\n");
  const FAILED = [
    "t1aaaaaaaaaaaaaaaaaaaaaaa copilotos-swarm-redis.1 Failed 1 second ago",
    "t2aaaaaaaaaaaaaaaaaaaaaaa copilotos-swarm-redis.1 Rejected 5 seconds ago",
    "t3aaaaaaaaaaaaaaaaaaaaaaa copilotos-swarm-api.2 Shutdown 1 minute ago",
    "t4aaaaaaaaaaaaaaaaaaaaaaa copilotos-swarm-node-exporter.v1hy2uknshrxbcrzrktcpwdmk Failed 2 minutes ago",
  ];
  const job = (failedTasks: string[]) => {
    fs.mkdirSync(path.join(dir, "bin"), { recursive: true });
    fs.writeFileSync(path.join(dir, "bin", "docker"), standin(failedTasks), { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "bin", "sleep"), "#!/bin/sh\n", { mode: 0o755 });
    for (const f of fs.readdirSync(dir).filter((f) => f.startsWith("copy"))) fs.rmSync(path.join(dir, f));
    const r = spawnSync("sh", ["-c", swarmMetricsJob(ID, { nodeExporter: "copilotos-swarm-node-exporter", proxy: "copilotos-swarm-proxy" })], {
      env: { PATH: `${dir}/bin:${process.env.PATH}`, HOME: dir },
      encoding: "utf8",
    });
    const file = (name: string) => spawnSync("tar", ["-xOf", path.join(dir, "copy3.tar"), name], { encoding: "utf8" }).stdout;
    return { status: r.status, stderr: r.stderr, file };
  };

  test("each sample: the services' tasks against their desired count, their failed tasks, the nodes, the proxy's responses, into the node exporter task here", () => {
    const r = job(FAILED);
    expect([r.status, r.stderr]).toEqual([0, ""]);
    const calls = fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n");
    expect(calls.slice(0, 6)).toEqual([
      "service ls --filter label=copilotos.project=copilotos --filter label=copilotos.stack=swarm --format {{.Name}} {{.Replicas}}",
      "service ps --no-trunc --filter desired-state=shutdown --format {{.ID}} {{.Name}} {{.CurrentState}} copilotos-swarm-api copilotos-swarm-web copilotos-swarm-redis copilotos-swarm-node-exporter",
      "node ls --format {{.Hostname}} {{.Status}} {{.Availability}}",
      expect.stringMatching(/^service logs --raw --timestamps --since \d+ copilotos-swarm-proxy$/),
      "ps -q --filter label=com.docker.swarm.service.name=copilotos-swarm-node-exporter",
      "cp - nodeexp1:/textfile",
    ]);
    expect(calls).toHaveLength(24);
    expect(r.file("containers.prom")).toBe(
      [
        "# HELP copilotos_container_restarts_total Failed tasks of the service (each one replaced by the swarm).",
        "# TYPE copilotos_container_restarts_total counter",
        'copilotos_container_restarts_total{container="copilotos-swarm-api",service="api"} 0',
        'copilotos_container_restarts_total{container="copilotos-swarm-web",service="web"} 0',
        'copilotos_container_restarts_total{container="copilotos-swarm-redis",service="redis"} 2',
        'copilotos_container_restarts_total{container="copilotos-swarm-node-exporter",service="node-exporter"} 1',
        "# HELP copilotos_container_healthy 1 when the service runs all its desired tasks, healthy, else 0.",
        "# TYPE copilotos_container_healthy gauge",
        'copilotos_container_healthy{container="copilotos-swarm-api",service="api"} 1',
        'copilotos_container_healthy{container="copilotos-swarm-web",service="web"} 0',
        'copilotos_container_healthy{container="copilotos-swarm-redis",service="redis"} 0',
        'copilotos_container_healthy{container="copilotos-swarm-node-exporter",service="node-exporter"} 1',
        "",
      ].join("\n"),
    );
    expect(r.file("nodes.prom")).toBe(
      [
        "# HELP copilotos_swarm_node_ready 1 when the swarm's managers see the node ready, else 0.",
        "# TYPE copilotos_swarm_node_ready gauge",
        'copilotos_swarm_node_ready{node="node-1",availability="active"} 1',
        'copilotos_swarm_node_ready{node="node-2",availability="active"} 0',
        'copilotos_swarm_node_ready{node="node-3",availability="drain"} 0',
        "",
      ].join("\n"),
    );
    // The 502 stamped within each of the 4 samples counted, the line from after the sample's end not (yet).
    expect(r.file("proxy.prom")).toContain('copilotos_proxy_responses_total{code="5xx"} 4\n');
    for (const f of ["containers.prom", "nodes.prom", "proxy.prom"]) {
      const c = spawnSync("promtool", ["check", "metrics"], { input: r.file(f), encoding: "utf8" });
      expect([f, c.status, c.stderr]).toEqual([f, 0, ""]);
    }
  });

  test("failed tasks are remembered: the swarm keeps 5 per slot, the counter does not go back when it prunes them", () => {
    expect(job(FAILED).status).toBe(0);
    const later = job([FAILED[1]]);
    expect(later.file("containers.prom")).toContain('copilotos_container_restarts_total{container="copilotos-swarm-redis",service="redis"} 2\n');
    expect(later.file("containers.prom")).toContain(
      'copilotos_container_restarts_total{container="copilotos-swarm-node-exporter",service="node-exporter"} 1\n',
    );
  });

  test("no node exporter task on the manager: said, and the job goes on", () => {
    const r = job(FAILED);
    expect(r.status).toBe(0);
    fs.writeFileSync(
      path.join(dir, "bin", "docker"),
      standin(FAILED)
        .replace("echo nodeexp1", "true")
        .replace(/ {2}'cp -'\).*\n/, "  'cp -') cat >/dev/null; exit 1 ;;\n"),
    );
    const again = spawnSync("sh", ["-c", swarmMetricsJob(ID, { nodeExporter: "copilotos-swarm-node-exporter", proxy: "copilotos-swarm-proxy" })], {
      env: { PATH: `${dir}/bin:${process.env.PATH}`, HOME: dir },
      encoding: "utf8",
    });
    expect(again.status).toBe(0);
    expect(again.stderr).toBe("swarm metrics: no running task of copilotos-swarm-node-exporter on this node to copy into\n".repeat(4));
  });
});

describe("the program on a swarm with monitoring on", () => {
  let prog: ProgramRun;
  beforeAll(async () => {
    prog = await runStack(
      "swarm",
      ["copilotos:monitoring.enabled=true"],
      [`copilotos:saptivaApiKey=${SAPTIVA_KEY}`, "copilotos:alertWebhookUrl=https://hooks.example.com/T0/secret-path"],
      path.join(__dirname, "fixtures"),
    );
  });
  const services = () => ofType(prog, "docker:index/service:Service");

  test("five monitoring services beside the stack's, after the proxy; the node exporter global", () => {
    const names = services().map((s) => s.inputs.name as string);
    expect(names).toEqual(
      expect.arrayContaining([
        "copilotos-swarm-prometheus",
        "copilotos-swarm-alertmanager",
        "copilotos-swarm-blackbox",
        "copilotos-swarm-node-exporter",
        "copilotos-swarm-redis-exporter",
      ]),
    );
    const ne = services().find((s) => s.inputs.name === "copilotos-swarm-node-exporter")!;
    expect(ne.inputs.mode).toEqual({ global: true });
    expect(ne.deps).toEqual(expect.arrayContaining(["copilotos-proxy"]));
  });

  test("Alertmanager's receivers and the exporter's password are Docker secrets, their data secret; Prometheus's files are configs", () => {
    const secrets = ofType(prog, "docker:index/secret:Secret").filter((s) => /alertmanager|exporter/.test(s.name));
    expect(secrets.map((s) => [s.name, s.secretPaths])).toEqual([
      ["copilotos-monitoring-secret-alertmanager-yml", ["data"]],
      ["copilotos-monitoring-secret-redis-exporter-passwords-json", ["data"]],
    ]);
    const am = Buffer.from(String(secrets[0].inputs.data), "base64").toString();
    expect(am).toContain("https://hooks.example.com/T0/secret-path");
    const configs = ofType(prog, "docker:index/serviceConfig:ServiceConfig").map((c) => c.inputs.name as string);
    expect(configs).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^copilotos-swarm-prometheus-yml-[0-9a-f]{12}$/),
        expect.stringMatching(/^copilotos-swarm-rules-yml-[0-9a-f]{12}$/),
        expect.stringMatching(/^copilotos-swarm-blackbox-yml-[0-9a-f]{12}$/),
      ]),
    );
    // The webhook's URL is in no service, config or output.
    const plain = JSON.stringify([
      services().map((s) => s.inputs),
      ofType(prog, "docker:index/serviceConfig:ServiceConfig").map((c) => c.inputs),
      prog.outputs,
    ]);
    expect(plain).not.toContain("secret-path");
  });

  test("the manager's crontab gets the swarm's metrics job", () => {
    const install = prog.resources.find((r) => r.name === "copilotos-monitoring-container-metrics-install")!;
    expect(String(install.inputs.create)).toContain("docker service ls --filter label=copilotos.project=copilotos --filter label=copilotos.stack=swarm");
    expect(String(install.inputs.create)).toContain("crontab -");
  });
});

/**
 * The containers' metrics job (components/renderers/monitoring/hostMetrics.ts) run by sh against a
 * stand-in `docker` that answers `ps` and `inspect` with a stack's containers in every state and
 * keeps what `cp` receives: the exact file, read by the real `promtool check metrics`; four samples
 * 15 s apart; a second run while one holds the lock leaves at once; a node exporter that is gone is
 * said, not fatal. The real engine and cron run it in the monitoring suite (test/e2e/monitoring.test.ts).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { backupResultLines, containerMetricsJob, scheduleStartLines } from "../components/renderers/monitoring/hostMetrics";
import { alertRules, rulesConfig } from "../components/renderers/monitoring/rules";
import { SPEC } from "./support/monitoringSpec";

const ID = { project: "copilotos", stack: "prod" };
/** What `docker inspect --format …` prints for the stack: name, restart policy, restarts, health, running. */
const INSPECTED = [
  "copilotos-prod-api-1a2b3c4d unless-stopped 0 healthy true api",
  "copilotos-prod-redis unless-stopped 5 none false redis",
  "copilotos-prod-web-9f8e7d6c unless-stopped 0 starting true web",
  "copilotos-prod-mongo unless-stopped 1 unhealthy true mongo",
  "copilotos-prod-node-exporter unless-stopped 2 healthy true ",
  "copilotos-prod-migrate no 0 none false api",
];

let home: string;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "cpt-hostmetrics-"));
  const bin = path.join(home, "bin");
  fs.mkdirSync(bin);
  // The stand-in docker: logs each call; `cp` keeps its tar (failing when MISSING is set).
  fs.writeFileSync(
    path.join(bin, "docker"),
    [
      "#!/bin/sh",
      'echo "$*" >> "$HOME/calls"',
      'case "$1" in',
      "  ps) printf 'id1\\nid2\\nid3\\nid4\\nid5\\nid6\\n' ;;",
      `  inspect) printf '%s\\n' ${INSPECTED.map((l) => `'${l}'`).join(" ")} ;;`,
      '  cp) if [ -n "${MISSING:-}" ]; then cat >/dev/null; echo "Error: No such container" >&2; exit 1; fi; n=$(find "$HOME" -maxdepth 1 -name "copy*" | wc -l); cat > "$HOME/copy$n.tar" ;;',
      "esac",
    ].join("\n"),
    { mode: 0o755 },
  );
  fs.writeFileSync(path.join(bin, "sleep"), '#!/bin/sh\necho "sleep $*" >> "$HOME/calls"\n', { mode: 0o755 });
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

const job = (env: Record<string, string> = {}) =>
  spawnSync("sh", ["-c", containerMetricsJob(ID, "copilotos-prod-node-exporter")], {
    env: { PATH: `${home}/bin:${process.env.PATH}`, HOME: home, ...env },
    encoding: "utf8",
  });

test("each sample: the stack's containers meant to run, restarts for all, health 1 or 0 (none while starting), copied into the node exporter", () => {
  const r = job();
  expect([r.status, r.stderr]).toEqual([0, ""]);
  const calls = fs.readFileSync(path.join(home, "calls"), "utf8").trim().split("\n");
  const ps = "ps -aq --filter label=copilotos.project=copilotos --filter label=copilotos.stack=prod";
  const sample = [
    ps,
    expect.stringMatching(/^inspect --format \{\{slice \.Name 1\}\} .* id1 id2 id3 id4 id5 id6$/),
    // The proxy's access log since the last sample (test/proxyMetrics.test.ts).
    expect.stringMatching(/^logs --since \d+ --until \d+ copilotos-prod-proxy$/),
    "cp - copilotos-prod-node-exporter:/textfile",
  ];
  expect(calls).toEqual([...sample, "sleep 15", ...sample, "sleep 15", ...sample, "sleep 15", ...sample]);
  const prom = spawnSync("tar", ["-xOf", path.join(home, "copy0.tar"), "containers.prom"], { encoding: "utf8" }).stdout;
  expect(prom).toBe(
    [
      "# HELP copilotos_container_restarts_total Restarts of the container by its restart policy.",
      "# TYPE copilotos_container_restarts_total counter",
      'copilotos_container_restarts_total{container="copilotos-prod-api-1a2b3c4d",service="api"} 0',
      'copilotos_container_restarts_total{container="copilotos-prod-redis",service="redis"} 5',
      'copilotos_container_restarts_total{container="copilotos-prod-web-9f8e7d6c",service="web"} 0',
      'copilotos_container_restarts_total{container="copilotos-prod-mongo",service="mongo"} 1',
      'copilotos_container_restarts_total{container="copilotos-prod-node-exporter",service="node-exporter"} 2',
      "# HELP copilotos_container_healthy 1 when the container runs and passes its health check, else 0.",
      "# TYPE copilotos_container_healthy gauge",
      'copilotos_container_healthy{container="copilotos-prod-api-1a2b3c4d",service="api"} 1',
      'copilotos_container_healthy{container="copilotos-prod-redis",service="redis"} 0',
      'copilotos_container_healthy{container="copilotos-prod-mongo",service="mongo"} 0',
      'copilotos_container_healthy{container="copilotos-prod-node-exporter",service="node-exporter"} 1',
      "",
    ].join("\n"),
  );
  // The host keeps it in the stack's metrics folder too, beside what the backup records.
  expect(fs.readFileSync(path.join(home, ".copilotos/metrics-copilotos-prod/containers.prom"), "utf8")).toBe(prom);
  // Prometheus's own parser and linter read it as the text format.
  const check = spawnSync("promtool", ["check", "metrics"], { input: prom, encoding: "utf8" });
  expect([check.status, check.stdout + check.stderr]).toEqual([0, ""]);
});

test("a run while another holds the lock leaves at once; a node exporter that is gone is said on stderr and the job goes on", () => {
  const lockdir = path.join(home, ".copilotos");
  fs.mkdirSync(lockdir);
  const holder = spawnSync("sh", ["-c", `flock -n "$1" sh -c "$2"`, "sh", path.join(lockdir, "metrics-copilotos-prod.lock"), containerMetricsJob(ID, "x")], {
    env: { PATH: `${home}/bin:${process.env.PATH}`, HOME: home },
    encoding: "utf8",
  });
  expect([holder.status, fs.existsSync(path.join(home, "calls"))]).toEqual([0, false]);

  const r = job({ MISSING: "1" });
  expect(r.status).toBe(0);
  expect(r.stderr.split("\n").filter((l) => l.startsWith("container metrics:"))).toEqual(
    Array(4).fill("container metrics: could not copy into copilotos-prod-node-exporter (is it running?)"),
  );
});

/** A scheduled job with the result lines, whose backup part exits with `$BACKUP_EXIT`, run as cron runs it (`/bin/sh <file>`). */
function backupJob(exit: number, at: number): ReturnType<typeof spawnSync> {
  const file = path.join(home, "job.sh");
  fs.writeFileSync(file, ["#!/bin/sh", ...backupResultLines(ID), 'echo "backup ran: $1"', `exit ${exit}`, ""].join("\n"));
  fs.writeFileSync(path.join(home, "bin", "date"), `#!/bin/sh\necho ${at}\n`, { mode: 0o755 });
  return spawnSync("/bin/sh", [file], { env: { PATH: `${home}/bin:${process.env.PATH}`, HOME: home }, encoding: "utf8" });
}
const backupProm = () => fs.readFileSync(path.join(home, ".copilotos/metrics-copilotos-prod/backup.prom"), "utf8");

test("the scheduled backup's result: 1 and the time of a success; 0 after a failure, the last success kept; the job's exit code is the backup's", () => {
  const failedFirst = backupJob(3, 1000);
  expect([failedFirst.status, failedFirst.stdout]).toEqual([3, "backup ran: run\n"]);
  expect(backupProm()).toBe(
    [
      "# HELP copilotos_backup_last_result 1 when the last scheduled backup was verified, 0 when it failed.",
      "# TYPE copilotos_backup_last_result gauge",
      "copilotos_backup_last_result 0",
      "",
    ].join("\n"),
  );
  expect(backupJob(0, 2000).status).toBe(0);
  const success = [
    "# HELP copilotos_backup_last_result 1 when the last scheduled backup was verified, 0 when it failed.",
    "# TYPE copilotos_backup_last_result gauge",
    "copilotos_backup_last_result 1",
    "# HELP copilotos_backup_last_success_timestamp_seconds When the last scheduled backup was verified.",
    "# TYPE copilotos_backup_last_success_timestamp_seconds gauge",
    "copilotos_backup_last_success_timestamp_seconds 2000",
    "",
  ];
  expect(backupProm()).toBe(success.join("\n"));
  expect(backupJob(1, 3000).status).toBe(1);
  expect(backupProm()).toBe(success.map((l) => (l === "copilotos_backup_last_result 1" ? "copilotos_backup_last_result 0" : l)).join("\n"));
  const check = spawnSync("promtool", ["check", "metrics"], { input: backupProm(), encoding: "utf8" });
  expect([check.status, check.stdout + check.stderr]).toEqual([0, ""]);
});

test("the schedule's start is written once: installing again keeps the first", () => {
  fs.writeFileSync(path.join(home, "bin", "date"), "#!/bin/sh\necho 1234\n", { mode: 0o755 });
  const install = () => spawnSync("sh", ["-c", scheduleStartLines(ID).join("\n")], { env: { PATH: `${home}/bin:${process.env.PATH}`, HOME: home } });
  expect(install().status).toBe(0);
  fs.writeFileSync(path.join(home, "bin", "date"), "#!/bin/sh\necho 9999\n", { mode: 0o755 });
  expect(install().status).toBe(0);
  const prom = fs.readFileSync(path.join(home, ".copilotos/metrics-copilotos-prod/backup_schedule.prom"), "utf8");
  expect(prom).toBe(
    [
      "# HELP copilotos_backup_schedule_start_timestamp_seconds When the backup schedule was first installed.",
      "# TYPE copilotos_backup_schedule_start_timestamp_seconds gauge",
      "copilotos_backup_schedule_start_timestamp_seconds 1234",
      "",
    ].join("\n"),
  );
});

test("BackupMissing before any backup succeeded: counted from the schedule's start (promtool test rules)", () => {
  // Backups missing after 1 hour, the smallest threshold.
  const spec = { ...SPEC, thresholds: { ...SPEC.thresholds, backupMaxAgeHours: 1 } };
  const start = (at: number) => [{ series: 'copilotos_backup_schedule_start_timestamp_seconds{job="node"}', values: `${at}x20` }];
  const rule = alertRules(spec).find((r) => r.alert === "BackupMissing")!;
  const fired = { exp_labels: { job: "node", severity: "page", scope: "service" }, exp_annotations: { summary: rule.summary, action: rule.action } };
  const tests = [
    // Started at 0, looked at after 70 minutes: fires; started at 30 minutes: not yet.
    { interval: "5m", input_series: start(0), alert_rule_test: [{ eval_time: "70m", alertname: "BackupMissing", exp_alerts: [fired] }] },
    { interval: "5m", input_series: start(1800), alert_rule_test: [{ eval_time: "70m", alertname: "BackupMissing", exp_alerts: [] }] },
  ];
  fs.writeFileSync(path.join(home, "rules.yml"), rulesConfig(spec));
  fs.writeFileSync(path.join(home, "tests.yml"), stringify({ rule_files: ["rules.yml"], evaluation_interval: "1m", tests }));
  const r = spawnSync("promtool", ["test", "rules", "tests.yml"], { cwd: home, encoding: "utf8" });
  expect([r.status, r.stdout + r.stderr]).toEqual([0, expect.stringContaining("SUCCESS")]);
});

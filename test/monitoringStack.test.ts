/**
 * The monitoring in the program, under the mock runtime: on for prod by default, off for staging;
 * five containers on the stack network with no published port, the upstream images by digest,
 * Prometheus's files the renderers' own, Alertmanager's (with the receivers' URLs) and the Redis
 * exporter's password file secret, retained data volumes, the node exporter read-only.
 */
import { PROMETHEUS_IMAGE } from "../components/config/images";
import { backupResultLines, containerMetricsJob, scheduleStartLines } from "../components/renderers/monitoring/hostMetrics";
import { prometheusConfig } from "../components/renderers/monitoring/prometheus";
import { monitoringSpecOf } from "../components/services/monitoringOf";
import { parseConfig } from "../components/config";
import type { ProgramRun, RecordedResource } from "../scripts/mockRuntime/harness";
import { CONTAINER, containerOf, fileOf, ofType, runStack, VOLUME, writerOf } from "./support/program";

const HOOK = "https://hooks.example.com/alerts/T0KEN-0123456789";
const monitoringOf = (run: ProgramRun) => ofType(run, CONTAINER).filter((c) => JSON.stringify(c.inputs.labels).includes("copilotos.monitoring"));
const part = (run: ProgramRun, alias: string): RecordedResource => monitoringOf(run).find((c) => c.inputs.name === `copilotos-prod-${alias}`)!;

let prod: ProgramRun;
beforeAll(async () => {
  prod = await runStack("prod", [], [`copilotos:alertWebhookUrl=${HOOK}`]);
});

test("prod runs the five parts on its network, nothing published, each image pinned by digest", () => {
  const parts = monitoringOf(prod);
  expect(parts.map((c) => c.inputs.name).sort()).toEqual(
    ["alertmanager", "blackbox", "node-exporter", "prometheus", "redis-exporter"].map((a) => `copilotos-prod-${a}`),
  );
  for (const c of parts) {
    expect([c.inputs.name, c.inputs.ports ?? []]).toEqual([c.inputs.name, []]);
    expect((c.inputs.networksAdvanced as { name: string }[])[0].name).toBe("copilotos-prod");
    expect(c.inputs).toMatchObject({
      restart: "unless-stopped",
      securityOpts: ["no-new-privileges:true"],
      capabilities: { drops: ["ALL"], adds: [] },
      wait: true,
    });
  }
  // The mock runtime's image pull answers with the reference it was given.
  const pull = prod.resources.find((r) => r.name === "copilotos-monitoring-prometheus-image-pull")!;
  expect(pull.inputs.name).toBe(PROMETHEUS_IMAGE);
});

test("a part with files waits for their writer and mounts them after its own volumes; a part without has its volumes alone", () => {
  const waits = Object.fromEntries(monitoringOf(prod).map((c) => [c.name, c.opts.dependsOn.filter((d) => d.endsWith("-files"))]));
  expect(waits).toEqual({
    "copilotos-monitoring-prometheus": ["copilotos-monitoring-prometheus-files"],
    "copilotos-monitoring-alertmanager": ["copilotos-monitoring-alertmanager-files"],
    "copilotos-monitoring-blackbox": ["copilotos-monitoring-blackbox-files"],
    "copilotos-monitoring-nodeExporter": [],
    "copilotos-monitoring-redisExporter": ["copilotos-monitoring-redisExporter-files"],
  });
  const mounts = (alias: string) =>
    (part(prod, alias).inputs.volumes as { containerPath: string; readOnly?: boolean }[]).map((v) => [v.containerPath, v.readOnly ?? false]);
  expect(mounts("prometheus")[0]).toEqual(["/prometheus", false]);
  expect(
    mounts("prometheus")
      .slice(1)
      .every(([, ro]) => ro),
  ).toBe(true);
  expect(mounts("node-exporter")).toEqual([["/textfile", false]]);
});

test("Prometheus's files are the renderers' own for prod's config; its data volume is retained", () => {
  const cfg = parseConfig({ images: { api: "a:1", web: "w:1" }, tls: { acme: { email: "ops@example.com", domains: ["chat.example.com"] } } });
  const spec = monitoringSpecOf({ stack: "prod", monitoring: cfg.monitoring, backup: cfg.backup, tls: cfg.tls }, "chat.example.com");
  // The default schedule records its result: the backup alerts are there; without a schedule they are not.
  expect(spec.backups).toBe(true);
  expect(fileOf(prod, part(prod, "prometheus"), "/etc/prometheus/rules.yml")).toContain("alert: BackupMissing");
  expect(monitoringSpecOf({ stack: "prod", monitoring: cfg.monitoring, backup: { ...cfg.backup, schedule: "off" } }, "x").backups).toBe(false);
  expect(fileOf(prod, part(prod, "prometheus"), "/etc/prometheus/prometheus.yml")).toBe(prometheusConfig(spec));
  expect(spec.probes).toEqual({ apiReady: "http://proxy:8001/api/health/ready", apiHealth: "http://proxy:8001/api/health", web: "http://proxy:3000/" });
  expect(spec.tls).toEqual({ url: "https://proxy:3443/", serverName: "chat.example.com" });
  const data = ofType(prod, VOLUME).filter((v) => /prometheus-data|alertmanager-data/.test(String(v.inputs.name)));
  expect(data.map((v) => [v.inputs.name, v.opts.retainOnDelete])).toEqual([
    ["copilotos-prod-prometheus-data", true],
    ["copilotos-prod-alertmanager-data", true],
  ]);
});

test("Alertmanager's config carries the webhook only as a secret file; the Redis exporter's password file is Redis's password, secret", () => {
  const am = part(prod, "alertmanager");
  expect(fileOf(prod, am, "/etc/alertmanager/alertmanager.yml")).toContain(`      - url: ${HOOK}\n        send_resolved: true\n`);
  expect(writerOf(prod, am, "/etc/alertmanager").secretPaths).toContain("uploads");
  for (const c of monitoringOf(prod)) expect(JSON.stringify([c.inputs.envs ?? [], c.inputs.command ?? []])).not.toContain("T0KEN");
  const exporter = part(prod, "redis-exporter");
  const password = fileOf(prod, containerOf(prod, "redis"), "/run/secrets/redis_password");
  expect(JSON.parse(fileOf(prod, exporter, "/run/secrets/redis_exporter_passwords.json"))).toEqual({ "redis://redis:6379": password });
  expect(writerOf(prod, exporter, "/run/secrets").secretPaths).toContain("uploads");
});

test("the node exporter binds no host folder and runs on a read-only root; it reports its own root (the data file system) only", () => {
  const node = part(prod, "node-exporter");
  expect(node.inputs.readOnly).toBe(true);
  expect(node.inputs.uploads).toBeUndefined();
  expect(node.inputs.mounts ?? []).toEqual([]);
  expect(node.inputs.command).toEqual([
    "--collector.filesystem.mount-points-exclude=^/.+",
    "--collector.filesystem.fs-types-exclude=^$",
    "--collector.textfile.directory=/textfile",
    "--web.listen-address=:9100",
  ]);
  // The textfile folder is a volume the host's jobs copy into (Docker refuses a copy into a read-only mount).
  expect(node.inputs.volumes).toEqual([{ volumeName: "copilotos-prod-metrics", containerPath: "/textfile" }]);
});

test("the containers' health and restarts: a crontab job installed after the node exporter, copying into it, removed with the monitoring", () => {
  const install = prod.resources.find((r) => r.name === "copilotos-monitoring-container-metrics-install")!;
  const script = String(install.inputs.create);
  expect(script.split("\n")[0]).toBe(
    "# container metrics: crontab line (* * * * *) copies the stack's containers' health and restarts into copilotos-prod-node-exporter",
  );
  expect(script).toContain(containerMetricsJob({ project: "copilotos", stack: "prod" }, "copilotos-prod-node-exporter"));
  expect(script).toContain("# copilotos metrics copilotos-prod");
  expect(install.inputs.update).toBe(install.inputs.create);
  expect(String(install.inputs.delete)).toContain("metrics schedule: removed for copilotos-prod");
  expect(install.inputs.triggers).toEqual([]);
  // Only the SSH connection (its key) is secret: the job holds no secret.
  expect(install.secretPaths).toEqual(["connection"]);
  expect(install.deps).toEqual(expect.arrayContaining(monitoringOf(prod).map((c) => c.name)));
});

test("the scheduled backup records its result and the schedule's start for the monitoring; without monitoring it does not", async () => {
  const install = (run: ProgramRun) => String(run.resources.find((r) => r.name === "copilotos-backup-schedule-install")!.inputs.create);
  const prodId = { project: "copilotos", stack: "prod" };
  expect(install(prod)).toContain(backupResultLines(prodId).join("\n"));
  expect(install(prod)).toContain(scheduleStartLines(prodId).join("\n"));
  const staging = install(await runStack("staging"));
  expect(staging).not.toContain("copilotos_backup_last_result");
  expect(staging).not.toContain("metrics-copilotos-staging");
});

test("staging runs none unless config turns it on", async () => {
  expect(monitoringOf(await runStack("staging"))).toEqual([]);
  const on = await runStack("staging", ["copilotos:monitoring.enabled=true"]);
  expect(monitoringOf(on).map((c) => c.inputs.name)).toContain("copilotos-staging-prometheus");
});

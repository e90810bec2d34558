/**
 * Every shell script the stack generates is clean under shellcheck (errors and warnings): the host
 * steps of the staging, prod and aws stacks (transfer mode too), and the scripts the CLIs and the
 * aws first boot run. shellcheck is a Debian package; .ci/run installs it.
 */
import { healthGateScript, readyGateScript } from "../components/renderers/operations/health";
import { containerMetricsJob, scheduleStartLines } from "../components/renderers/monitoring/hostMetrics";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { setupScript, readyScript } from "../components/renderers/hosts/aws";
import { backupScript, listBackupsScript } from "../components/renderers/operations/backup";
import { rotationScript } from "../components/renderers/operations/rotation";
import { restoreScript } from "../components/renderers/operations/restore";
import { installScheduleScript, scheduledJob } from "../components/renderers/operations/backupSchedule";
import { drillScript } from "../components/renderers/operations/drill";
import { hostInventoryScript, hostLoadScript, hostPruneScript } from "../components/renderers/services/delivery";
import { runStack, SAPTIVA_KEY } from "./support/program";
import { AdoptSpec, APP_COMPOSE_SERVICES, cleanupScript, cutoverScript, handBackScript, inventoryScript } from "../components/renderers/operations/adopt";
import { execScript, logsScript, restartScript, statusScript } from "../components/renderers/operations/ops";
import { maintenanceScript } from "../components/renderers/proxy/maintenance";
import { alertsScript } from "../components/renderers/monitoring/alerts";
import { uiAddressesScript } from "../components/renderers/monitoring/tunnel";
import { proxyStartScript } from "../components/renderers/proxy";
import { migrateScript } from "../components/renderers/operations/migrate";

const shellcheck = (script: string) => spawnSync("shellcheck", ["-s", "sh", "-S", "warning", "-f", "gcc", "-"], { input: script, encoding: "utf8" });

test("shellcheck runs here and finds what it should (so a clean result means something)", () => {
  const r = shellcheck("set -eu\nfor f in $(ls /tmp); do echo $f; done\n");
  expect(r.error).toBeUndefined();
  expect(r.status).toBe(1);
  expect(r.stdout).toMatch(/SC2045|SC2086/);
});

describe.each([
  ["staging", [] as string[], undefined, 9],
  ["prod", [], undefined, 9],
  ["staging", ["copilotos:delivery.mode=transfer", "copilotos:delivery.compress=true"], undefined, 9],
  ["aws", ["copilotos:backup.s3=true"], path.join(__dirname, "fixtures"), 9],
  // Node labels and the apps' image pruning, each create and update.
  ["swarm", [], path.join(__dirname, "fixtures"), 6],
  // And its monitoring: the manager's metrics job.
  ["swarm", ["copilotos:monitoring.enabled=true"], path.join(__dirname, "fixtures"), 7],
])("%s %j: every host step", (stack, config, dir, least) => {
  test("is clean under shellcheck", async () => {
    const run = await runStack(stack, config, [`copilotos:saptivaApiKey=${SAPTIVA_KEY}`], dir);
    const scripts = run.resources
      .filter((r) => r.type.startsWith("command:"))
      .flatMap((r) => ["create", "update", "delete"].map((k): [string, unknown] => [`${r.name}.${k}`, r.inputs[k]]))
      .filter((e): e is [string, string] => typeof e[1] === "string");
    expect(scripts.length).toBeGreaterThanOrEqual(least);
    const findings = scripts.map(([name, text]) => [name, shellcheck(text).stdout.trim()]).filter(([, out]) => out !== "");
    expect(findings).toEqual([]);
  });
});

const RESTORE = {
  container: "copilotos-prod-mongo",
  volume: "copilotos-prod-mongo-data",
  dir: "~/copilotos-backups",
  prefix: "copilotos-prod-mongo",
  image: "mongo:7",
  file: "copilotos-prod-mongo-20261125T101500Z.tar",
};
const ADOPT: AdoptSpec = { identity: { project: "copilotos", stack: "prod" }, composeProject: "copilotos-prod", services: APP_COMPOSE_SERVICES };

test("the CLIs' and the aws first boot's scripts are clean under shellcheck", () => {
  const scripts = {
    setup: setupScript({ volumeId: "vol-0123abcd", user: "admin", awsCli: true, attachWaitSeconds: 600 }),
    ready: readyScript(),
    list: listBackupsScript({ dir: "~/copilotos-backups", prefix: "copilotos-prod-mongo" }),
    restore: restoreScript(RESTORE),
    newHostRestore: restoreScript({ ...RESTORE, volumeLabels: { "copilotos.stack": "prod", "copilotos.service": "mongo" } }),
    swarmRestore: restoreScript({ ...RESTORE, swarm: { service: "copilotos-prod-mongo", node: "node-1" } }),
    inventory: hostInventoryScript(`sha256:${"a".repeat(64)}`, "copilotos-prod-api:1"),
    load: hostLoadScript("copilotos-prod-api:1", `sha256:${"a".repeat(64)}`),
    prune: hostPruneScript("copilotos-prod-api", 5),
    composeInventory: inventoryScript("copilotos-prod"),
    cleanup: cleanupScript(ADOPT),
    handBack: handBackScript(ADOPT),
    cutover: cutoverScript(ADOPT),
    status: statusScript({ identity: ADOPT.identity, backup: { dir: "~/copilotos-backups", prefix: "copilotos-prod-mongo" } }),
    logs: logsScript(ADOPT.identity, "api", { since: "10m", follow: true }),
    exec: execScript(ADOPT.identity, "redis", ["redis-cli", "ping"]),
    restartRedis: restartScript(ADOPT.identity, "redis", { timeoutSeconds: 60, intervalSeconds: 2 }),
    restartApi: restartScript(ADOPT.identity, "api", { timeoutSeconds: 60, intervalSeconds: 2, gateUrl: "https://127.0.0.1:8543/api/health/ready" }),
    maintenanceOn: maintenanceScript("copilotos-prod-proxy", true),
    alerts: alertsScript(ADOPT.identity),
    monitorAddresses: uiAddressesScript(ADOPT.identity),
    migrate: migrateScript({ container: "copilotos-prod-api-1a2b3c4d", command: ["python", "-m", "scripts.migrate"] }),
    maintenanceOff: maintenanceScript("copilotos-prod-proxy", false),
    readyNotifying: readyGateScript({
      container: "c",
      timeoutSeconds: 60,
      intervalSeconds: 2,
      notify: { identity: { project: "copilotos", stack: "prod" }, service: "api" },
    }),
    healthNotifying: healthGateScript({
      container: "c",
      url: "http://127.0.0.1:8001/api/health",
      timeoutSeconds: 60,
      intervalSeconds: 2,
      notify: { identity: { project: "copilotos", stack: "prod" }, service: "web" },
    }),
    maintenanceOnSilenced: maintenanceScript("copilotos-prod-proxy", true, { project: "copilotos", stack: "prod" }),
    maintenanceOffSilenced: maintenanceScript("copilotos-prod-proxy", false, { project: "copilotos", stack: "prod" }),
    drillNewest: drillScript({ container: "copilotos-prod-mongo", dir: "~/copilotos-backups", prefix: "copilotos-prod-mongo", image: "mongo:7" }),
    drillSwarm: drillScript({
      container: "copilotos-prod-mongo",
      dir: "~/copilotos-backups",
      prefix: "copilotos-prod-mongo",
      image: "mongo:7",
      swarm: { service: "copilotos-prod-mongo", node: "node-1" },
    }),
    drillNamed: drillScript({
      container: "copilotos-prod-mongo",
      dir: "/srv/backups",
      prefix: "copilotos-prod-mongo",
      image: "mongo:7",
      file: "copilotos-prod-mongo-20261125T101500Z.tar",
    }),
    // The proxy container's command (its routes kept on its volume).
    proxyStart: proxyStartScript(),
    // What the crontab runs (the install step carries it in a quoted here-document, unchecked there).
    containerMetricsJob: containerMetricsJob({ project: "copilotos", stack: "prod" }, "copilotos-prod-node-exporter"),
    scheduledJob: scheduledJob(backupScript({ container: "c", volume: "v", dir: "~/b", prefix: "copilotos-prod-mongo", keep: 7, image: "mongo:7" })),
    // On a swarm: the data node checked, Mongo's task found by label.
    swarmBackup: backupScript({
      container: "c",
      volume: "v",
      dir: "~/b",
      prefix: "copilotos-prod-mongo",
      keep: 7,
      image: "mongo:7",
      swarm: { service: "copilotos-prod-mongo", node: "node-1" },
    }),
    // On one host with Mongo's image: data and no Mongo running (a new host) re-keyed by a throwaway mongod; a compose Mongo taken as it is.
    rotationOntoNewHost: rotationScript({
      container: "copilotos-prod-mongo",
      volume: "copilotos-prod-mongo-data",
      user: "copilotos_user",
      image: "mongo@sha256:ab",
      compose: { project: "copilotos", service: "mongodb" },
    }),
    // A password change on a swarm: in Mongo's task on the data node.
    swarmRotation: rotationScript({
      container: "copilotos-prod-mongo",
      volume: "copilotos-prod-mongo-data",
      user: "copilotos_user",
      swarm: { service: "copilotos-prod-mongo", node: "node-1" },
    }),
    // With monitoring: the job runs itself, then records the result; its install records the schedule's start.
    scheduledJobWithMetrics: scheduledJob("set -eu\necho backing up\n", { project: "copilotos", stack: "prod" }),
    installWithStart: installScheduleScript({
      identity: { project: "copilotos", stack: "prod" },
      schedule: "30 3 * * *",
      job: "#!/bin/sh\n",
      setup: scheduleStartLines({ project: "copilotos", stack: "prod" }),
    }),
  };
  expect(
    Object.entries(scripts)
      .map(([name, text]) => [name, shellcheck(text).stdout.trim()])
      .filter(([, out]) => out !== ""),
  ).toEqual([]);
});

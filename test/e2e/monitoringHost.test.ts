/**
 * The host-level alerts on a test host of their own (`npm test` runs it as project "monitoring-host"
 * on test host 7, beside the service alerts' suite on host 6): a stack with HTTPS and monitoring,
 * its engine's data root on a small file system of its own (COPILOTOS_TEST_HOST_DISK_MB), and two
 * faults measured from their end to the notification and back to resolved: the disk Docker keeps its
 * data on filled past `diskFreePercent`, and a certificate near its expiry served by the proxy.
 * Ends with its own `alerts: …` line (`npm run bench -- alerts` sums it with the other suite's).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { StackRig } from "../support/stackRig";
import { startWebhookReceiver, WebhookReceiver, Notification } from "../support/webhookReceiver";
import { AlertScenarios } from "../support/alertScenarios";
import { buildStandins } from "../support/standins";
import { buildMonitoringStandins, MONITORING_STANDIN_SETTINGS } from "../support/monitoringImages";
import { makeTestCa, TestCa } from "../support/testCa";
import { DATA_ROOT, DISK_MB } from "../support/testHost";
import { get } from "../support/loadClient";
import { host, promQuery, removeProject } from "./support";

jest.setTimeout(900_000);
if (!(DISK_MB > 0)) throw new Error("the host alerts' suite fills its test host's disk: run it with COPILOTOS_TEST_HOST_DISK_MB (npm test sets 2048)");
const DOCKER = ["-H", `unix://${host.remoteSocket}`];
const OUTSIDE = host.target.address.replace(/\.2$/, ".1");
const rig = new StackRig("staging");
const SETTINGS = [
  "copilotos:monitoring.enabled=true",
  "copilotos:monitoring.alerts.groupIntervalMinutes=1",
  "copilotos:tls.ports.web=3543",
  "copilotos:tls.ports.api=8543",
  ...MONITORING_STANDIN_SETTINGS,
];
const FILL = `${DATA_ROOT}/copilotos-test-fill`;
const log = (line: string) => process.stdout.write(`  ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let hook: WebhookReceiver;
let received: Notification[] = [];
const alerts = new AlertScenarios(() => received, log);
/** Certificates for the proxy: one valid 60 days, one 5 (within the default 14 of CertificateExpiring). */
let longCert: TestCa;
let shortCert: TestCa;

/** Deploys the stack serving `cert`. */
const deployWith = (cert: TestCa) =>
  rig.deploy([...SETTINGS, `copilotos:tls.certificate=${cert.cert}`], log, undefined, [
    `copilotos:tls.key=${cert.key}`,
    `copilotos:alertWebhookUrl=${hook.url}`,
  ]);

/** The data root's file system: its size and what is free to the engine, in bytes. */
function disk(): { size: number; avail: number } {
  const s = fs.statfsSync(DATA_ROOT);
  return { size: s.blocks * s.bsize, avail: s.bavail * s.bsize };
}

/** A PromQL query's values by `label`, read inside Prometheus's container. */
function query(promql: string, label: string): Record<string, number> {
  return Object.fromEntries(promQuery("copilotos-staging-prometheus", promql).map((r) => [r.metric[label] ?? "", Number(r.value[1])]));
}

beforeAll(async () => {
  removeProject();
  buildStandins(DOCKER);
  buildMonitoringStandins(DOCKER);
  longCert = makeTestCa([host.target.address], 60);
  shortCert = makeTestCa([host.target.address], 5);
  hook = await startWebhookReceiver(OUTSIDE, (n) => log(`webhook: ${n.status} ${n.alerts.map((a) => `${a.labels.alertname}(${a.status})`).join(", ")}`));
  received = hook.received;
  await deployWith(longCert);
});
afterAll(async () => {
  fs.rmSync(FILL, { force: true });
  await hook?.close();
  removeProject();
  longCert?.remove();
  shortCert?.remove();
  process.stdout.write(`${alerts.line()}\n`);
});

test("a healthy HTTPS stack: the certificate's expiry and the data disk are watched, and nothing fires", async () => {
  const deadline = Date.now() + 120_000;
  let expiry: Record<string, number> = {};
  let size: Record<string, number> = {};
  // Both scraped at least once (the probe and the node exporter are separate targets).
  while (Date.now() < deadline) {
    expiry = query("(probe_ssl_earliest_cert_expiry - time()) / 86400", "check");
    size = query('node_filesystem_size_bytes{mountpoint="/"}', "mountpoint");
    if (expiry.tls && size["/"]) break;
    await sleep(3000);
  }
  // The 60-day certificate, as the proxy serves it to the probe (and to a client that trusts the test CA).
  expect(Math.round(expiry.tls)).toBe(60);
  expect((await get(`https://${host.target.address}:3543/`, { ca: fs.readFileSync(longCert.caFile, "utf8") })).status).toBe(200);
  // The node exporter's "/" is the engine's data root: the small file system of this host.
  expect(Math.abs(size["/"] - disk().size) / disk().size).toBeLessThan(0.01);
  await sleep(45_000);
  expect(alerts.falseAlarms(0)).toEqual([]);
});

test("the data disk filled past diskFreePercent (10%): HostDiskFull; freeing it resolves", async () => {
  await alerts.scenario(
    "disk full",
    "HostDiskFull",
    () => {
      // Leave 5% of the file system free: blocks allocated for real (fallocate), not a sparse file.
      const { size, avail } = disk();
      execFileSync("fallocate", ["-l", String(Math.floor(avail - size * 0.05)), FILL]);
      log(`disk: ${((disk().avail / disk().size) * 100).toFixed(1)}% free`);
    },
    () => fs.rmSync(FILL),
  );
});

test("a certificate 5 days from its expiry served by the proxy: CertificateExpiring; a renewed one resolves", async () => {
  await alerts.scenario(
    "certificate near expiry",
    "CertificateExpiring",
    () => deployWith(shortCert),
    () => deployWith(longCert),
  );
});

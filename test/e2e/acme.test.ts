/**
 * tls.acme on the real test host, against a real ACME server: pebble (Let's Encrypt's test server) on
 * this machine's end of the test host's link, its DNS resolving every name to the test host, and
 * certbot (Debian's, in a stand-in image) answering its real HTTP-01 challenges. The first `up` gets
 * the certificate with certbot's own server (no proxy yet); the renewal job, run as cron runs it but
 * forced, renews it through the proxy's webroot under load: no request fails and the new certificate
 * is served. Ends with `tls: issued=yes renewed=yes renew_failed=<n> requests=<n> new_cert_served=yes`.
 */
import * as tls from "node:tls";
import { runOnHost } from "../../scripts/stack/hostExec";
import { acmeVolumeNames, certificateStatusLines } from "../../components/renderers/operations/acme";
import { jobFile } from "../../components/renderers/operations/backupSchedule";
import { lines } from "../../components/renderers/shell";
import { Pebble, startPebble } from "../support/acme";
import { failuresOf, get, NO_FAILURES, startLoad } from "../support/loadLoop";
import { StackRig } from "../support/stackRig";
import { buildStandins } from "../support/standins";
import { certbotImage } from "../support/testImages";
import { host, removeProject } from "./support";

jest.setTimeout(600_000);
const ADDRESS = host.target.address;
/** This machine's end of the link: where pebble listens, reachable from the test host's containers. */
const OUTSIDE = ADDRESS.replace(/\.2$/, ".1");
const NAME = "chat.copilotos.test";
const HTTP_PORT = 5002;
const CERTBOT = "cpt-standin/certbot:1";
const id = { project: "copilotos", stack: "staging" };
const rig = new StackRig("staging");
let pebble: Pebble;
let root: string;
const report = { issued: false, renewed: false, failed: -1, requests: 0, served: false };
const log = (line: string) => process.stdout.write(`  ${line}\n`);

/** The served certificate's fingerprint on the web's HTTPS port, checked against pebble's root and the name. */
const servedCert = () =>
  new Promise<tls.PeerCertificate>((resolve, reject) => {
    const s = tls.connect({ host: ADDRESS, port: 443, servername: NAME, ca: root }, () => {
      resolve(s.getPeerCertificate());
      s.end();
    });
    s.on("error", reject);
  });

const config = () => [
  "copilotos:tls.acme.email=ops@copilotos.test",
  `copilotos:tls.acme.domains=["${NAME}"]`,
  `copilotos:tls.acme.directory=${pebble.directory}`,
  `copilotos:tls.acme.httpPort=${HTTP_PORT}`,
  `copilotos:images.certbot=${CERTBOT}`,
];

beforeAll(async () => {
  removeProject();
  buildStandins(["-H", `unix://${host.remoteSocket}`]);
  pebble = await startPebble({ listen: OUTSIDE, namesResolveTo: ADDRESS, httpPort: HTTP_PORT });
  certbotImage(["-H", `unix://${host.remoteSocket}`], CERTBOT, pebble.listenerCa);
  root = await pebble.root();
});
afterAll(async () => {
  await pebble?.stop();
  removeProject();
  process.stdout.write(
    `tls: issued=${report.issued ? "yes" : "no"} renewed=${report.renewed ? "yes" : "no"} renew_failed=${report.failed} requests=${report.requests} new_cert_served=${report.served ? "yes" : "no"}\n`,
  );
});

test("the first up gets a certificate from the ACME server (certbot's own HTTP-01 server: no proxy yet) and the proxy serves it", async () => {
  const steps = await rig.deploy(config(), log);
  const issue = steps.find((s) => s.name === "copilotos-tls-issue");
  expect(issue?.action).toBe("create");
  expect(issue?.output).toContain(`tls: answering the HTTP-01 challenge with certbot's own server on port ${HTTP_PORT} (no proxy yet)`);
  const cert = await servedCert();
  expect(cert.subjectaltname).toBe(`DNS:${NAME}`);
  // The plain web port redirects to HTTPS under the certificate's name; the API answers over HTTPS.
  const redirect = await get(`http://${ADDRESS}:3100/`, { headers: { Host: NAME } });
  expect([redirect.status, redirect.headers.location]).toEqual([301, `https://${NAME}/`]);
  const health = await get(`https://${ADDRESS}:8443/api/health`, { ca: root, servername: NAME, headers: { Host: NAME } });
  expect(health.status).toBe(200);
  report.issued = true;
  // The renewal job is in the deploy user's crontab; run unforced it has nothing to do.
  expect((await runOnHost(host.target, "crontab -l")).stdout).toContain(`# copilotos renew copilotos-staging`);
  const job = await runOnHost(host.target, `sh "$HOME/${jobFile(id, "renew")}"`);
  expect(job.stdout).toMatch(new RegExp(`tls: the certificate for ${NAME.replace(/\./g, "\\.")} is good until \\S+ \\(\\d+ days left\\); nothing to do`));
  // ops status shows when it expires.
  const status = await runOnHost(
    host.target,
    lines(
      "set -eu",
      ...certificateStatusLines({ image: CERTBOT, volumes: acmeVolumeNames(id), domains: [NAME], renewBeforeDays: 30, directory: pebble.directory }),
    ),
  );
  expect(status.stdout).toMatch(/^certificate: expires \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(\d+ days left\)\n$/);
});

test("a renewal forced under load goes through the proxy's webroot; no request fails; the new certificate is served", async () => {
  const before = await servedCert();
  const load = startLoad(`https://${ADDRESS}:443/`, { minRequests: 200, clients: 4, ca: root, servername: NAME });
  let job;
  try {
    await load.reached(50);
    job = await runOnHost(host.target, `sh "$HOME/${jobFile(id, "renew")}" --force`);
    await load.reached(load.count() + 100);
  } finally {
    load.stop();
  }
  const result = await load.done;
  expect(job.code).toBe(0);
  expect(job.stdout).toContain(`tls: answering the HTTP-01 challenge through the proxy on port ${HTTP_PORT}`);
  expect(job.stdout).toContain("tls: the proxy reloaded gracefully with the new certificate");
  report.failed = result.failed;
  report.requests = result.requests;
  expect(failuresOf(result)).toEqual(NO_FAILURES);
  report.renewed = true;
  const after = await servedCert();
  expect(after.fingerprint256).not.toBe(before.fingerprint256);
  expect(after.subjectaltname).toBe(`DNS:${NAME}`);
  report.served = true;
});

test("the next up with the same config has nothing to do for the certificate", async () => {
  const steps = await rig.deploy(config(), log);
  expect(
    steps
      .filter((s) => s.name.startsWith("copilotos-tls-"))
      .map((s) => `${s.action} ${s.name}`)
      .sort(),
  ).toEqual(["same copilotos-tls-issue", "same copilotos-tls-renewal", "same copilotos-tls-state", "same copilotos-tls-tls", "same copilotos-tls-webroot"]);
});

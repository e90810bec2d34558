/**
 * tls.acme without a host: the config, the served certificate's state as the real python3 and
 * cryptography read it, the certbot command lines, and how the program wires the certificate, the
 * proxy and the renewal. On a real host with a real ACME server (pebble): test/e2e/acme.test.ts.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseConfig } from "../components/config";
import { acmeScript, AcmeSpec, CERT_STATE_PY } from "../components/renderers/operations/acme";
import { parseStatus } from "../components/renderers/operations/ops";
import { proxyConf } from "../components/renderers/proxy";
import { minimalConfig } from "./support/config";
import { CONTAINER, fileOf, ofType, runStack } from "./support/program";
import { makeTestCa } from "./support/testCa";

const LE = "https://acme-v02.api.letsencrypt.org/directory";
const SPEC: AcmeSpec = {
  stack: "copilotos-prod",
  image: "certbot/certbot:v5",
  email: "ops@example.com",
  domains: ["chat.example.com", "api.example.com"],
  directory: LE,
  httpPort: 80,
  renewBeforeDays: 30,
  volumes: { state: "copilotos-prod-acme", webroot: "copilotos-prod-acme-webroot", tls: "copilotos-prod-tls" },
  proxy: "copilotos-prod-proxy",
};

describe("config: tls.acme", () => {
  const acme = { email: "ops@example.com", domains: ["chat.example.com"] };
  test("defaults: Let's Encrypt, HTTP-01 on 80, renewed 30 days before expiry, checked twice a day", () => {
    expect(parseConfig({ ...minimalConfig(), tls: { acme } }).tls).toEqual({
      acme: { ...acme, directory: LE, httpPort: 80, renewBeforeDays: 30, schedule: "17 3,15 * * *" },
      ports: { web: 443, api: 8443 },
    });
  });
  test.each([
    [{ acme, certificate: "-----BEGIN CERTIFICATE-----x" }, "copilotos:tls.certificate: is set with tls.acme too"],
    [{ ports: { web: 443 } }, "copilotos:tls.certificate: is required with tls (or set tls.acme for a certificate from ACME)"],
    [{ acme: { ...acme, domains: ["Chat.Example.com"] } }, "copilotos:tls.acme.domains.0: must be a DNS name"],
    [{ acme: { ...acme, domains: [] } }, "copilotos:tls.acme.domains: must name 1 to 100 DNS names"],
    [{ acme: { ...acme, email: "ops" } }, "copilotos:tls.acme.email: must be an e-mail address"],
    [{ acme: { ...acme, directory: "http://ca.example.com/dir" } }, "copilotos:tls.acme.directory: must be an https:// URL"],
    [{ acme: { ...acme, httpPort: 3000 } }, "copilotos:tls.acme.httpPort: is 3000, a port the stack already publishes"],
  ])("%j is refused by key", (tls, message) => {
    expect(() => parseConfig({ ...minimalConfig(), tls })).toThrow(message);
  });
});

describe("the served certificate's state, read by the real python3 and cryptography", () => {
  let dir: string;
  const ca = makeTestCa();
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "cpt-acme-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  afterAll(() => ca.remove());
  const state = (names: string, days: number, directory = LE) =>
    spawnSync("python3", ["-c", CERT_STATE_PY.replace(/\/tls\//g, `${dir}/`), names, String(days), directory], { encoding: "utf8" }).stdout.trim();
  const serve = () => {
    fs.writeFileSync(path.join(dir, "cert.pem"), ca.cert);
    fs.writeFileSync(path.join(dir, "directory"), LE);
  };
  test("no certificate: missing", () => {
    expect(state("localhost", 30)).toBe("missing");
  });
  test("its names, its CA, far from expiry: ok with the expiry and the days left", () => {
    serve();
    // The test CA's leaf lives two days.
    expect(state("localhost", 1)).toMatch(/^ok \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ [01]$/);
  });
  test("within renewBeforeDays: due", () => {
    serve();
    expect(state("localhost", 30)).toMatch(/^due \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ [01]$/);
  });
  test("other names: names; another CA: directory", () => {
    serve();
    expect(state("localhost,chat.example.com", 1)).toBe("names");
    expect(state("localhost", 1, "https://acme-staging-v02.api.letsencrypt.org/directory")).toBe("directory");
  });
});

describe("the certificate script", () => {
  const script = acmeScript(SPEC);
  const certbot = `certonly --non-interactive --agree-tos --email ops@example.com --server ${LE} --cert-name copilotos-prod --force-renewal -d chat.example.com -d api.example.com`;
  test("through the proxy's webroot when the proxy runs, else certbot's own server on httpPort", () => {
    expect(script).toContain(`  certbot_run "$img" ${certbot} --webroot -w /var/www/acme\n`);
    expect(script).toContain(`  certbot_run -p 80:80 "$img" ${certbot} --standalone\n`);
  });
  test("nothing to do while the served certificate is good; --force renews now", () => {
    expect(script).toContain(
      'case "${1:-}:$now" in :ok*) set -- $now; echo "tls: the certificate for chat.example.com,api.example.com is good until $2 ($3 days left); nothing to do"; exit 0 ;; esac',
    );
  });
  test("the proxy reloads gracefully only when it runs, after nginx checked its config", () => {
    expect(script).toContain(`docker exec "$proxy" sh -c 'nginx -t -q && nginx -s reload'`);
  });
});

test("the proxy's config: the web's redirect port serves HTTP-01 challenges and redirects everything else", () => {
  const conf = proxyConf({
    contentSecurityPolicy: "default-src 'self'",
    hsts: true,
    apiRateLimitPerSecond: 0,
    maxBodyMb: 100,
    apiReadTimeoutSeconds: 3600,
    tls: { hostPorts: { web: 443, api: 8443 }, acme: true },
  });
  expect(conf).toContain(
    [
      "  server {",
      "    listen 3080;",
      "    location /.well-known/acme-challenge/ { root /var/www/acme; }",
      "    location / { return 301 https://$host$request_uri; }",
      "  }",
    ].join("\n"),
  );
  expect(conf).toContain(["  server {", "    listen 8080;", "    return 308 https://$host:8443$request_uri;", "  }"].join("\n"));
});

describe("the program: prod's tls.acme", () => {
  test("three volumes, the certificate before the proxy, the proxy mounting them and answering HTTP-01 on 80, a renewal job", async () => {
    const run = await runStack("prod");
    const issue = run.resources.find((r) => r.name === "copilotos-tls-issue")!;
    const renewal = run.resources.find((r) => r.name === "copilotos-tls-renewal")!;
    expect(String(issue.inputs.create)).toMatch(
      /^# tls: a certificate for chat\.example\.com from https:\/\/acme-v02\.api\.letsencrypt\.org\/directory \(HTTP-01 on port 80\)/,
    );
    expect(issue.inputs.triggers).toEqual([]);
    expect(issue.deps).toEqual(expect.arrayContaining(["copilotos-tls-state", "copilotos-tls-webroot", "copilotos-tls-tls"]));
    expect(String(renewal.inputs.create)).toContain("# copilotos renew copilotos-prod");
    expect(String(renewal.inputs.delete)).toContain("renew schedule: removed for copilotos-prod");
    const proxy = ofType(run, CONTAINER).find((c) => c.name === "copilotos-proxy-container")!;
    expect(proxy.opts.dependsOn).toContain("copilotos-tls-issue");
    expect(proxy.inputs.volumes).toEqual(
      expect.arrayContaining([
        { volumeName: "copilotos-prod-tls", containerPath: "/etc/nginx/tls", readOnly: true },
        { volumeName: "copilotos-prod-acme-webroot", containerPath: "/var/www/acme", readOnly: true },
      ]),
    );
    expect(proxy.inputs.ports).toEqual(expect.arrayContaining([{ internal: 3080, external: 80, ip: "0.0.0.0", protocol: "tcp" }]));
    // No pair copied in: the volume holds it, and the renewal rewrites it.
    expect(() => fileOf(run, proxy, "/etc/nginx/tls/key.pem")).toThrow("no files writer fills copilotos-prod-tls");
    expect(fileOf(run, proxy, "/etc/nginx/nginx.conf")).toContain("location /.well-known/acme-challenge/ { root /var/www/acme; }");
  });
});

test("ops status --json reads the certificate's line: its expiry, days left, whether it is due; or why there is none", () => {
  expect(parseStatus("certificate: expires 2027-03-05T10:00:00Z (89 days left)\n").certificate).toEqual({
    expires: "2027-03-05T10:00:00Z",
    daysLeft: 89,
    dueForRenewal: false,
  });
  expect(parseStatus("certificate: expires 2027-01-01T10:00:00Z (26 days left), due for renewal\n").certificate).toEqual({
    expires: "2027-01-01T10:00:00Z",
    daysLeft: 26,
    dueForRenewal: true,
  });
  expect(parseStatus("certificate: missing (run pulumi up)\n").certificate).toEqual({ none: "missing (run pulumi up)" });
});

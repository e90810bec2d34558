/** HTTPS at the proxy (config `tls`): what the config accepts, and what the program makes of it. */
import { ConfigError, parseConfig, withSecrets } from "../components/config";
import { tlsProblem } from "../components/config/sections";
import { containerOf, fileOf, runStack, writerOf } from "./support/program";
import { minimalConfig, problemsOf } from "./support/config";
import { makeTestCa, TestCa } from "./support/testCa";

let ca: TestCa;
beforeAll(() => {
  ca = makeTestCa();
});
afterAll(() => ca.remove());

const base = minimalConfig();

describe("config tls", () => {
  test("a certificate with its key parses; HTTPS ports default to 443 (web) and 8443 (API)", () => {
    expect(parseConfig({ ...base, tls: { certificate: ca.cert, key: ca.key } }).tls).toEqual({
      certificate: ca.cert,
      key: ca.key,
      ports: { web: 443, api: 8443 },
    });
    expect(parseConfig(base).tls).toBeUndefined();
  });

  test("a key of another certificate is refused by name, without quoting either key", () => {
    const problems = problemsOf({ ...base, tls: { certificate: ca.cert, key: ca.otherKey } });
    expect(problems).toEqual([
      {
        key: "copilotos:tls.key",
        message: "is not the private key of tls.certificate (CN=localhost); set the pair that belongs together",
        fix: "pulumi config set --path --secret copilotos:tls.key <value>",
      },
    ]);
    expect(JSON.stringify(problems)).not.toContain(ca.otherKey.split("\n")[1]);
  });

  test.each([
    ["not PEM", () => ({ certificate: "hello", key: "hello" }), ["copilotos:tls.certificate", "copilotos:tls.key"]],
    [
      "a broken certificate",
      () => ({ certificate: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", key: ca.key }),
      ["copilotos:tls.certificate"],
    ],
    [
      "an encrypted or broken key",
      () => ({ certificate: ca.cert, key: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" }),
      ["copilotos:tls.key"],
    ],
    ["no key", () => ({ certificate: ca.cert }), ["copilotos:tls.key"]],
  ])("%s is refused, naming the key", (_n, tls, keys) => {
    expect(problemsOf({ ...base, tls: tls() }).map((p) => p.key)).toEqual(keys);
  });

  test("an expired certificate is refused with its date", () => {
    const later = new Date(Date.now() + 3 * 86400_000);
    expect(tlsProblem(ca.cert, ca.key)).toBeUndefined();
    expect(tlsProblem(ca.cert, ca.key, later)).toEqual({
      path: "certificate",
      message: expect.stringMatching(/^\(CN=localhost\) expired on \d{4}-\d\d-\d\dT.*; renew it \(docs\/operations\.md, HTTPS\)$/),
    });
  });

  test("a key set without --secret is refused before anything is created", () => {
    const parsed = parseConfig({ ...base, tls: { certificate: ca.cert, key: ca.key } });
    expect(() => withSecrets(parsed, "copilotos", "staging", () => false)).toThrow(ConfigError);
    expect(() => withSecrets(parsed, "copilotos", "staging", () => false)).toThrow(
      'copilotos:tls.key: is stored in plain text; a private key or credential must be set as a secret (it is encrypted in the stack\'s config then)\n    fix: pulumi config set --path --secret copilotos:tls.key "$(cat key.pem)"',
    );
    expect(withSecrets(parsed, "copilotos", "staging", (k) => k === "tls").tls?.certificate).toBe(ca.cert);
  });
});

describe("the program with tls", () => {
  const run = (extra: string[] = []) =>
    runStack("staging", [`copilotos:tls.certificate=${ca.cert}`, "copilotos:tls.ports.web=3543", ...extra], [`copilotos:tls.key=${ca.key}`]);

  test("the proxy publishes the redirect ports as ports.* and the HTTPS ports as tls.ports.*; the key is a secret 0400 file on the proxy's files volume", async () => {
    const r = await run();
    const proxy = containerOf(r, "proxy");
    expect(proxy.inputs.ports).toEqual([
      { internal: 8080, external: 8101, ip: "0.0.0.0", protocol: "tcp" },
      { internal: 3080, external: 3100, ip: "0.0.0.0", protocol: "tcp" },
      { internal: 8443, external: 8443, ip: "0.0.0.0", protocol: "tcp" },
      { internal: 3443, external: 3543, ip: "0.0.0.0", protocol: "tcp" },
    ]);
    // The pair and nginx.conf are files on volumes of their own (one per folder), which one writer fills.
    const writer = writerOf(r, proxy, "/etc/nginx/tls");
    expect(writerOf(r, proxy, "/etc/nginx").name).toBe(writer.name);
    const uploads = writer.inputs.uploads as { file: string; content: string; permissions?: string }[];
    expect(uploads.find((u) => u.file === "/etc/nginx/tls/key.pem")).toEqual({ file: "/etc/nginx/tls/key.pem", content: ca.key, permissions: "0400" });
    // One secret element makes the whole list a secret input (nginx.conf is then encrypted in the state too).
    expect(writer.secretPaths).toEqual(["uploads"]);
    expect(proxy.inputs.uploads).toBeUndefined();
    expect(fileOf(r, proxy, "/etc/nginx/tls/cert.pem")).toBe(ca.cert);
    const conf = fileOf(r, proxy, "/etc/nginx/nginx.conf");
    expect(conf).toContain("return 308 https://$host:8443$request_uri;");
    expect(conf).toContain("return 301 https://$host:3543$request_uri;");
    expect(r.outputs.webUrl).toEqual({ value: "https://203.0.113.10:3543", isSecret: false });
    expect(r.outputs.apiHealthUrl).toEqual({ value: "https://203.0.113.10:8443/api/health", isSecret: false });
    expect(JSON.stringify(r.outputs)).not.toContain(ca.key.split("\n")[1]);
  });

  test("health gates poll the HTTPS ports on loopback; pre-flight checks the HTTPS ports are free", async () => {
    const r = await run();
    const gates = r.resources.filter((x) => x.name.endsWith("-health-wait"));
    expect(gates.map((g) => String(g.inputs.create).match(/url=(\S+)/)?.[1]).sort()).toEqual([
      "https://127.0.0.1:3543/",
      "https://127.0.0.1:8443/api/health/ready",
    ]);
    expect(String(gates[0].inputs.create)).toContain("curl -sk -o /dev/null");
    const preflight = r.resources.find((x) => x.name.endsWith("-preflight-check"))!;
    for (const port of [3100, 8101, 3543, 8443]) expect(String(preflight.inputs.create)).toContain(String(port));
  });
});

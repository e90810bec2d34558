/** HTTPS at every edge proxy of a swarm (config `tls` with a certificate and key), under the mock runtime. */
import * as path from "node:path";
import { parseConfig } from "../components/config";
import { swarmSecretName } from "../components/renderers/swarm/services";
import { minimalConfig, problemsOf, swarmHost } from "./support/config";
import { ofType, runStack } from "./support/program";
import type { ProgramRun, RecordedResource } from "../scripts/mockRuntime/harness";
import { makeTestCa, TestCa } from "./support/testCa";
import { evaluate, toGraph } from "../policies/evaluate";
import { SECRET, SERVICE } from "../policies/swarmLib";

const fixtures = path.join(__dirname, "fixtures");
const id = { project: "copilotos", stack: "swarm" };

let ca: TestCa;
let run: ProgramRun;
beforeAll(async () => {
  ca = makeTestCa();
  run = await runStack("swarm", [`copilotos:tls.certificate=${ca.cert}`], [`copilotos:tls.key=${ca.key}`], fixtures);
});
afterAll(() => ca.remove());

const serviceOf = (r: ProgramRun, name: string): RecordedResource => ofType(r, SERVICE).find((s) => s.inputs.name === `copilotos-swarm-${name}`)!;
interface ProxyTask {
  containerSpec: { env: Record<string, string>; secrets: { fileName: string; fileMode: number; secretName: string }[] };
}
const proxyConfOf = (r: ProgramRun) =>
  Buffer.from(
    String(ofType(r, "docker:index/serviceConfig:ServiceConfig").find((c) => c.name === "copilotos-proxy-nginx-conf")!.inputs.data),
    "base64",
  ).toString();

test("tls.acme is refused on a swarm by name; a certificate and key parse", () => {
  const problems = problemsOf({ ...minimalConfig(), host: swarmHost(), tls: { acme: { email: "ops@example.com", domains: ["chat.example.com"] } } });
  expect(problems).toEqual([
    expect.objectContaining({
      key: "copilotos:tls.acme",
      message: "is not supported on a swarm (the renewal runs on one host): set tls.certificate and tls.key, which every edge proxy serves",
    }),
  ]);
  expect(parseConfig({ ...minimalConfig(), host: swarmHost(), tls: { certificate: ca.cert, key: ca.key } }).tls).toMatchObject({
    ports: { web: 443, api: 8443 },
  });
});

test("every edge proxy publishes the HTTPS ports as tls.ports.* and the redirect ports as ports.*, in host mode", () => {
  const ports = (r: ProgramRun) => (serviceOf(r, "proxy").inputs.endpointSpec as { ports: unknown[] }).ports;
  expect(ports(run)).toEqual([
    { targetPort: 8080, publishedPort: 8001, publishMode: "host", protocol: "tcp" },
    { targetPort: 3080, publishedPort: 3000, publishMode: "host", protocol: "tcp" },
    { targetPort: 8443, publishedPort: 8443, publishMode: "host", protocol: "tcp" },
    { targetPort: 3443, publishedPort: 443, publishMode: "host", protocol: "tcp" },
  ]);
});

test("the pair is two Docker secrets named by hash at the single host's paths, the key 0400; the key's data is secret", () => {
  const secrets = (serviceOf(run, "proxy").inputs.taskSpec as ProxyTask).containerSpec.secrets;
  expect(secrets.map((s) => [s.fileName, s.fileMode, s.secretName])).toEqual([
    ["/etc/nginx/tls/cert.pem", 0o444, swarmSecretName(id, "tls_cert", ca.cert)],
    ["/etc/nginx/tls/key.pem", 0o400, swarmSecretName(id, "tls_key", ca.key)],
  ]);
  const key = ofType(run, SECRET).find((s) => s.inputs.name === swarmSecretName(id, "tls_key", ca.key))!;
  expect(key.secretPaths).toContain("data");
  expect(Buffer.from(String(key.inputs.data), "base64").toString()).toBe(ca.key);
  // Nothing of the key in any service's spec, nor in the outputs.
  const keyLine = ca.key.split("\n")[1];
  for (const s of ofType(run, SERVICE)) expect(JSON.stringify(s.inputs)).not.toContain(keyLine);
  expect(JSON.stringify(run.outputs)).not.toContain(keyLine);
});

test("the proxy's nginx.conf serves HTTPS with the pair, redirects the plain ports, sends HSTS over HTTPS only, and still reaches the apps by DNS", () => {
  const conf = proxyConfOf(run);
  expect(conf).toContain("    listen 3443 ssl;\n");
  expect(conf).toContain("    ssl_certificate /etc/nginx/tls/cert.pem;\n    ssl_certificate_key /etc/nginx/tls/key.pem;\n");
  expect(conf).toContain("    listen 8080;\n    return 308 https://$host:8443$request_uri;\n");
  expect(conf).toContain("    listen 3080;\n    return 301 https://$host$request_uri;\n");
  // HSTS on the two HTTPS servers only.
  expect(conf.split('add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;').length - 1).toBe(2);
  expect(conf).toContain("set $copilotos_api http://copilotos-swarm-api:8001;");
});

test("the API allows the HTTPS origins of every edge; the outputs are the HTTPS entry; the pre-flight checks the HTTPS ports too", () => {
  const env = (serviceOf(run, "api").inputs.taskSpec as ProxyTask).containerSpec.env;
  expect(JSON.parse(env.CORS_ORIGINS)).toEqual(["https://node-1", "https://node-2", "https://203.0.113.20"]);
  expect(run.outputs.webUrl).toEqual({ value: "https://node-1", isSecret: false });
  expect(run.outputs.apiHealthUrl).toEqual({ value: "https://node-1:8443/api/health", isSecret: false });
  const preflight = run.resources.find((r) => r.name === "copilotos-preflight-check")!;
  expect(String(preflight.inputs.create)).toContain("ports 3000,8001,443,8443 published by no other service");
  expect(String(preflight.inputs.create)).toContain("for port in 3000 8001 443 8443; do");
});

test("the policy pack passes the graph with tls cleanly; the proxy without its certificate secret fires tls-enabled", () => {
  const graph = toGraph(run.resources);
  expect(evaluate(graph)).toEqual([]);
  const stripped = graph.map((r) =>
    r.type === SERVICE && r.props.name === "copilotos-swarm-proxy"
      ? {
          ...r,
          props: {
            ...r.props,
            taskSpec: { ...(r.props.taskSpec as ProxyTask), containerSpec: { ...(r.props.taskSpec as ProxyTask).containerSpec, secrets: [] } },
          },
        }
      : r,
  );
  expect(evaluate(stripped).map((v) => [v.rule, v.level, v.resource])).toEqual([["tls-enabled", "advisory", "copilotos-proxy"]]);
});

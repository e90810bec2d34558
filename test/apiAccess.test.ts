/**
 * The app answers only the hosts in ALLOWED_HOSTS (its TrustedHostMiddleware: default localhost,
 * 127.0.0.1, testserver) and lets only CORS_ORIGINS call it from a browser (default
 * http://localhost:3000): behind the stack's proxy, on any other address, it answered 400 to every
 * browser and to the web's server side until the stack set both to its own names. The e2e proof
 * (the stand-in keeps the app's rule) is in test/e2e/localStack.test.ts and the stack suites.
 */
import { parseConfig } from "../components/config";
import { apiAccessOf, apiEnv } from "../components/renderers/services/containers";
import { problemsOf, minimalConfig } from "./support/config";
import { containerOf, runStack } from "./support/program";
import { makeTestCa } from "./support/testCa";

const accessOf = (env: unknown) => (env as string[]).filter((e) => /^(ALLOWED_HOSTS|CORS_ORIGINS)=/.test(e));

test("the stack's own names: its address, proxy (the web's server side), localhost and 127.0.0.1; the web URL as the origin", () => {
  expect(apiAccessOf(["203.0.113.10"], ["http://203.0.113.10:3000"])).toEqual({
    allowedHosts: ["203.0.113.10", "proxy", "localhost", "127.0.0.1"],
    corsOrigins: ["http://203.0.113.10:3000"],
  });
  expect(apiAccessOf(["localhost"], ["http://localhost:3000", "http://localhost:3000"])).toEqual({
    allowedHosts: ["localhost", "proxy", "127.0.0.1"],
    corsOrigins: ["http://localhost:3000"],
  });
  const env = apiEnv({
    mongo: { user: "u", host: "mongodb", port: 27017, database: "d" },
    redis: { host: "redis", port: 6379 },
    extra: { CORS_ORIGINS: "https://mine.example" },
    access: { allowedHosts: ["a.example", "proxy"], corsOrigins: ["https://a.example"] },
  });
  // JSON lists, which the app reads first; api.env still wins.
  expect(accessOf(env)).toEqual(['ALLOWED_HOSTS=["a.example","proxy"]', "CORS_ORIGINS=https://mine.example"]);
});

describe("the program", () => {
  test("an ssh stack: its address and its web URL", async () => {
    const run = await runStack("staging");
    expect(accessOf(containerOf(run, "api").inputs.envs)).toEqual([
      'ALLOWED_HOSTS=["203.0.113.10","proxy","localhost","127.0.0.1"]',
      'CORS_ORIGINS=["http://203.0.113.10:3100"]',
    ]);
  });

  test("with HTTPS the origin is the https one (the plain port only redirects)", async () => {
    const ca = makeTestCa();
    try {
      const run = await runStack("staging", [`copilotos:tls.certificate=${ca.cert}`, "copilotos:tls.ports.web=3543"], [`copilotos:tls.key=${ca.key}`]);
      expect(accessOf(containerOf(run, "api").inputs.envs)[1]).toBe('CORS_ORIGINS=["https://203.0.113.10:3543"]');
    } finally {
      ca.remove();
    }
  });

  test("config api.allowedHosts and api.corsOrigins replace the defaults", async () => {
    const run = await runStack("prod", ['copilotos:api.allowedHosts=["chat.example.com","proxy"]', 'copilotos:api.corsOrigins=["https://chat.example.com"]']);
    expect(accessOf(containerOf(run, "api").inputs.envs)).toEqual(['ALLOWED_HOSTS=["chat.example.com","proxy"]', 'CORS_ORIGINS=["https://chat.example.com"]']);
  });
});

test("config: hosts and origins are checked, naming the key", () => {
  expect(parseConfig({ ...minimalConfig(), api: { allowedHosts: ["chat.example.com", "*.example.com", "10.0.0.1"] } }).api.allowedHosts).toEqual([
    "chat.example.com",
    "*.example.com",
    "10.0.0.1",
  ]);
  expect(problemsOf({ ...minimalConfig(), api: { allowedHosts: ["chat.example.com/x"] } }).map((p) => [p.key, p.message])).toEqual([
    ["copilotos:api.allowedHosts.0", "must be a host name, an address, *.domain or *"],
  ]);
  expect(problemsOf({ ...minimalConfig(), api: { corsOrigins: ["chat.example.com"] } }).map((p) => [p.key, p.message])).toEqual([
    ["copilotos:api.corsOrigins.0", "must be an origin such as https://chat.example.com, or *"],
  ]);
});

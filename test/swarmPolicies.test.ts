/** The policy pack over the swarm stack's graph: it passes, and each mutation fires the rule it should. */
import * as path from "node:path";
import { evaluate as evaluateAll, GraphResource, toGraph } from "../policies/evaluate";
import { runStack } from "./support/program";

let graph: GraphResource[];
beforeAll(async () => {
  graph = toGraph((await runStack("swarm", [], [], path.join(__dirname, "fixtures"))).resources);
});

type Props = Record<string, unknown>;
/** The graph with one service's (or secret's) props changed by `change`. */
function mutate(match: (r: GraphResource) => boolean, change: (p: Props) => Props): GraphResource[] {
  return graph.map((r) => (match(r) ? { ...r, props: change(structuredClone(r.props)) } : r));
}
const service = (svc: string) => (r: GraphResource) => r.type === "docker:index/service:Service" && r.props.name === `copilotos-swarm-${svc}`;
const task = (p: Props) =>
  p.taskSpec as {
    containerSpec: Props & { env: Record<string, string>; secrets: { fileName: string; secretId: string }[] };
    placement: { constraints: string[] };
  };
const rulesOf = (rs: GraphResource[]) => [...new Set(evaluate(rs).map((v) => v.rule))].sort();

/** The fixture serves plain HTTP: tls-enabled's advisory on its edge proxies (test/swarmTls.test.ts: with tls, none). */
const PLAIN_HTTP = {
  rule: "tls-enabled",
  level: "advisory",
  resource: "copilotos-proxy",
  message: "copilotos-proxy: the edge proxies serve plain HTTP only; set tls.certificate and tls.key (a Docker secret each).",
};
/** Every rule but tls-enabled, whose advisory the plain-HTTP fixture always has (asserted on its own above). */
const evaluate = (rs: GraphResource[]) => evaluateAll(rs, { "tls-enabled": "disabled" });

test("the swarm graph passes every rule but tls-enabled's advisory (plain HTTP), with its monitoring too (ten services, two more Docker secrets)", async () => {
  expect(evaluateAll(graph)).toEqual([PLAIN_HTTP]);
  const monitored = toGraph((await runStack("swarm", ["copilotos:monitoring.enabled=true"], [], path.join(__dirname, "fixtures"))).resources);
  expect(monitored.filter((r) => r.type === "docker:index/service:Service")).toHaveLength(10);
  expect(evaluateAll(monitored)).toEqual([PLAIN_HTTP]);
});

test.each([
  ["mongo unpinned", "mongo", (p: Props) => ((task(p).placement.constraints = []), p)],
  ["mongo with two replicas", "mongo", (p: Props) => ((p.mode = { replicated: { replicas: 2 } }), p)],
  ["redis updated start-first", "redis", (p: Props) => ((p.updateConfig = { ...(p.updateConfig as Props), order: "start-first" }), p)],
  ["redis without its volume", "redis", (p: Props) => ((task(p).containerSpec.mounts = []), p)],
])("%s fires swarm-data-pinned", (_n, svc, change) => {
  const vs = evaluate(mutate(service(svc), change));
  expect(vs.map((v) => [v.rule, v.resource])).toEqual([["swarm-data-pinned", `copilotos-${svc}`]]);
});

test("a password in a service's env fires no-plaintext-secrets-in-env", () => {
  const vs = evaluate(mutate(service("api"), (p) => ((task(p).containerSpec.env.MONGODB_PASSWORD = "x".repeat(40)), p)));
  expect(vs.map((v) => v.rule)).toEqual(["no-plaintext-secrets-in-env"]);
  expect(vs[0].message).not.toContain("x".repeat(40));
});

test("a service on :latest fires no-mutable-image-tags", () => {
  expect(rulesOf(mutate(service("web"), (p) => ((task(p).containerSpec.image = "copilotos-web:latest"), p)))).toEqual(["no-mutable-image-tags"]);
});

test("two services publishing one port fire unique-host-ports", () => {
  const vs = evaluate(
    mutate(service("web"), (p) => ((p.endpointSpec = { mode: "dnsrr", ports: [{ targetPort: 3000, publishedPort: 3000, publishMode: "host" }] }), p)),
  );
  expect(vs.map((v) => v.rule)).toEqual(["unique-host-ports"]);
});

test("the API reading another secret than Mongo's root password fires mongo-password-consistency", () => {
  const jwt = graph.find((r) => r.name === "copilotos-secret-jwt-secret-key")!;
  const vs = evaluate(
    mutate(service("api"), (p) => {
      const ref = task(p).containerSpec.secrets.find((s) => s.fileName === "mongodb_password")!;
      Object.assign(ref, { secretId: jwt.id, secretName: jwt.props.name });
      return p;
    }),
  );
  expect(vs.map((v) => [v.rule, v.message])).toEqual([
    ["mongo-password-consistency", "copilotos-api: its mongodb_password secret differs from the root password secret of copilotos-mongo."],
  ]);
});

test("a short Docker secret fires secret-min-length, naming the secret, not its value", () => {
  const vs = evaluate(
    mutate(
      (r) => r.name === "copilotos-secret-secret-key",
      (p) => ((p.data = Buffer.from("short").toString("base64")), p),
    ),
  );
  expect(vs.map((v) => [v.rule, v.resource])).toEqual([["secret-min-length", "copilotos-secret-secret-key"]]);
  expect(vs[0].message).toMatch(/^copilotos-secret-secret-key: Docker secret copilotos-swarm-secret_key-[0-9a-f]{12} holds 5 characters; the minimum is 32\.$/);
});

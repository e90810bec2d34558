import * as fs from "node:fs";
import * as path from "node:path";
import { evaluate, GraphResource, toGraph, Violation } from "../policies/evaluate";
import { rules } from "../policies/rules";
import {
  api,
  apiEnvs,
  container,
  dockerProvider,
  filesWritten,
  goodUrl,
  mongo,
  PASSWORD,
  pidsStep,
  randomPassword,
  redis,
  SAPTIVA,
  volume,
  withPidsStep,
} from "./support/policy";
import { runStack } from "./support/program";

/** The rules over fixture resources plus the pids step the program adds for their containers (pids-limited's own tests leave it out). */
const fired = (resources: GraphResource[], config = {}) => evaluate(withPidsStep(resources), config);
const rulesOf = (vs: Violation[]) => [...new Set(vs.map((v) => v.rule))].sort();
const baseline = () => [mongo(), api(), volume("mongo-data", "mongo", { retainOnDelete: true })];

test("the passing fixture passes every rule", () => {
  expect(fired(baseline())).toEqual([]);
});

describe("secret-min-length", () => {
  test("a RandomPassword of length 16 fails; 32 passes; minLength is configurable", () => {
    expect(rulesOf(fired([randomPassword("pw", 16)]))).toEqual(["secret-min-length"]);
    expect(fired([randomPassword("pw", 32)])).toEqual([]);
    expect(rulesOf(fired([randomPassword("pw", 32)], { "secret-min-length": { minLength: 48 } }))).toEqual(["secret-min-length"]);
  });
  test("a short secret file fails, for Mongo and for the API (where the app's own minimum is named too)", () => {
    const short = "shortpass12345";
    const vs = fired([mongo({}, short), api({ password: short })]);
    expect(rulesOf(vs)).toEqual(["secret-min-length"]);
    expect(vs.map((v) => `${v.resource}: ${v.message.replace(/^\w+: /, "")}`)).toEqual([
      "mongo: secret file /run/secrets/mongo_root_password holds 14 characters; the minimum is 32.",
      "api: secret file /run/secrets/mongodb_password holds 14 characters; the minimum is 32.",
    ]);
  });
  const withKey = (key: string) =>
    api(
      {},
      {
        uploads: [
          { file: "/run/secrets/mongodb_password", content: PASSWORD },
          { file: "/run/secrets/saptiva_api_key", content: key },
        ],
      },
    );
  test.each([
    ["a key the app's format check refuses", "abcdefghij", "SAPTIVA_API_KEY (file /run/secrets/saptiva_api_key) is not in the app's API key format"],
    ["a weak value", "changeme", "SAPTIVA_API_KEY (file /run/secrets/saptiva_api_key) is a weak default value the app refuses"],
  ])("%s fails, as the app would refuse it at start", (_n, key, message) => {
    const vs = fired([mongo(), withKey(key)]);
    expect(vs.map((v) => v.message)).toEqual([expect.stringContaining(message)]);
    if (key) expect(vs[0].message).not.toContain(key);
  });
  test("a Mongo password the app would paste unencoded into its URL fails", () => {
    const odd = "p@ss/" + "w".repeat(40);
    const vs = fired([mongo({}, odd), api({ password: odd })]);
    expect(vs.map((v) => v.message)).toEqual([
      expect.stringContaining("MONGODB_PASSWORD (file /run/secrets/mongodb_password) is holding characters the app would paste unencoded"),
    ]);
    expect(vs[0].message).not.toContain(odd);
  });
});

describe("saptiva-key-set", () => {
  const withoutKey = api({}, { uploads: [{ file: "/run/secrets/mongodb_password", content: PASSWORD }] });
  test("an API with a SAPTIVA key passes", () => {
    expect(rulesOf(fired([mongo(), api()]))).toEqual([]);
  });
  test.each([
    ["no key file", withoutKey],
    [
      "an empty key file",
      api(
        {},
        {
          uploads: [
            { file: "/run/secrets/mongodb_password", content: PASSWORD },
            { file: "/run/secrets/saptiva_api_key", content: "" },
          ],
        },
      ),
    ],
  ])("%s fires, mandatory by default, with the command that sets one", (_n, a) => {
    const vs = fired([mongo(), a]);
    expect(vs).toEqual([
      expect.objectContaining({
        rule: "saptiva-key-set",
        level: "mandatory",
        message: "api: SAPTIVA_API_KEY is empty or missing in every source the app reads: pulumi config set --secret copilotos:saptivaApiKey <key>.",
      }),
    ]);
  });
  test("the local stack's config makes it advisory", () => {
    const local = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "policies", "config.local.json"), "utf8"));
    expect(fired([mongo(), withoutKey], local).map((v) => [v.rule, v.level])).toEqual([["saptiva-key-set", "advisory"]]);
  });
});

describe("mongo-password-consistency", () => {
  test.each([
    [
      "another password",
      { password: "B".repeat(40) },
      "the password in MONGODB_USER/MONGODB_HOST env and the MONGODB_PASSWORD secret (file /run/secrets/mongodb_password) differs",
    ],
    ["another user", { user: "root" }, "the user in"],
    ["a host that is not Mongo's alias", { host: "mongo.example" }, 'name host "mongo.example"'],
    ["another authSource", { authSource: "copilotos" }, 'authenticate against "copilotos", but Mongo\'s root user lives in "admin"'],
  ])("%s fires, naming both resources and never the password", (_n, creds, part) => {
    const vs = fired([mongo(), api(creds), volume("mongo-data", "mongo", { retainOnDelete: true })]);
    expect(vs).toHaveLength(1);
    expect(vs[0]).toMatchObject({ rule: "mongo-password-consistency", level: "mandatory", resource: "api" });
    expect(vs[0].message).toContain(part);
    expect(vs[0].message).not.toContain(PASSWORD);
    expect(vs[0].message).not.toContain("B".repeat(40));
  });
  test("the app's loader order: /run/secrets/MONGODB_PASSWORD wins over the lower-case file and env", () => {
    const upper = api(
      {},
      {
        uploads: [
          { file: "/run/secrets/MONGODB_PASSWORD", content: "C".repeat(40) },
          { file: "/run/secrets/mongodb_password", content: PASSWORD },
          { file: "/run/secrets/saptiva_api_key", content: SAPTIVA },
        ],
      },
    );
    expect(fired([mongo(), upper]).map((v) => v.message)).toEqual([expect.stringContaining("(file /run/secrets/MONGODB_PASSWORD) differs")]);
  });
  test("no password in any source the app reads fires", () => {
    const none = api({}, { uploads: [{ file: "/run/secrets/saptiva_api_key", content: SAPTIVA }] });
    expect(fired([mongo(), none]).map((v) => v.message)).toEqual([
      "api has no MONGODB_PASSWORD: the app finds none in /run/secrets, env or /etc/copilotos/secrets, and refuses to start.",
    ]);
  });
  test("a hand-typed MONGODB_URL env (which the app prefers) is checked instead of the parts", () => {
    const vs = fired([mongo(), api({}, { envs: apiEnvs({}, [`MONGODB_URL=${goodUrl("C".repeat(40))}`]) })]);
    expect(vs.filter((v) => v.rule === "mongo-password-consistency").map((v) => v.message)).toEqual([
      expect.stringContaining("the password in env MONGODB_URL differs"),
    ]);
    expect(
      fired([mongo(), api({}, { envs: apiEnvs({}, ["MONGODB_URL=postgres://x"]) })])
        .filter((v) => v.rule === "mongo-password-consistency")
        .map((v) => v.message),
    ).toEqual(["api: MONGODB_URL (env MONGODB_URL) is not a mongodb:// URL."]);
  });
  test("an API on another network than Mongo fires", () => {
    const vs = fired([mongo(), api({}, { networksAdvanced: [{ name: "other" }] })]);
    expect(rulesOf(vs)).toEqual(["mongo-password-consistency"]);
  });
});

describe("unique-host-ports", () => {
  const web = (ip: string, external: number) => container("web", "web", { ports: [{ internal: 3000, external, ip, protocol: "tcp" }] });
  test("same port twice fires; 0.0.0.0 clashes with any IP; distinct IPs do not clash", () => {
    expect(rulesOf(fired([mongo(), api(), web("0.0.0.0", 8001)]))).toEqual(["unique-host-ports"]);
    expect(rulesOf(fired([mongo(), api(), web("127.0.0.1", 8001)]))).toEqual(["unique-host-ports"]);
    const a = container("a", "web", { ports: [{ internal: 1, external: 9000, ip: "127.0.0.1" }] });
    const b = container("b", "web", { ports: [{ internal: 1, external: 9000, ip: "127.0.0.2" }] });
    expect(fired([a, b])).toEqual([]);
  });
  test("reservedPorts clash", () => {
    expect(rulesOf(fired(baseline(), { "unique-host-ports": { reservedPorts: [8001] } }))).toEqual(["unique-host-ports"]);
  });
});

describe("no-mutable-image-tags", () => {
  test("latest and untagged fire (advisory by default, mandatory when configured); tags and digests pass", () => {
    const latest = container("w", "web", { image: "web:latest" });
    expect(fired([latest])).toEqual([expect.objectContaining({ rule: "no-mutable-image-tags", level: "advisory" })]);
    expect(fired([container("w", "web", { image: "web" })], { "no-mutable-image-tags": "mandatory" })).toEqual([
      expect.objectContaining({ level: "mandatory" }),
    ]);
    expect(fired([container("w", "web", { image: `web@sha256:${"a".repeat(64)}` })])).toEqual([]);
  });
});

describe("data-volumes-retained", () => {
  test("an unretained, unprotected data volume fires; protect alone passes", () => {
    expect(rulesOf(fired([mongo(), volume("mongo-data", "mongo", { retainOnDelete: false, protect: false })]))).toEqual(["data-volumes-retained"]);
    expect(fired([mongo(), volume("mongo-data", "mongo", { retainOnDelete: false, protect: true })])).toEqual([]);
  });
  test("Mongo data on an anonymous or host mount fires", () => {
    expect(rulesOf(fired([mongo({ volumes: [] })]))).toEqual(["data-volumes-retained"]);
    expect(rulesOf(fired([mongo({ volumes: [{ hostPath: "/srv/db", containerPath: "/data/db" }] })]))).toEqual(["data-volumes-retained"]);
  });
});

describe("containers-hardened", () => {
  test.each([
    ["no health check", { healthcheck: undefined }],
    ["no restart policy", { restart: "no" }],
    ["no memory limit", { memory: 0 }],
    ["unbounded logs", { logOpts: {} }],
    ["privileged", { privileged: true }],
    ["privileges gained after start", { securityOpts: [] }],
    ["Docker's default capabilities", { capabilities: { drops: [], adds: ["CHOWN"] } }],
    ["Mongo on 0.0.0.0", { ports: [{ internal: 27017, external: 27017, ip: "0.0.0.0" }] }],
  ])("%s fires", (_n, props) => {
    expect(rulesOf(fired([mongo(props as object)]).filter((v) => v.rule !== "data-volumes-retained"))).toEqual(["containers-hardened"]);
  });
  test("Mongo on 127.0.0.1 passes", () => {
    expect(fired([mongo({ ports: [{ internal: 27017, external: 27017, ip: "127.0.0.1" }] })])).toEqual([]);
  });
  test("every running container must run on a read-only root, files copied in or not; a files writer, never started, is left out", () => {
    const message = "its root file system is writable; run it read-only (tmpfs for what it writes, its files on volumes a writer fills).";
    const vs = fired([...baseline(), container("web", "web", { readOnly: false })]);
    expect(vs.map((v) => [v.rule, v.message])).toEqual([["containers-hardened", `web: ${message}`]]);
    expect(fired([...baseline(), container("web", "web", { readOnly: true })])).toEqual([]);
    expect(fired([mongo({ readOnly: false })]).map((v) => [v.rule, v.message])).toEqual([["containers-hardened", `mongo: ${message}`]]);
    // The writer has no health check, limit or read-only root: it never runs.
    expect(fired(filesWritten(mongo()))).toEqual([]);
  });
});

describe("files a writer put on volumes (components/services/serviceFiles.ts) count where they are read", () => {
  const redisData = volume("redis-data", "redis", { retainOnDelete: true });
  test("the stack with every file written passes every rule", () => {
    expect(
      fired([...filesWritten(mongo()), ...filesWritten(api()), ...filesWritten(redis()), redisData, volume("mongo-data", "mongo", { retainOnDelete: true })]),
    ).toEqual([]);
  });
  test("Mongo's written password against the API's written one: mongo-password-consistency fires", () => {
    const vs = fired([...filesWritten(mongo()), ...filesWritten(api({ password: "C".repeat(40) }))]);
    expect(rulesOf(vs.filter((v) => v.rule !== "data-volumes-retained"))).toEqual(["mongo-password-consistency"]);
  });
  test("a key missing from the API's writer fires saptiva-key-set; a short secret file there fires secret-min-length on the API", () => {
    const noKey = api({}, { uploads: [{ file: "/run/secrets/mongodb_password", content: PASSWORD }] });
    expect(rulesOf(fired([mongo(), ...filesWritten(noKey)]))).toEqual(["saptiva-key-set"]);
    const short = api(
      {},
      {
        uploads: [
          { file: "/run/secrets/mongodb_password", content: PASSWORD },
          { file: "/run/secrets/jwt_secret_key", content: "short" },
          { file: "/run/secrets/saptiva_api_key", content: SAPTIVA },
        ],
      },
    );
    const vs = fired([mongo(), ...filesWritten(short)]).filter((v) => v.rule === "secret-min-length");
    expect(vs.map((v) => v.message)).toContain("api: secret file /run/secrets/jwt_secret_key holds 5 characters; the minimum is 32.");
  });
  test("Redis's written config: without maxmemory, databases-sized fires", () => {
    const bare = redis({ uploads: [{ file: "/usr/local/etc/redis/redis.conf", content: 'requirepass "x"\n' }] });
    expect(rulesOf(fired([...filesWritten(bare), redisData]))).toEqual(["databases-sized"]);
  });
  test("files on a volume the container does not mount are not its own: the API then has no password and no key", () => {
    const [apiContainer, writer] = filesWritten(api(), (folder) => `another${folder.replace(/\//g, "-")}`);
    const vs = fired([mongo(), apiContainer, writer]);
    expect(rulesOf(vs)).toEqual(["mongo-password-consistency", "saptiva-key-set"]);
    expect(vs.find((v) => v.rule === "mongo-password-consistency")?.message).toContain("has no MONGODB_PASSWORD");
  });
});

describe("pids-limited", () => {
  const stack = () => [mongo(), api(), volume("mongo-data", "mongo", { retainOnDelete: true })];
  const only = (vs: Violation[]) => vs.filter((v) => v.rule === "pids-limited").map((v) => v.message);

  test("containers named in the pids step pass, whether the step quotes the name or not", () => {
    expect(evaluate([...stack(), pidsStep(stack())], {})).toEqual([]);
    const quoted = pidsStep(stack());
    quoted.props.create = String(quoted.props.create).replace(/ (mongo|api) /g, " '$1' ");
    expect(evaluate([...stack(), quoted], {})).toEqual([]);
  });
  test("a container the step does not name fires, naming it", () => {
    const [m, a, v] = stack();
    expect(only(evaluate([m, a, v, pidsStep([m])], {}))).toEqual(["api: no pids limit; no host step runs docker update --pids-limit on api."]);
    expect(only(evaluate(stack(), {}))).toEqual([
      "mongo: no pids limit; no host step runs docker update --pids-limit on mongo.",
      "api: no pids limit; no host step runs docker update --pids-limit on api.",
    ]);
  });
  test("a limit above maxPids, or 0 (unlimited), fires; maxPids is policy config", () => {
    expect(only(evaluate([...stack(), pidsStep(stack(), 8192)], {}))).toEqual([
      "mongo: its pids limit is 8192, outside 1..4096 (policy config maxPids).",
      "api: its pids limit is 8192, outside 1..4096 (policy config maxPids).",
    ]);
    expect(only(evaluate([...stack(), pidsStep(stack(), 0)], {}))).toHaveLength(2);
    expect(evaluate([...stack(), pidsStep(stack(), 8192)], { "pids-limited": { maxPids: 8192 } })).toEqual([]);
  });
  test("the monitoring's containers are judged too", () => {
    const prometheus = container("copilotos-prod-prometheus", "prometheus", { labels: [{ label: "copilotos.monitoring", value: "true" }] });
    expect(only(evaluate([prometheus], {}))).toEqual([
      "copilotos-prod-prometheus: no pids limit; no host step runs docker update --pids-limit on copilotos-prod-prometheus.",
    ]);
    expect(only(evaluate([prometheus, pidsStep([prometheus], 256)], {}))).toEqual([]);
  });
  test("an app container whose name is not known yet (a first preview) is not judged", () => {
    expect(only(evaluate([api({}, { name: undefined })], {}))).toEqual([]);
    expect(only(evaluate([api()], {}))).toHaveLength(1);
  });
});

describe("databases-sized", () => {
  test("the stack's sizes pass (Mongo 0.25 GB of 1024 MiB, Redis 384 of 512 MiB)", () => {
    expect(fired([mongo(), redis(), volume("redis-data", "redis", { retainOnDelete: true })])).toEqual([]);
  });
  test.each([
    ["Mongo without a cache size", [mongo({ command: undefined })], "no --wiredTigerCacheSizeGB"],
    [
      "Mongo's cache over its limit",
      [mongo({ command: ["mongod", "--wiredTigerCacheSizeGB", "1"] })],
      "WiredTiger's cache (1 GB) leaves mongod less than 256 MiB of its 1024 MiB limit",
    ],
    ["Redis without maxmemory", [redis({ uploads: [{ file: "/usr/local/etc/redis/redis.conf", content: 'requirepass "x"\n' }] })], "no maxmemory"],
    ["Redis's maxmemory at its limit", [redis({ memory: 384 })], "maxmemory 384 MiB is not below its 384 MiB limit"],
  ])("%s fires", (_n, resources, message) => {
    const vs = fired(resources).filter((v) => v.rule !== "data-volumes-retained");
    expect(vs.map((v) => [v.rule, v.level])).toEqual([["databases-sized", "mandatory"]]);
    expect(vs[0].message).toContain(message);
  });
});

describe("api-origins-restricted", () => {
  const named = ['ALLOWED_HOSTS=["chat.example.com","proxy"]', 'CORS_ORIGINS=["https://chat.example.com"]'];
  test("the stack's own names pass", () => {
    expect(fired([mongo(), api({}, { envs: apiEnvs({}, named) })])).toEqual([]);
  });
  test.each([
    ["ALLOWED_HOSTS as a JSON list", ['ALLOWED_HOSTS=["*"]', named[1]], "ALLOWED_HOSTS"],
    ["CORS_ORIGINS as commas", [named[0], "CORS_ORIGINS=https://chat.example.com, *"], "CORS_ORIGINS"],
  ])("* in %s fires, advisory", (_n, envs, name) => {
    const vs = fired([mongo(), api({}, { envs: apiEnvs({}, envs) })]);
    expect(vs.map((v) => [v.rule, v.level])).toEqual([["api-origins-restricted", "advisory"]]);
    expect(vs[0].message).toContain(`${name} holds "*"`);
  });
});

describe("tls-enabled", () => {
  const proxy = (props: Parameters<typeof container>[2]) => container("proxy", "proxy", props);
  test.each([
    ["a certificate copied in", { uploads: [{ file: "/etc/nginx/tls/cert.pem", content: "-----BEGIN CERTIFICATE-----" }] }],
    ["tls.acme's volume mounted", { volumes: [{ volumeName: "copilotos-prod-tls", containerPath: "/etc/nginx/tls" }] }],
  ])("a proxy serving HTTPS passes: %s", (_n, props) => {
    expect(fired([...baseline(), proxy(props)])).toEqual([]);
  });
  test("a proxy serving plain HTTP only fires, advisory; mandatory where a stack's config says so (prod's)", () => {
    const vs = fired([...baseline(), proxy({})]);
    expect(vs.map((v) => [v.rule, v.level])).toEqual([["tls-enabled", "advisory"]]);
    expect(vs[0].message).toBe(
      "proxy: serves plain HTTP only; set tls.acme (a certificate from Let's Encrypt, renewed on the host) or tls.certificate and tls.key.",
    );
    const prod = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "policies", "config.prod.json"), "utf8")) as Record<string, never>;
    expect(fired([...baseline(), proxy({})], { "tls-enabled": prod["tls-enabled"] }).map((v) => [v.rule, v.level])).toEqual([["tls-enabled", "mandatory"]]);
  });
  test("other containers are not its business", () => {
    expect(fired([...baseline(), container("web", "web")])).toEqual([]);
  });
});

describe("no-plaintext-secrets-in-env", () => {
  test.each([
    ["JWT_SECRET_KEY=" + "x".repeat(40)],
    ["DB_PASSWORD=" + "x".repeat(40)],
    ["GITHUB_TOKEN=" + "x".repeat(40)],
    [`CACHE_URL=redis://:${"x".repeat(40)}@redis:6379`],
  ])("%s fires, without printing the value", (entry) => {
    const vs = fired([mongo(), api({}, { envs: apiEnvs({}, [entry]) })]);
    expect(rulesOf(vs)).toEqual(["no-plaintext-secrets-in-env"]);
    expect(vs[0].message).not.toContain("x".repeat(40));
  });

  test.each(["SECRET_KEY", "NEXTAUTH_SECRET", "STRIPE_API_KEY", "ANALYTICS_TOKEN", "SMTP_PASSWORD"])(
    "the web's env %s fires too (no secret files there)",
    (name) => {
      const web = container("copilotos-staging-web", "web", { envs: ["NODE_ENV=production", `${name}=${"w".repeat(36)}`] });
      const vs = fired([web]);
      expect(vs.map((v) => [v.rule, v.level, v.message])).toEqual([
        [
          "no-plaintext-secrets-in-env",
          "mandatory",
          `copilotos-staging-web: env ${name} carries a secret value; deliver it as a file, or list ${name} in allowNames if it is not a secret.`,
        ],
      ]);
    },
  );

  test("a name listed in allowNames is a known non-secret and passes; others still fire", () => {
    const web = container("copilotos-staging-web", "web", {
      envs: ["RECAPTCHA_SITE_KEY=6Lc-public", "NEXT_PUBLIC_MAPS_KEY=AIza-public", `SECRET_KEY=${"w".repeat(36)}`],
    });
    const allow = { allowNames: ["RECAPTCHA_SITE_KEY"] };
    const config = { "no-plaintext-secrets-in-env": allow, "secret-min-length": allow };
    expect(fired([web], config).map((v) => v.message)).toEqual([
      "copilotos-staging-web: env SECRET_KEY carries a secret value; deliver it as a file, or list SECRET_KEY in allowNames if it is not a secret.",
    ]);
    expect(fired([container("copilotos-staging-web", "web", { envs: ["RECAPTCHA_SITE_KEY=6Lc-public"] })], config)).toEqual([]);
    // Without the list, the same name fires both rules; a NEXT_PUBLIC_ name is public by definition.
    expect(rulesOf(fired([web]))).toEqual(["no-plaintext-secrets-in-env", "secret-min-length"]);
    expect(evaluate([web], {}).filter((v) => v.message.includes("NEXT_PUBLIC_"))).toEqual([]);
  });
});

describe("ssh-host-key-pinned", () => {
  test("an ssh host without StrictHostKeyChecking=yes and a known_hosts file fires; pinned and local pass", () => {
    expect(rulesOf(fired([dockerProvider("p", "ssh://u@h:22")]))).toEqual(["ssh-host-key-pinned"]);
    expect(rulesOf(fired([dockerProvider("p", "ssh://u@h:22", ["-o", "StrictHostKeyChecking=no"])]))).toEqual(["ssh-host-key-pinned"]);
    expect(rulesOf(fired([dockerProvider("p", "ssh://u@h:22", ["-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=/dev/null"])]))).toEqual([
      "ssh-host-key-pinned",
    ]);
    expect(fired([dockerProvider("p", "ssh://u@h:22", ["-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=/k"])])).toEqual([]);
    expect(fired([dockerProvider("p", "unix:///var/run/docker.sock")])).toEqual([]);
  });
});

describe("the pack", () => {
  test("has the eighteen rules, each with a description and a configSchema", () => {
    expect(rules.map((r) => r.name)).toEqual([
      "secret-min-length",
      "saptiva-key-set",
      "mongo-password-consistency",
      "unique-host-ports",
      "no-mutable-image-tags",
      "data-volumes-retained",
      "containers-hardened",
      "pids-limited",
      "databases-sized",
      "api-origins-restricted",
      "tls-enabled",
      "no-plaintext-secrets-in-env",
      "ssh-host-key-pinned",
      "aws-ssh-restricted",
      "aws-no-database-ports",
      "aws-host-hardened",
      "backup-bucket-private",
      "swarm-data-pinned",
    ]);
    for (const r of rules) expect(r.configSchema).toBeDefined();
  });

  test("a rule can be turned advisory or disabled by policy config", () => {
    const bad = [randomPassword("pw", 8)];
    expect(fired(bad, { "secret-min-length": "advisory" })[0].level).toBe("advisory");
    expect(fired(bad, { "secret-min-length": { enforcementLevel: "disabled" } })).toEqual([]);
  });

  test("policies/index.ts constructs the pack the way `pulumi preview --policy-pack` starts it", async () => {
    // The engine runs the pack with the pack folder as cwd and the analyzer's port to serve on;
    // constructing PolicyPack reads ./package.json's version and starts serving.
    jest.resetModules();
    jest.doMock("@pulumi/policy/server", () => ({ serve: jest.fn() }));
    const cwd = process.cwd();
    process.chdir(path.join(__dirname, "..", "policies"));
    try {
      await import("../policies");
      const { serve } = jest.requireMock("@pulumi/policy/server") as { serve: jest.Mock };
      expect(serve).toHaveBeenCalledTimes(1);
      expect(serve.mock.calls[0].slice(0, 3)).toEqual(["copilotos-guard", "0.1.0", "mandatory"]);
    } finally {
      process.chdir(cwd);
      jest.dontMock("@pulumi/policy/server");
    }
  });
});

describe("the pack over the real program's graph", () => {
  // Staging serves plain HTTP: tls-enabled's advisory is asserted on its own (below) and left out here.
  const graph = async (stack: string, config: string[] = [], keepPlainHttp = false) => {
    const run = await runStack(stack, config);
    const policyConfig = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "policies", `config.${stack}.json`), "utf8")) as Record<string, never>;
    const vs = evaluate(toGraph(run.resources), policyConfig);
    const text = JSON.stringify(vs);
    for (const s of run.secretValues) expect(text.includes(s) ? "a secret leaked into a message" : "clean").toBe("clean");
    return stack === "staging" && !keepPlainHttp ? vs.filter((v) => !(v.rule === "tls-enabled" && v.level === "advisory")) : vs;
  };

  test("prod passes cleanly; staging, on plain HTTP, gets tls-enabled's advisory and nothing else", async () => {
    expect(await graph("prod")).toEqual([]);
    expect((await graph("staging", [], true)).map((v) => [v.rule, v.level])).toEqual([["tls-enabled", "advisory"]]);
  });

  test("api.env.MONGODB_URL with another password fires rule 2 (and rule 7: it is a plaintext credential)", async () => {
    const vs = await graph("staging", [`copilotos:api.env.MONGODB_URL=${goodUrl("D".repeat(40))}`]);
    expect(rulesOf(vs)).toEqual(["mongo-password-consistency", "no-plaintext-secrets-in-env"]);
  });

  test("ports.web=8001 fires exactly rule 3 in staging (prod's reserved port) and ports.web=8101 too", async () => {
    expect(rulesOf(await graph("staging", ["copilotos:ports.web=8001"]))).toEqual(["unique-host-ports"]);
    expect(rulesOf(await graph("staging", ["copilotos:ports.web=8101"]))).toEqual(["unique-host-ports"]);
  });

  test("images.api=...:latest fires exactly rule 4, mandatory in prod, advisory in staging", async () => {
    expect(await graph("prod", ["copilotos:images.api=copilotos-api:latest"])).toEqual([
      expect.objectContaining({ rule: "no-mutable-image-tags", level: "mandatory" }),
    ]);
    expect(await graph("staging", ["copilotos:images.api=copilotos-api:latest"])).toEqual([
      expect.objectContaining({ rule: "no-mutable-image-tags", level: "advisory" }),
    ]);
  });

  test("a plaintext secret in api.env fires exactly rule 7", async () => {
    expect(rulesOf(await graph("staging", [`copilotos:api.env.SMTP_PASSWORD=${"e".repeat(40)}`]))).toEqual(["no-plaintext-secrets-in-env"]);
  });
  test("web.env.SECRET_KEY set as a literal in a stack is a violation of the dry run too", async () => {
    expect(rulesOf(await graph("staging", [`copilotos:web.env.SECRET_KEY=${"s".repeat(36)}`]))).toEqual(["no-plaintext-secrets-in-env"]);
  });
});

test("policies/package.json lists every package the pack imports, also through the renderers it shares", () => {
  const root = path.join(__dirname, "..");
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = fs.readFileSync(file, "utf8");
    for (const [, spec] of source.matchAll(/(?:from|import|require\()\s*"([^"]+)"/g)) {
      if (spec.startsWith(".")) visit(require.resolve(path.resolve(path.dirname(file), spec)));
      else if (!spec.startsWith("node:"))
        packages.add(
          spec
            .split("/")
            .slice(0, spec.startsWith("@") ? 2 : 1)
            .join("/"),
        );
    }
  };
  const pack = path.join(root, "policies");
  for (const dir of [pack, path.join(pack, "rules")]) for (const f of fs.readdirSync(dir)) if (f.endsWith(".ts")) visit(path.join(dir, f));
  const declared = Object.keys((JSON.parse(fs.readFileSync(path.join(pack, "package.json"), "utf8")) as { dependencies: Record<string, string> }).dependencies);
  expect([...seen].some((f) => f.includes(`${path.sep}renderers${path.sep}`))).toBe(true);
  expect([...packages].sort()).toEqual(expect.arrayContaining(["@pulumi/docker", "@pulumi/policy"]));
  expect([...packages].filter((p) => !declared.includes(p))).toEqual([]);
});

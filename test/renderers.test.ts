import * as b from "../components/renderers/services/containers";
import { APP_SECRETS, appSecretFile, appSecretProblem } from "../components/renderers/services/appContract";
import { parseMongoUrl } from "../components/renderers/services/connection";
import { isMutableImageRef, parseImageRef } from "../components/renderers/services/imageRef";
import { containerName, dockerLabels, labelMap, stackPrefix, volumeName } from "../components/renderers/names";
import { dockerSshUrl, knownHostsLine, sshClientOptions } from "../components/renderers/hosts/ssh";

const id = { project: "copilotos", stack: "staging" };

describe("names and labels", () => {
  test("every name carries project and stack", () => {
    expect(stackPrefix(id)).toBe("copilotos-staging");
    expect(containerName(id, "mongo")).toBe("copilotos-staging-mongo");
    expect(volumeName(id, "redis")).toBe("copilotos-staging-redis-data");
    expect(containerName({ ...id, stack: "prod" }, "mongo")).not.toBe(containerName(id, "mongo"));
  });

  test("labels, sorted, in the provider's shape", () => {
    expect(dockerLabels(labelMap(id, "api"))).toEqual([
      { label: "copilotos.project", value: "copilotos" },
      { label: "copilotos.service", value: "api" },
      { label: "copilotos.stack", value: "staging" },
    ]);
    expect(labelMap(id)).toEqual({ "copilotos.project": "copilotos", "copilotos.stack": "staging" });
  });
});

describe("connection strings", () => {
  test("a hand-typed URL is read back decoded", () => {
    const url = "mongodb://us%3Aer:p%40ss%3Aw%2Frd@mongodb:27017/copilotos?authSource=admin";
    expect(parseMongoUrl(url)).toEqual({ user: "us:er", password: "p@ss:w/rd", host: "mongodb", port: 27017, database: "copilotos" });
  });

  test("parseMongoUrl rejects what is not a mongodb URL and defaults the port", () => {
    expect(parseMongoUrl("postgres://u:p@h/db")).toBeUndefined();
    expect(parseMongoUrl("mongodb://u:p@h/db")).toMatchObject({ host: "h", port: 27017, database: "db" });
  });
});

describe("the app's contract (apps/api/src/core/secrets.py)", () => {
  test("what the app refuses at start, named without the value", () => {
    expect(appSecretProblem("MONGODB_PASSWORD", "a".repeat(11))).toBe("too short for the app (it needs at least 12 characters for MONGODB_PASSWORD)");
    expect(appSecretProblem("MONGODB_PASSWORD", "a".repeat(12))).toBeUndefined();
    expect(appSecretProblem("JWT_SECRET_KEY", "k".repeat(31))).toBe("too short for the app (it needs at least 32 characters for JWT_SECRET_KEY)");
    expect(appSecretProblem("REDIS_PASSWORD", "Password")).toBe("a weak default value the app refuses for REDIS_PASSWORD");
    expect(appSecretProblem("SECRET_KEY", "   ")).toBe("empty; the app refuses an empty secret");
  });

  test("the Saptiva key: va-ai- or sk- prefix, or at least 32 characters", () => {
    expect(appSecretProblem("SAPTIVA_API_KEY", "va-ai-12345")).toBeUndefined();
    expect(appSecretProblem("SAPTIVA_API_KEY", "sk-12345678")).toBeUndefined();
    expect(appSecretProblem("SAPTIVA_API_KEY", "x".repeat(32))).toBeUndefined();
    expect(appSecretProblem("SAPTIVA_API_KEY", "x".repeat(31))).toBe(
      "not in the app's API key format (it starts with va-ai- or sk-, or is at least 32 characters)",
    );
  });

  test("passwords the app pastes unencoded into its URLs hold only unreserved characters", () => {
    expect(appSecretProblem("MONGODB_PASSWORD", "abc-DEF_123.xyz~")).toBeUndefined();
    for (const bad of ["p@ssword-long", "pass:word-long", "pass/word-long", "pass word-long", "pass%word-long"]) {
      expect(appSecretProblem("MONGODB_PASSWORD", bad)).toMatch(/^holding characters the app would paste unencoded/);
    }
    // JWT and SECRET_KEY never go into a URL.
    expect(appSecretProblem("JWT_SECRET_KEY", "@".repeat(40))).toBeUndefined();
  });

  test("the app's file names are its secret names in lower case", () => {
    expect((Object.keys(APP_SECRETS) as (keyof typeof APP_SECRETS)[]).map(appSecretFile)).toEqual([
      "mongodb_password",
      "redis_password",
      "jwt_secret_key",
      "secret_key",
      "saptiva_api_key",
    ]);
  });
});

describe("container settings", () => {
  test("env lists are sorted KEY=value", () => {
    expect(b.envList({ B: "2", A: "1" })).toEqual(["A=1", "B=2"]);
  });

  test("Mongo's password comes from a file, not the env", () => {
    expect(b.mongoEnv({ user: "copilotos", database: "app" })).toEqual([
      "MONGO_INITDB_DATABASE=app",
      "MONGO_INITDB_ROOT_PASSWORD_FILE=/run/secrets/mongo_root_password",
      "MONGO_INITDB_ROOT_USERNAME=copilotos",
    ]);
  });

  const conns = { mongo: { user: "copilotos_user", host: "mongodb", port: 27017, database: "app" }, redis: { host: "redis", port: 6379 } };

  test("the API env holds the parts the app builds its URLs from, no secret and no *_FILE; extra env wins", () => {
    expect(b.apiEnv({ ...conns, extra: { LOG_LEVEL: "debug", PORT: "9000" } })).toEqual([
      "LOG_LEVEL=debug",
      "MONGODB_AUTH_SOURCE=admin",
      "MONGODB_DATABASE=app",
      "MONGODB_HOST=mongodb",
      "MONGODB_PORT=27017",
      "MONGODB_USER=copilotos_user",
      "NODE_ENV=production",
      "PORT=9000",
      "REDIS_DB=0",
      "REDIS_HOST=redis",
      "REDIS_PORT=6379",
    ]);
  });

  test("API uploads: one 0444 file per secret, with the names the app's loader reads under /run/secrets", () => {
    const uploads = b.apiUploads({ mongodbPassword: "M", redisPassword: "R", jwtSecretKey: "J", secretKey: "S", saptivaApiKey: "K" });
    expect(uploads).toEqual([
      { file: "/run/secrets/jwt_secret_key", content: "J", permissions: "0444" },
      { file: "/run/secrets/mongodb_password", content: "M", permissions: "0444" },
      { file: "/run/secrets/redis_password", content: "R", permissions: "0444" },
      { file: "/run/secrets/saptiva_api_key", content: "K", permissions: "0444" },
      { file: "/run/secrets/secret_key", content: "S", permissions: "0444" },
    ]);
    expect(uploads.map((u) => u.file.split("/").pop()!.toUpperCase()).sort()).toEqual(Object.keys(APP_SECRETS).sort());
  });

  test("redis.conf quotes the password and persists to /data", () => {
    expect(b.redisConf('pa"ss\\word')).toBe('requirepass "pa\\"ss\\\\word"\nappendonly yes\ndir /data\n');
    expect(b.REDIS_COMMAND).toEqual(["redis-server", "/usr/local/etc/redis/redis.conf"]);
    expect(b.redisUploads("CONF", "PW").map((u) => u.file)).toEqual(["/usr/local/etc/redis/redis.conf", "/run/secrets/redis_password"]);
  });

  test("no health check carries a secret on its command line", () => {
    expect(b.HEALTHCHECKS.redis.tests).toEqual(["CMD-SHELL", 'REDISCLI_AUTH="$(cat /run/secrets/redis_password)" redis-cli ping | grep -q PONG']);
    // Readiness (503 while Mongo refuses the API), with the curl the app's image has; the web image's own wget check.
    expect(b.HEALTHCHECKS.api.tests).toEqual(["CMD-SHELL", "curl -fsS -o /dev/null --max-time 4 http://127.0.0.1:8001/api/health/ready"]);
    expect(b.HEALTHCHECKS.web.tests).toEqual(["CMD-SHELL", "wget -q --spider http://127.0.0.1:3000/"]);
  });

  test("ports: public on all interfaces, databases on loopback or not at all", () => {
    expect(b.publicPort(3000, 3100)).toEqual([{ internal: 3000, external: 3100, ip: "0.0.0.0", protocol: "tcp" }]);
    expect(b.loopbackPort(27017, undefined)).toEqual([]);
    expect(b.loopbackPort(27017, 27018)).toEqual([{ internal: 27017, external: 27018, ip: "127.0.0.1", protocol: "tcp" }]);
  });

  test("every service container: name, labels, alias, health gate, hardening", () => {
    const of = (service: "api" | "redis", image: string) =>
      b.serviceContainer({ identity: id, service, image, networkName: "net", limits: { memoryMb: 256, cpus: 0.5 }, healthTimeoutSeconds: 90 });
    const c = of("api", "api:1");
    expect(c).toEqual({
      name: "copilotos-staging-api",
      image: "api:1",
      labels: dockerLabels(labelMap(id, "api")),
      // No alias for an app: old and new containers run side by side during a swap.
      networksAdvanced: [{ name: "net", aliases: [] }],
      healthcheck: b.HEALTHCHECKS.api,
      wait: true,
      waitTimeout: 90,
      restart: "unless-stopped",
      logDriver: "json-file",
      logOpts: { "max-size": "10m", "max-file": "3" },
      memory: 256,
      cpus: "0.5",
      privileged: false,
      securityOpts: ["no-new-privileges:true"],
      capabilities: { drops: ["ALL"], adds: [] },
      readOnly: true,
    });
    // The API's /tmp is on disk (its component mounts a volume of its own there); Mongo's is memory.
    expect([b.scratchVolumes("api"), b.scratchVolumes("mongo"), b.TMPFS.mongo]).toEqual([[{ containerPath: "/tmp" }], [], [{ path: "/tmp", sizeMb: 64 }]]);
    // Redis writes only its data volume: no memory folder.
    const redis = of("redis", "redis:7");
    expect([redis.readOnly, "tmpfs" in redis]).toEqual([true, false]);
  });
});

describe("image references", () => {
  test.each([
    ["mongo:7", { path: "mongo", tag: "7" }],
    ["library/redis:7-alpine", { path: "library/redis", tag: "7-alpine" }],
    ["registry.local:5000/team/api:1.2", { domain: "registry.local:5000", path: "team/api", tag: "1.2" }],
    ["localhost/api", { domain: "localhost", path: "api" }],
    [`api@sha256:${"0".repeat(64)}`, { path: "api", digest: `sha256:${"0".repeat(64)}` }],
  ])("%s parses", (ref, expected) => {
    expect(parseImageRef(ref)).toEqual({ domain: undefined, tag: undefined, digest: undefined, ...expected });
  });

  test.each(["", "API:1", "api:", "api:-x", "api@sha256:123", "a b"])("%p is rejected", (ref) => {
    expect(parseImageRef(ref)).toBeUndefined();
  });

  test("mutable means latest or no tag, unless a digest pins it", () => {
    expect(isMutableImageRef(parseImageRef("api")!)).toBe(true);
    expect(isMutableImageRef(parseImageRef("api:latest")!)).toBe(true);
    expect(isMutableImageRef(parseImageRef(`api:latest@sha256:${"1".repeat(64)}`)!)).toBe(false);
    expect(isMutableImageRef(parseImageRef("api:1.0")!)).toBe(false);
  });
});

describe("ssh", () => {
  test("docker URL and known_hosts line", () => {
    expect(dockerSshUrl("deploy", "10.0.0.5", 22)).toBe("ssh://deploy@10.0.0.5:22");
    expect(dockerSshUrl("deploy", "::1", 2222)).toBe("ssh://deploy@[::1]:2222");
    expect(knownHostsLine("h", 22, "ssh-ed25519 AAAA ")).toBe("h ssh-ed25519 AAAA\n");
    expect(knownHostsLine("h", 2222, "ssh-ed25519 AAAA")).toBe("[h]:2222 ssh-ed25519 AAAA\n");
  });

  test("client options pin the host key (and only it) and bound the dial", () => {
    expect(sshClientOptions({ knownHostsFile: "/k", identityFile: "/i", connectTimeoutSeconds: 7 })).toEqual([
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      "UserKnownHostsFile=/k",
      "-o",
      "GlobalKnownHostsFile=/dev/null",
      "-o",
      "BatchMode=yes",
      "-o",
      "ConnectTimeout=7",
      "-o",
      "ServerAliveInterval=15",
      "-o",
      "IdentitiesOnly=yes",
      "-i",
      "/i",
    ]);
    expect(sshClientOptions({ knownHostsFile: "/k", connectTimeoutSeconds: 7 })).not.toContain("-i");
  });
});

import * as b from "../components/build/containers";
import { mongoUrl, parseMongoUrl, redisUrl } from "../components/build/connection";
import { isMutableImageRef, parseImageRef } from "../components/build/imageRef";
import { containerName, dockerLabels, labelMap, stackPrefix, volumeName } from "../components/build/names";
import { dockerSshUrl, knownHostsLine, sshClientOptions } from "../components/build/ssh";

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
  test("mongo URL with a plain password", () => {
    expect(mongoUrl({ user: "copilotos", password: "abc", host: "mongodb", port: 27017, database: "copilotos" })).toBe(
      "mongodb://copilotos:abc@mongodb:27017/copilotos?authSource=admin",
    );
  });

  test("URL-special characters in the password are encoded, and read back exactly", () => {
    const password = "p@ss:w/rd?#%&=+ $";
    const url = mongoUrl({ user: "us:er", password, host: "mongodb", port: 27017, database: "copilotos" });
    expect(url).toBe("mongodb://us%3Aer:p%40ss%3Aw%2Frd%3F%23%25%26%3D%2B%20%24@mongodb:27017/copilotos?authSource=admin");
    expect(parseMongoUrl(url)).toEqual({ user: "us:er", password, host: "mongodb", port: 27017, database: "copilotos" });
  });

  test("redis URL encodes the password", () => {
    expect(redisUrl({ password: "a@b/c", host: "redis", port: 6379 })).toBe("redis://:a%40b%2Fc@redis:6379/0");
  });

  test("parseMongoUrl rejects what is not a mongodb URL and defaults the port", () => {
    expect(parseMongoUrl("postgres://u:p@h/db")).toBeUndefined();
    expect(parseMongoUrl("mongodb://u:p@h/db")).toMatchObject({ host: "h", port: 27017, database: "db" });
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

  test("the API env points at secret files; extra env is added and wins", () => {
    expect(b.apiEnv({ database: "app", extra: { LOG_LEVEL: "debug", PORT: "9000" } })).toEqual([
      "JWT_SECRET_KEY_FILE=/run/secrets/jwt_secret_key",
      "LOG_LEVEL=debug",
      "MONGODB_DATABASE=app",
      "MONGODB_URL_FILE=/run/secrets/mongodb_url",
      "PORT=9000",
      "REDIS_URL_FILE=/run/secrets/redis_url",
      "SAPTIVA_API_KEY_FILE=/run/secrets/saptiva_api_key",
      "SECRET_KEY_FILE=/run/secrets/secret_key",
    ]);
  });

  test("API uploads: one 0444 file per secret, named as the env says", () => {
    const uploads = b.apiUploads({ mongodbUrl: "M", redisUrl: "R", jwtSecretKey: "J", secretKey: "S", saptivaApiKey: "K" });
    expect(uploads).toEqual([
      { file: "/run/secrets/jwt_secret_key", content: "J", permissions: "0444" },
      { file: "/run/secrets/mongodb_url", content: "M", permissions: "0444" },
      { file: "/run/secrets/redis_url", content: "R", permissions: "0444" },
      { file: "/run/secrets/saptiva_api_key", content: "K", permissions: "0444" },
      { file: "/run/secrets/secret_key", content: "S", permissions: "0444" },
    ]);
    const envFiles = b.apiEnv({ database: "d", extra: {} }).filter((e) => e.includes("_FILE=")).map((e) => e.split("=")[1]);
    expect(uploads.map((u) => u.file).sort()).toEqual(envFiles.sort());
  });

  test("redis.conf quotes the password and persists to /data", () => {
    expect(b.redisConf('pa"ss\\word')).toBe('requirepass "pa\\"ss\\\\word"\nappendonly yes\ndir /data\n');
    expect(b.REDIS_COMMAND).toEqual(["redis-server", "/usr/local/etc/redis/redis.conf"]);
    expect(b.redisUploads("CONF", "PW").map((u) => u.file)).toEqual(["/usr/local/etc/redis/redis.conf", "/run/secrets/redis_password"]);
  });

  test("no health check carries a secret on its command line", () => {
    expect(b.HEALTHCHECKS.redis.tests).toEqual(["CMD-SHELL", 'REDISCLI_AUTH="$(cat /run/secrets/redis_password)" redis-cli ping | grep -q PONG']);
    expect(b.HEALTHCHECKS.api.tests[1]).toContain("http://127.0.0.1:8001/api/health");
    expect(b.HEALTHCHECKS.web.tests[1]).toContain("http://127.0.0.1:3000/");
  });

  test("ports: public on all interfaces, databases on loopback or not at all", () => {
    expect(b.publicPort(3000, 3100)).toEqual([{ internal: 3000, external: 3100, ip: "0.0.0.0", protocol: "tcp" }]);
    expect(b.loopbackPort(27017, undefined)).toEqual([]);
    expect(b.loopbackPort(27017, 27018)).toEqual([{ internal: 27017, external: 27018, ip: "127.0.0.1", protocol: "tcp" }]);
  });

  test("every service container: name, labels, alias, health gate, hardening", () => {
    const c = b.serviceContainer({ identity: id, service: "api", image: "api:1", networkName: "net", limits: { memoryMb: 256, cpus: 0.5 }, healthTimeoutSeconds: 90 });
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
    });
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

  test("client options pin the host key and bound the dial", () => {
    expect(sshClientOptions({ knownHostsFile: "/k", identityFile: "/i", connectTimeoutSeconds: 7 })).toEqual([
      "-o", "StrictHostKeyChecking=yes",
      "-o", "UserKnownHostsFile=/k",
      "-o", "BatchMode=yes",
      "-o", "ConnectTimeout=7",
      "-o", "ServerAliveInterval=15",
      "-o", "IdentitiesOnly=yes",
      "-i", "/i",
    ]);
    expect(sshClientOptions({ knownHostsFile: "/k", connectTimeoutSeconds: 7 })).not.toContain("-i");
  });
});

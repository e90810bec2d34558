import * as path from "node:path";
import type { ProgramRun } from "../scripts/mockRuntime/harness";
import { CONTAINER, containerOf, fileOf, filesOf, NETWORK, ofType, PASSWORD, ROOT, runStack, SAPTIVA_KEY, VOLUME, writerOf } from "./support/program";

type Port = { ip: string; external: number };
/** The stack's own resources: without the monitoring's (test/monitoringStack.test.ts), which prod also runs. */
const own = <T extends { inputs: Record<string, unknown> }>(rs: T[]) =>
  rs.filter((r) => !JSON.stringify(r.inputs.labels ?? []).includes("copilotos.monitoring"));
/** Containers that run: not the files writers (created, never started; components/services/serviceFiles.ts). */
const running = <T extends { inputs: Record<string, unknown> }>(rs: T[]) => rs.filter((r) => r.inputs.start !== false);
const isFiles = (r: { inputs: Record<string, unknown> }) => JSON.stringify(r.inputs.labels ?? []).includes("copilotos.files-for");
const envOf = (run: ProgramRun, service: string) => containerOf(run, service).inputs.envs as string[];

describe.each(["staging", "prod"])("the %s stack", (stack) => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runStack(stack);
  });

  test("creates the four services and the proxy, their volumes and one network", () => {
    const names = own(running(ofType(run, CONTAINER)))
      .map((c) => String(c.inputs.name))
      .sort();
    expect(names.map((n) => n.replace(/-[0-9a-f]{8}$/, "-<hash>"))).toEqual(
      ["api-<hash>", "mongo", "proxy", "redis", "web-<hash>"].map((s) => `copilotos-${stack}-${s}`),
    );
    expect(
      own(ofType(run, VOLUME))
        .filter((v) => !isFiles(v))
        .map((v) => v.inputs.name)
        .sort(),
    ).toEqual(
      [
        // prod's tls.acme: certbot's state, the challenge webroot, the served pair.
        ...(stack === "prod" ? ["acme", "acme-webroot"] : []),
        "mongo-data",
        "proxy-routes",
        "redis-data",
        ...(stack === "prod" ? ["tls"] : []),
      ].map((v) => `copilotos-${stack}-${v}`),
    );
    expect(ofType(run, NETWORK).map((n) => n.inputs.name)).toEqual([`copilotos-${stack}`]);
  });

  test("each service's files are on volumes of their own, filled by a writer that is created and never started", () => {
    const writers = ofType(run, CONTAINER).filter((c) => c.inputs.start === false);
    const services = ["api", "mongo", "proxy", "redis"].map((s) => `copilotos-${stack}-${s}`);
    const bases = [
      ...services,
      ...(stack === "prod" ? ["alertmanager", "blackbox", "prometheus", "redis-exporter"].map((p) => `copilotos-${stack}-${p}`) : []),
    ];
    expect(writers.map((w) => String(w.inputs.name).replace(/-[0-9a-f]{8}$/, "")).sort()).toEqual(bases.map((b) => `${b}-files`).sort());
    for (const w of writers) {
      expect(w.inputs).toMatchObject({ start: false, mustRun: false, networkMode: "none", command: ["true"] });
      expect(w.inputs.ports ?? []).toEqual([]);
      const base = String(w.inputs.name).replace(/-files-[0-9a-f]{8}$/, "");
      // Not the stack's labels: ops status, the metrics job and adopt list the stack's containers by them.
      expect(w.inputs.labels).toEqual([{ label: "copilotos.files-for", value: base }]);
      // Its volumes are the stack's, named after it, deleted with it (no data: the next up writes them again).
      for (const m of w.inputs.volumes as { volumeName: string; readOnly?: boolean }[]) {
        if (m.readOnly) continue;
        expect(m.volumeName).toMatch(new RegExp(`^${w.inputs.name as string}-[0-9]$`));
        expect(ofType(run, VOLUME).find((v) => v.inputs.name === m.volumeName)?.opts.retainOnDelete).toBeFalsy();
      }
    }
    // The service reads exactly its writer's files.
    expect(filesOf(run, containerOf(run, "mongo"))).toEqual(["/run/secrets/mongo_root_password"]);
    expect(filesOf(run, containerOf(run, "redis"))).toEqual(["/run/secrets/redis_password", "/usr/local/etc/redis/redis.conf"]);
    expect(filesOf(run, containerOf(run, "web"))).toEqual([]);
  });

  test("Mongo's password file and the API's mongodb_password secret are one value; user and host are the app's env parts", () => {
    const mongo = containerOf(run, "mongo");
    const password = fileOf(run, mongo, "/run/secrets/mongo_root_password");
    expect(password.length).toBeGreaterThanOrEqual(32);
    expect(fileOf(run, containerOf(run, "api"), "/run/secrets/mongodb_password")).toBe(password);
    const apiEnv = envOf(run, "api");
    expect(envOf(run, "mongo")).toContain("MONGO_INITDB_ROOT_USERNAME=copilotos_user");
    expect(apiEnv).toEqual(
      expect.arrayContaining(["MONGODB_USER=copilotos_user", "MONGODB_HOST=mongodb", "MONGODB_PORT=27017", "MONGODB_AUTH_SOURCE=admin", "NODE_ENV=production"]),
    );
    expect((mongo.inputs.networksAdvanced as { aliases: string[] }[])[0].aliases).toContain("mongodb");
    // No URL or *_FILE: the app builds its URL itself and reads no *_FILE variable.
    expect(apiEnv.filter((e) => /_URL=|_FILE=/.test(e))).toEqual([]);
    // Both came in as secrets, and neither container has any file copied into its own root.
    expect(writerOf(run, mongo, "/run/secrets").secretPaths).toContain("uploads");
    expect(writerOf(run, containerOf(run, "api"), "/run/secrets").secretPaths).toContain("uploads");
    expect([mongo.inputs.uploads, containerOf(run, "api").inputs.uploads]).toEqual([undefined, undefined]);
  });

  test("Redis's requirepass and the API's redis_password secret are one value; no password on a command line", () => {
    const redis = containerOf(run, "redis");
    const password = fileOf(run, redis, "/run/secrets/redis_password");
    expect(fileOf(run, redis, "/usr/local/etc/redis/redis.conf")).toContain(`requirepass "${password}"`);
    expect(fileOf(run, containerOf(run, "api"), "/run/secrets/redis_password")).toBe(password);
    expect(envOf(run, "api")).toEqual(expect.arrayContaining(["REDIS_HOST=redis", "REDIS_PORT=6379", "REDIS_DB=0"]));
    expect(JSON.stringify(redis.inputs.command)).not.toContain(password);
    expect(JSON.stringify(redis.inputs.healthcheck)).not.toContain(password);
  });

  test("no secret value is in any container's env (docker inspect shows env)", () => {
    for (const c of ofType(run, CONTAINER)) {
      const env = JSON.stringify(c.inputs.envs ?? []);
      for (const secret of run.secretValues) expect(env.includes(secret) ? `${c.name} env holds a secret` : "ok").toBe("ok");
      expect(env).not.toContain(SAPTIVA_KEY);
    }
    expect(fileOf(run, containerOf(run, "api"), "/run/secrets/saptiva_api_key")).toBe(SAPTIVA_KEY);
  });

  test("every RandomPassword is at least 32 characters of URL-safe text", () => {
    const passwords = ofType(run, PASSWORD);
    expect(passwords).toHaveLength(4);
    for (const p of passwords) {
      expect(p.inputs.length).toBeGreaterThanOrEqual(32);
      expect(p.inputs.overrideSpecial).toBe("-_");
    }
  });

  test("no two containers publish the same host port; databases are not published", () => {
    const bindings = ofType(run, CONTAINER).flatMap((c) => ((c.inputs.ports as Port[] | undefined) ?? []).map((p) => p.external));
    expect(new Set(bindings).size).toBe(bindings.length);
    expect(containerOf(run, "mongo").inputs.ports ?? []).toEqual([]);
    expect(containerOf(run, "redis").inputs.ports ?? []).toEqual([]);
  });

  test("the stack name is in every container, volume and network name, and every one is labelled", () => {
    for (const r of [...running(ofType(run, CONTAINER)), ...ofType(run, VOLUME), ...ofType(run, NETWORK)]) {
      expect(String(r.inputs.name)).toContain(`-${stack}`);
      const labels = Object.fromEntries((r.inputs.labels as { label: string; value: string }[]).map((l) => [l.label, l.value]));
      expect(labels).toMatchObject({ "copilotos.project": "copilotos", "copilotos.stack": stack });
    }
  });

  test("containers are hardened: health check, restart, limits, rotated logs, a read-only root; apps are awaited by a ready gate", () => {
    for (const c of own(running(ofType(run, CONTAINER)))) {
      const app = ["api", "web"].some((s) => String(c.inputs.name).includes(`-${s}-`));
      expect(c.inputs).toMatchObject({ restart: "unless-stopped", logDriver: "json-file", wait: !app, privileged: false, readOnly: true });
      expect((c.inputs.healthcheck as { tests: string[] }).tests[0]).toBe("CMD-SHELL");
      expect(c.inputs.memory).toBeGreaterThanOrEqual(64);
      expect(c.inputs.logOpts).toEqual({ "max-size": "10m", "max-file": "3" });
    }
  });

  test("data volumes are retained on delete (and protected in prod); the API waits for the databases", () => {
    const data = own(ofType(run, VOLUME)).filter((v) => String(v.inputs.name).endsWith("-data"));
    expect(data).toHaveLength(2);
    for (const v of data) {
      expect(v.opts.retainOnDelete).toBe(true);
      expect(v.opts.protect).toBe(stack === "prod");
    }
    // The proxy's routes are no data: deleted with the stack.
    const routes = ofType(run, VOLUME).find((v) => v.inputs.name === `copilotos-${stack}-proxy-routes`);
    expect(routes?.opts).toMatchObject({ retainOnDelete: false, protect: false, parent: "copilotos-proxy" });
    expect(containerOf(run, "api").opts.dependsOn.sort()).toEqual([
      "copilotos-api-files",
      "copilotos-api-image-pull",
      "copilotos-app-backup",
      "copilotos-mongo",
      "copilotos-preflight",
      "copilotos-redis",
    ]);
    expect(containerOf(run, "web").opts.dependsOn.sort()).toEqual(["copilotos-api-health", "copilotos-preflight", "copilotos-web-image-pull"]);
  });

  test("outputs: URLs and names in plaintext, no secret anywhere in them", () => {
    // prod serves HTTPS under its certificate's name (tls.acme); staging plain HTTP on the host's address.
    expect(run.outputs.webUrl).toEqual({ value: stack === "prod" ? "https://chat.example.com" : "http://203.0.113.10:3100", isSecret: false });
    expect(run.outputs.containers.value).toMatchObject({ mongo: `copilotos-${stack}-mongo` });
    expect(run.outputs.images.value).toMatchObject({ mongo: "mongo:7.0" });
    const text = JSON.stringify(run.outputs);
    for (const secret of run.secretValues) expect(text.includes(secret)).toBe(false);
  });
});

describe("config flows into the graph", () => {
  test("logs: every container gets the driver and, for the file drivers, the rotation configured", async () => {
    const sized = await runStack("staging", ["copilotos:logs.maxSizeMb=50", "copilotos:logs.maxFiles=5", "copilotos:logs.driver=local"]);
    // A files writer never runs: it has no logs to rotate.
    for (const c of running(ofType(sized, CONTAINER)))
      expect([c.name, c.inputs.logDriver, c.inputs.logOpts]).toEqual([c.name, "local", { "max-size": "50m", "max-file": "5" }]);
    const journald = await runStack("staging", ["copilotos:logs.driver=journald"]);
    for (const c of running(ofType(journald, CONTAINER))) expect([c.name, c.inputs.logDriver, c.inputs.logOpts]).toEqual([c.name, "journald", {}]);
    await expect(runStack("staging", ["copilotos:logs.driver=gelf"])).rejects.toThrow(
      /copilotos:logs\.driver: must be json-file, local, journald, syslog, awslogs or none/,
    );
  });

  test("private registry credentials reach the host's Docker provider as a secret, and nothing else", async () => {
    const token = "ghp_registry-token-0123456789abcdefghij";
    const run = await runStack(
      "prod",
      ["copilotos:registry.address=ghcr.io", "copilotos:registry.username=deploy-bot"],
      [`copilotos:registry.password=${token}`],
    );
    const provider = run.resources.find((r) => r.type === "pulumi:providers:docker" && r.name === "copilotos-host-docker")!;
    // Provider inputs reach the engine as JSON text.
    expect(JSON.parse(String(provider.inputs.registryAuth))).toEqual([{ address: "ghcr.io", username: "deploy-bot", password: token }]);
    expect(provider.secretPaths.some((p) => p.startsWith("registryAuth"))).toBe(true);
    const elsewhere =
      run.resources
        .filter((r) => r !== provider)
        .map((r) => JSON.stringify(r.inputs))
        .join("") + JSON.stringify(run.outputs);
    expect(elsewhere).not.toContain(token);
    // Without it, no registry login is configured.
    const plain = await runStack("prod");
    expect(plain.resources.find((r) => r.name === "copilotos-host-docker")!.inputs.registryAuth).toBeUndefined();
  });

  test("an override password is used as given, for Mongo and the API alike", async () => {
    const password = "Over.ride-Pass_word~0123456789-abcdefghij";
    const run = await runStack("staging", [], [`copilotos:mongoPassword=${password}`]);
    expect(ofType(run, PASSWORD).map((p) => p.name)).not.toContain("copilotos-secrets-mongo-password");
    expect(fileOf(run, containerOf(run, "mongo"), "/run/secrets/mongo_root_password")).toBe(password);
    expect(fileOf(run, containerOf(run, "api"), "/run/secrets/mongodb_password")).toBe(password);
  });

  test("database ports, when set, are bound to 127.0.0.1 only", async () => {
    const run = await runStack("staging", ["copilotos:ports.mongo=27018"]);
    expect(containerOf(run, "mongo").inputs.ports).toEqual([{ internal: 27017, external: 27018, ip: "127.0.0.1", protocol: "tcp" }]);
  });

  test("secretLength sets every generated length", async () => {
    const run = await runStack("staging", ["copilotos:secretLength=64"]);
    expect(ofType(run, PASSWORD).map((p) => p.inputs.length)).toEqual([64, 64, 64, 64]);
  });

  test("the local host (the quickstart default) uses the local socket and localhost URLs", async () => {
    const run = await runStack("dev", [], [], path.join(ROOT, "test", "fixtures"));
    expect(ofType(run, "pulumi:providers:docker")[0].inputs.host).toBe("unix:///var/run/docker.sock");
    expect(run.outputs.webUrl.value).toBe("http://localhost:3000");
    expect(run.outputs.apiHealthUrl.value).toBe("http://localhost:8001/api/health");
  });

  test("an ssh host pins the host key for the Docker provider and keeps the private key secret", async () => {
    const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nfake-key-material-for-tests\n-----END OPENSSH PRIVATE KEY-----";
    const run = await runStack("prod", [], [`copilotos:host.privateKey=${key}`]);
    const provider = ofType(run, "pulumi:providers:docker")[0];
    expect(provider.inputs.host).toBe("ssh://deploy@203.0.113.10:22");
    // Provider config reaches the engine as JSON text.
    const opts = JSON.parse(provider.inputs.sshOpts as string) as string[];
    expect(opts).toEqual(expect.arrayContaining(["StrictHostKeyChecking=yes", "BatchMode=yes", "ConnectTimeout=10"]));
    expect(provider.secretPaths).toContain("sshOpts");
    expect(JSON.stringify(provider.inputs)).not.toContain("fake-key-material");
    expect(opts[opts.indexOf("-i") + 1]).toMatch(/id_key$/);
    expect(run.secretValues.has(key)).toBe(true);
  });

  test("a config error is thrown before anything is created, naming the key", async () => {
    await expect(runStack("staging", ["copilotos:host.kind=local"])).rejects.toThrow("copilotos:host.address: is not a key of this host kind");
  });
});

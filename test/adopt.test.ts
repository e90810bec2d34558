/** Taking over a running compose deployment: the config, the graph, and the host scripts (exact strings). */
import { cutoverScript, handBackLines, inventoryScript, parseInventory, AdoptSpec } from "../components/renderers/operations/adopt";
import { containerOf, CONTAINER, fileOf, filesOf, ofType, runStack, VOLUME, writerOf } from "./support/program";
import { describedScript } from "../components/renderers/shell";

const ADOPT = ["copilotos:adopt.composeProject=infra", "copilotos:adopt.volumes.mongo=infra_mongodb_data", "copilotos:adopt.volumes.redis=infra_redis_data"];
const OLD_PASSWORD = "old-compose-password-1234";
const spec: AdoptSpec = {
  identity: { project: "copilotos", stack: "staging" },
  composeProject: "infra",
  services: { mongo: "mongodb", redis: "redis", api: "api", web: "web" },
};

describe("config", () => {
  test("adopt needs the password the volume holds (mongoPassword), named by key", async () => {
    await expect(runStack("staging", ADOPT)).rejects.toThrow(
      /copilotos:mongoPassword: is required with adopt: the adopted volume keeps the password Mongo was initialised with/,
    );
  });

  test("a bad project or volume name is refused naming the key", async () => {
    await expect(
      runStack("staging", ["copilotos:adopt.composeProject=Infra;id", ...ADOPT.slice(1)], [`copilotos:mongoPassword=${OLD_PASSWORD}`]),
    ).rejects.toThrow(/copilotos:adopt\.composeProject: must be a compose project name/);
    await expect(
      runStack("staging", [...ADOPT.slice(0, 2), "copilotos:adopt.volumes.redis=../x"], [`copilotos:mongoPassword=${OLD_PASSWORD}`]),
    ).rejects.toThrow(/copilotos:adopt\.volumes\.redis: must be a Docker volume name/);
  });
});

describe("the graph of an adopting stack", () => {
  const run = () => runStack("staging", ADOPT, [`copilotos:mongoPassword=${OLD_PASSWORD}`]);

  test("takes the compose volumes by name and creates none; Mongo keeps the volume's password", async () => {
    const r = await run();
    // Only the proxy's routes volume: the data volumes are compose's.
    const files = /-files-[0-9a-f]{8}-[0-9]$/;
    expect(
      ofType(r, VOLUME)
        .map((v) => String(v.inputs.name))
        .filter((n) => !files.test(n)),
    ).toEqual(["copilotos-staging-proxy-routes"]);
    // Their data on compose's volumes; their files on the stack's own.
    expect((containerOf(r, "mongo").inputs.volumes as unknown[])[0]).toEqual({ volumeName: "infra_mongodb_data", containerPath: "/data/db" });
    expect((containerOf(r, "redis").inputs.volumes as unknown[])[0]).toEqual({ volumeName: "infra_redis_data", containerPath: "/data" });
    expect(filesOf(r, containerOf(r, "redis"))).toEqual(["/run/secrets/redis_password", "/usr/local/etc/redis/redis.conf"]);
    expect(fileOf(r, containerOf(r, "mongo"), "/run/secrets/mongo_root_password")).toBe(OLD_PASSWORD);
    expect(writerOf(r, containerOf(r, "mongo"), "/run/secrets").secretPaths).toContain("uploads");
  });

  test("order: pre-flight, backup of compose's Mongo, images, then the cut-over, then the stack's Mongo, Redis and proxy", async () => {
    const r = await run();
    const at = (name: string) => r.resources.findIndex((x) => x.name === name);
    const cutover = r.resources.find((x) => x.name === "copilotos-compose-cutover-stop")!;
    expect(cutover.inputs.create).toBe(describedScript("cut-over: stop compose project infra's containers (its volumes stay)", cutoverScript(spec)));
    expect(at("copilotos-preflight-check")).toBeLessThan(at("copilotos-compose-cutover-stop"));
    expect(at("copilotos-mongo-backup-run")).toBeLessThan(at("copilotos-compose-cutover-stop"));
    for (const c of ofType(r, CONTAINER)) expect(at(c.name)).toBeGreaterThan(at("copilotos-compose-cutover-stop"));
    // The backup locks compose's running Mongo, on the adopted volume.
    const backup = String(r.resources[at("copilotos-mongo-backup-run")].inputs.create);
    expect(backup).toContain(
      "c=$(docker ps --filter label=com.docker.compose.project=infra --filter label=com.docker.compose.service=mongodb --format '{{.Names}}' | head -n 1); if [ -n \"$c\" ]; then ctr=$c; fi",
    );
    expect(backup).toContain("vol=infra_mongodb_data;");
    // Pre-flight: compose's ports are released at the cut-over, the volumes must exist.
    const preflight = String(r.resources[at("copilotos-preflight-check")].inputs.create);
    expect(preflight).toContain(
      'if [ "$compose" = infra ]; then echo "preflight: port $port is held by $name of compose project $compose: released at the cut-over"; continue; fi',
    );
    expect(preflight).toContain("for name in infra_mongodb_data infra_redis_data; do");
  });

  test("every gate hands back to compose on failure; the web's health gate, the last step, ends the cut-over", async () => {
    const r = await run();
    const gates = r.resources.filter((x) => /-(ready|health)-wait$/.test(x.name));
    expect(gates.map((g) => g.name)).toEqual([
      "copilotos-api-ready-wait",
      "copilotos-api-health-wait",
      "copilotos-web-ready-wait",
      "copilotos-web-health-wait",
    ]);
    for (const g of gates) expect(String(g.inputs.create)).toContain(handBackLines(spec).join("\n"));
    const finishing = gates.filter((g) => String(g.inputs.create).includes('answered 200"; rm -f "$HOME"/.copilotos/adopt-copilotos-staging;'));
    expect(finishing.map((g) => g.name)).toEqual(["copilotos-web-health-wait"]);
    expect(gates.every((g) => (g.inputs.triggers as unknown[]).includes("1"))).toBe(true);
  });

  test("a stack that adopts nothing has no cut-over and no hand-back", async () => {
    const r = await runStack("staging");
    expect(r.resources.some((x) => x.name.includes("cutover"))).toBe(false);
    expect(r.resources.some((x) => String(x.inputs.create ?? "").includes("adopt:"))).toBe(false);
    expect(
      ofType(r, VOLUME)
        .map((v) => String(v.inputs.name))
        .filter((n) => !/-files-[0-9a-f]{8}-[0-9]$/.test(n))
        .sort(),
    ).toEqual(["copilotos-staging-mongo-data", "copilotos-staging-proxy-routes", "copilotos-staging-redis-data"]);
  });
});

describe("host scripts", () => {
  test("the cut-over stops compose's apps, then Redis and Mongo (60 s each), never removes, and restarts the stack's own stopped containers", () => {
    expect(cutoverScript(spec)).toBe(
      [
        "set -eu",
        'project=infra; marker="$HOME"/.copilotos/adopt-copilotos-staging',
        "stopped=0",
        "for service in web api redis mongodb; do",
        `  for c in $(docker ps --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=$service" --format '{{.Names}}'); do`,
        '    echo "adopt: stopping $c (compose project $project, service $service)"',
        '    docker stop -t 60 "$c" >/dev/null',
        "    stopped=$((stopped + 1))",
        "  done",
        "done",
        'if [ "$stopped" -gt 0 ]; then mkdir -p "$HOME/.copilotos"; echo "$project" > "$marker"; fi',
        "for c in $(docker ps -a --filter status=exited --filter label=copilotos.project=copilotos --filter label=copilotos.stack=staging --format '{{.Names}}'); do",
        '  echo "adopt: starting $c again"',
        '  docker start "$c" >/dev/null',
        "done",
        'if [ "$stopped" -gt 0 ]; then echo "adopt: compose project $project stopped ($stopped containers, none removed); the stack takes over its volumes"; else echo "adopt: nothing of compose project $project runs; nothing to stop"; fi',
        "",
      ].join("\n"),
    );
  });

  test("hand-back: only while the marker says this cut-over is pending; the stack stops before compose's Mongo starts", () => {
    expect(handBackLines(spec)).toEqual([
      'project=infra; marker="$HOME"/.copilotos/adopt-copilotos-staging',
      'if [ -f "$marker" ]; then',
      '  for c in $(docker ps -q --filter label=copilotos.project=copilotos --filter label=copilotos.stack=staging); do docker stop -t 60 "$c" >/dev/null; done',
      "  for service in mongodb redis api web; do",
      `    for c in $(docker ps -a --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=$service" --format '{{.Names}}'); do docker start "$c" >/dev/null; done`,
      "  done",
      '  rm -f "$marker"',
      `  echo "adopt: the stack did not become healthy, so compose project $project was started again and serves as before; the stack's containers are stopped, nothing was removed" >&2`,
      "fi",
    ]);
  });

  test("the inventory sends env names, never values, and parses into containers, ports, mounts and volumes", () => {
    expect(inventoryScript("infra")).toContain(`sed -n "s/^\\([A-Za-z_][A-Za-z0-9_]*\\)=.*/env $c \\1/p"`);
    const inv = parseInventory(
      [
        "container infra-mongodb mongodb mongo:7.0 running",
        "mount infra-mongodb infra_mongodb_data /data/db",
        "mount infra-mongodb infra_mongodb_config /data/configdb",
        "env infra-mongodb MONGO_INITDB_ROOT_PASSWORD",
        "container infra-api api copilotos-api:1 running",
        "port infra-api 8001",
        "volume infra_mongodb_data local",
        "",
      ].join("\n"),
    );
    expect(inv).toEqual({
      containers: [
        {
          name: "infra-mongodb",
          service: "mongodb",
          image: "mongo:7.0",
          state: "running",
          ports: [],
          mounts: [
            { volume: "infra_mongodb_data", path: "/data/db" },
            { volume: "infra_mongodb_config", path: "/data/configdb" },
          ],
          env: ["MONGO_INITDB_ROOT_PASSWORD"],
        },
        { name: "infra-api", service: "api", image: "copilotos-api:1", state: "running", ports: [8001], mounts: [], env: [] },
      ],
      volumes: [{ name: "infra_mongodb_data", driver: "local" }],
    });
  });
});

describe("the adoption plan (scripts/plans/adoptPlan.ts)", () => {
  const inventory = parseInventory(
    [
      "container infra-mongodb mongodb mongo:7.0 running",
      "mount infra-mongodb infra_mongodb_data /data/db",
      "mount infra-mongodb infra_mongodb_config /data/configdb",
      "container infra-redis redis redis:7-alpine running",
      "mount infra-redis infra_redis_data /data",
      "container infra-api api copilotos-api:0.9 running",
      "port infra-api 8001",
      "env infra-mongodb MONGO_INITDB_ROOT_PASSWORD",
      "volume infra_mongodb_data local",
      "volume infra_mongodb_config local",
      "volume infra_redis_data local",
    ].join("\n"),
  );
  const ENV = {
    MONGODB_USER: "copilotos_user",
    MONGODB_PASSWORD: "compose-mongo-pass-1",
    REDIS_PASSWORD: "short-redis",
    JWT_SECRET_KEY: "j".repeat(40),
    SECRET_KEY: "s".repeat(40),
  };
  const plan = async (env: Record<string, string>) => {
    const { adoptionPlan } = await import("../scripts/plans/adoptPlan");
    const { parseConfig } = await import("../components/config");
    const { appSecretProblem } = await import("../components/renderers/services/appContract");
    const cfg = parseConfig({ saptivaApiKey: "sk-x".padEnd(40, "x"), host: { kind: "local" }, images: { api: "copilotos-api:1", web: "copilotos-web:1" } });
    return adoptionPlan({ stack: "prod", spec, cfg, inventory, env, where: "deploy@203.0.113.10:22", check: appSecretProblem, attempt: "t1" });
  };

  test("volumes by their mount paths, secrets flagged, a short one left to the stack with the consequence named, and no value in the text", async () => {
    const p = await plan(ENV);
    expect(p.missing).toEqual([]);
    expect(p.config).toEqual([
      { key: "copilotos:adopt.composeProject", value: "infra", secret: false },
      { key: "copilotos:adopt.volumes.mongo", value: "infra_mongodb_data", secret: false },
      { key: "copilotos:adopt.volumes.redis", value: "infra_redis_data", secret: false },
      { key: "copilotos:adopt.attempt", value: "t1", secret: false },
      { key: "copilotos:mongo.user", value: "copilotos_user", secret: false },
      { key: "copilotos:mongoPassword", value: ENV.MONGODB_PASSWORD, secret: true },
      { key: "copilotos:jwtSecretKey", value: ENV.JWT_SECRET_KEY, secret: true },
      { key: "copilotos:secretKey", value: ENV.SECRET_KEY, secret: true },
    ]);
    expect(p.text).toContain(
      "not copied: REDIS_PASSWORD (shorter than secretLength 32: the stack generates one (Redis keeps no password in its data)); SAPTIVA_API_KEY (not in the env file",
    );
    expect(p.text).not.toContain("note:"); // compose's API port is the stack's
    expect(p.text).toContain("  env names (the values stay on the host): infra-mongodb: MONGO_INITDB_ROOT_PASSWORD\n");
    expect(p.text).toContain("volumes left as they are: infra_mongodb_config (/data/configdb of infra-mongodb: a standalone mongod does not use it)");
    for (const v of Object.values(ENV).filter((v) => v.length > 14)) expect(p.text).not.toContain(v);
  });

  test("without the Mongo password nothing can be adopted: it is named as missing", async () => {
    const p = await plan({});
    expect(p.missing).toEqual([
      "Mongo's password (MONGODB_PASSWORD is not in the env file; pass --env-file envs/.env): Mongo keeps the one it was initialised with",
    ]);
  });
});

test("npm run adopt refuses a missing or bad compose project before reading anything, naming the option and not echoing the value", async () => {
  const { adopt } = await import("../scripts/adopt");
  const backend = { setConfig: async () => Promise.reject(new Error("never called")) };
  const err: string[] = [];
  const io = { out: () => undefined, err: (s: string) => err.push(s) };
  expect(await adopt(["staging", "--compose-project", "Infra;touch x"], backend, io)).toBe(2);
  expect(err.join("")).toBe("adopt: --compose-project must be a compose project name: lowercase letters, digits, _ - (docker compose ls lists them)\n");
  err.length = 0;
  expect(await adopt(["staging"], backend, io)).toBe(2);
  expect(err.join("")).toMatch(/^usage: npm run adopt -- <stack> --compose-project <name>/);
});

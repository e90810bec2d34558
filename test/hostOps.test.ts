/**
 * Host operations in the program's graph (mock runtime): pre-flight, backup, image delivery and
 * health gates — which resources, which exact scripts, which order, which values are secret.
 * The scripts themselves run for real in test/e2e/.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { installScheduleScript, removeScheduleScript, scheduledJob } from "../components/renderers/operations/backupSchedule";
import { backupScript } from "../components/renderers/operations/backup";
import { healthGateScript } from "../components/renderers/operations/health";
import { preflightScript } from "../components/renderers/operations/preflight";
import { describedScript } from "../components/renderers/shell";
import type { ProgramRun, RecordedResource } from "../scripts/mockRuntime/harness";
import { CONTAINER, containerOf, fileOf, NETWORK, ofType, runStack, SAPTIVA_KEY, VOLUME } from "./support/program";

const REMOTE = "command:remote:Command";
const LOCAL = "command:local:Command";
const byName = (run: ProgramRun, name: string): RecordedResource => {
  const r = run.resources.find((x) => x.name === name);
  if (!r) throw new Error(`no resource ${name}`);
  return r;
};
const identity = { project: "copilotos", stack: "staging" };

describe("staging (ssh host, registry mode)", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runStack("staging");
  });

  test("pre-flight runs the exact script over the pinned SSH connection and re-runs only when its inputs change", () => {
    const pf = byName(run, "copilotos-preflight-check");
    expect(pf.type).toBe(REMOTE);
    const script = preflightScript({
      identity,
      ports: [3100, 8101],
      // Fixed names only: the apps' names carry a suffix drawn anew with each spec and never clash.
      containers: ["mongo", "redis", "proxy"].map((s) => `copilotos-staging-${s}`),
      volumes: ["copilotos-staging-mongo-data", "copilotos-staging-redis-data", "copilotos-staging-proxy-routes"],
      networks: ["copilotos-staging"],
      minFreeMb: 2048,
    });
    expect(pf.inputs.create).toBe(
      describedScript(
        "preflight: read-only checks: engine answers, ports 3100,8101 free, 3 containers, 3 volumes, 1 network not another's, 2048 MiB free",
        script,
      ),
    );
    expect(pf.inputs.connection).toMatchObject({
      host: "203.0.113.10",
      port: 22,
      user: "deploy",
      hostKey: expect.stringMatching(/^ssh-ed25519 /),
      perDialTimeout: 10,
      dialErrorLimit: 3,
    });
    const triggers = pf.inputs.triggers as string[];
    expect(triggers[0]).toBe(script);
    expect(triggers.slice(1)).toEqual(['"mongo:7.0"', '"redis:7.2-alpine"', '"copilotos-api:0.9.4-rc.1"', '"copilotos-web:0.9.4-rc.1"', '"nginx:1.27-alpine"']);
    // Nothing reaches the host before the pre-flight passed: pulls wait for it.
    for (const pull of ofType(run, "docker:index/remoteImage:RemoteImage")) expect(pull.opts.dependsOn).toContain("copilotos-preflight");
  });

  test("every container, volume and the network wait for the pre-flight", () => {
    for (const r of [...ofType(run, CONTAINER), ...ofType(run, VOLUME), ...ofType(run, NETWORK)]) {
      expect({ name: r.name, waits: r.opts.dependsOn.includes("copilotos-preflight") }).toEqual({ name: r.name, waits: true });
    }
  });

  test("registry mode: the host pulls each image and the container runs it by digest", () => {
    for (const service of ["mongo", "redis", "api", "web", "proxy"]) {
      const pull = byName(run, `copilotos-${service}-image-pull`);
      expect(pull.inputs).toMatchObject({ keepLocally: true });
      expect(containerOf(run, service).inputs.image).toMatch(new RegExp(`^${String(pull.inputs.name).split(":")[0]}@sha256:[0-9a-f]{64}$`));
      expect(containerOf(run, service).opts.dependsOn).toContain(`copilotos-${service}-image-pull`);
    }
    expect(run.outputs.images.value).toEqual({
      mongo: "mongo:7.0",
      redis: "redis:7.2-alpine",
      api: "copilotos-api:0.9.4-rc.1",
      web: "copilotos-web:0.9.4-rc.1",
      proxy: "nginx:1.27-alpine",
    });
    expect(run.outputs.runningImages.isSecret).toBe(false);
  });

  test("the Mongo container waits for a backup whose triggers are image, settings and a hash of the password", () => {
    const backup = byName(run, "copilotos-mongo-backup-run");
    expect(backup.inputs.create).toBe(
      describedScript(
        "backup before a Mongo change: fsyncLock + archive copilotos-staging-mongo-data into ~/copilotos-backups, verified, newest 7 kept",
        backupScript({
          container: "copilotos-staging-mongo",
          volume: "copilotos-staging-mongo-data",
          dir: "~/copilotos-backups",
          prefix: "copilotos-staging-mongo",
          keep: 7,
          tiers: { daily: 7, weekly: 4, monthly: 12 },
          image: "mongo:7.0",
        }),
      ),
    );
    // backup → password rotation → Mongo container.
    expect(byName(run, "copilotos-mongo-rotation").opts.dependsOn).toEqual(expect.arrayContaining(["copilotos-mongo-backup", "copilotos-preflight"]));
    expect(containerOf(run, "mongo").opts.dependsOn).toEqual(expect.arrayContaining(["copilotos-mongo-rotation", "copilotos-preflight"]));
    const [image, settings, passwordHash] = backup.inputs.triggers as string[];
    expect(image).toBe(containerOf(run, "mongo").inputs.image);
    expect(JSON.parse(settings)).toEqual({ user: "copilotos_user", database: "copilotos", resources: { memoryMb: 512, cpus: 0.5 } });
    expect(passwordHash).toMatch(/^[0-9a-f]{64}$/);
    expect(backup.secretPaths).toContain("triggers");
    const password = fileOf(run, containerOf(run, "mongo"), "/run/secrets/mongo_root_password");
    expect(JSON.stringify(backup.inputs)).not.toContain(password);
  });

  test("a backup before every app update: triggered by the API and web images and a hash of their settings; the new API waits for it", () => {
    const backup = byName(run, "copilotos-app-backup-run");
    // The same backup, said to come before the app update.
    expect(backup.inputs.create).toBe(
      String(byName(run, "copilotos-mongo-backup-run").inputs.create).replace(/^# backup before a Mongo change:/, "# backup before the app update:"),
    );
    const [api, web, settingsHash] = backup.inputs.triggers as string[];
    expect([api, web]).toEqual([containerOf(run, "api").inputs.image, containerOf(run, "web").inputs.image]);
    expect(settingsHash).toMatch(/^[0-9a-f]{64}$/);
    expect(backup.secretPaths).toContain("triggers");
    expect(byName(run, "copilotos-app-backup").opts.dependsOn).toEqual(["copilotos-mongo"]);
    expect(containerOf(run, "api").opts.dependsOn).toContain("copilotos-app-backup");
  });

  test("the host's own schedule: the same backup as a cron job, removed with the stack", () => {
    const install = byName(run, "copilotos-backup-schedule-install");
    // The job is the backup's script (its description is the install's).
    const backup = String(byName(run, "copilotos-mongo-backup-run").inputs.create).replace(/^# .*\n/, "");
    expect(install.inputs.create).toBe(
      describedScript(
        "backup schedule: crontab line (30 3 * * *) backs up copilotos-staging-mongo-data between deploys",
        installScheduleScript({ identity: { project: "copilotos", stack: "staging" }, schedule: "30 3 * * *", job: scheduledJob(backup) }),
      ),
    );
    expect(install.inputs.delete).toBe(removeScheduleScript({ project: "copilotos", stack: "staging" }));
    // A change is an update (the install replaces the tagged line), never a replacement whose old delete removes the new line.
    expect(install.inputs.triggers).toEqual([]);
    expect(install.inputs.update).toBe(install.inputs.create);
  });

  test("health gates through the proxy after each route switch: the API's before the web starts, the web's after; secrets only on stdin", () => {
    const api = byName(run, "copilotos-api-health-wait");
    expect(api.inputs.create).toBe(
      describedScript(
        "gate: api /api/health/ready through the proxy, 120 s; the route back to the previous api on failure",
        healthGateScript({
          container: String(containerOf(run, "api").inputs.name),
          url: "http://127.0.0.1:8101/api/health/ready",
          timeoutSeconds: 120,
          intervalSeconds: 2,
          revert: { proxy: "copilotos-staging-proxy", service: "api", port: 8001, drainSeconds: 15 },
        }),
      ),
    );
    expect(api.opts.dependsOn).toEqual(["copilotos-api-route"]);
    expect(api.inputs.triggers).toEqual([containerOf(run, "api").name + "-id"]);
    expect(containerOf(run, "web").opts.dependsOn).toContain("copilotos-api-health");
    const web = byName(run, "copilotos-web-health-wait");
    expect(web.inputs.create).toContain("url=http://127.0.0.1:3100/\n");
    expect(web.opts.dependsOn).toEqual(["copilotos-web-route"]);
    const stdin = String(api.inputs.stdin).split("\n").filter(Boolean);
    expect(stdin).toHaveLength(5);
    expect(stdin).toContain(SAPTIVA_KEY);
    expect(api.secretPaths).toContain("stdin");
    expect(String(api.inputs.create)).not.toContain(SAPTIVA_KEY);
  });
});

describe("transfer mode and build specs", () => {
  test("transfer mode sends each image from this machine with the deliver CLI and runs it by image ID", async () => {
    const run = await runStack("staging", ["copilotos:delivery.mode=transfer", "copilotos:delivery.keep=3", "copilotos:delivery.compress=true"]);
    const send = byName(run, "copilotos-api-image-send");
    expect(send.type).toBe(LOCAL);
    expect(send.inputs.create).toMatch(
      /^node scripts\/run\.js --prebuilt deliver --image copilotos-api:0\.9\.4-rc\.1 --tag copilotos-staging-api:0\.9\.4-rc\.1 --host deploy@203\.0\.113\.10:22 --known-hosts \S+\/known_hosts --connect-timeout 10 --keep 3 --compress$/,
    );
    const source = byName(run, "copilotos-api-image-source");
    expect(send.inputs.triggers).toEqual([expect.stringMatching(/^sha256:[0-9a-f]{64}$/), "copilotos-staging-api:0.9.4-rc.1"]);
    expect(containerOf(run, "api").inputs.image).toBe((send.inputs.triggers as string[])[0]);
    expect(containerOf(run, "api").opts.dependsOn).toContain("copilotos-api-image-send");
    expect(send.opts.dependsOn).toEqual(["copilotos-host-docker", "copilotos-preflight"]);
    // The source is looked up in this machine's engine, not the host's.
    const providerOf = (r: RecordedResource) => run.resources.find((p) => p.type === "pulumi:providers:docker" && r.opts.parent === p.opts.parent);
    expect(source.opts.parent).toBe("copilotos-api-image");
    expect(providerOf(source)?.inputs.host).toBe("unix:///var/run/docker.sock");
    expect(ofType(run, "docker:index/remoteImage:RemoteImage").some((r) => r.name.endsWith("-pull"))).toBe(false);
  });

  test("a build spec builds with @pulumi/docker on this machine, tagged with the configured version", async () => {
    const run = await runStack("staging", [
      "copilotos:images.api.context=app/api",
      "copilotos:images.api.dockerfile=Dockerfile.prod",
      "copilotos:images.api.target=runtime",
      "copilotos:images.api.args.PYTHON=3.12",
      "copilotos:images.api.version=2026.11.1",
      "copilotos:delivery.mode=transfer",
    ]);
    const build = byName(run, "copilotos-api-image-build");
    expect(build.inputs).toMatchObject({
      imageName: "copilotos-api:2026.11.1",
      skipPush: true,
      build: {
        dockerfile: expect.stringMatching(/\/app\/api\/Dockerfile\.prod$/),
        target: "runtime",
        args: { PYTHON: "3.12" },
        context: expect.stringMatching(/\/app\/api$/),
      },
    });
    expect(byName(run, "copilotos-api-image-send").inputs.create).toContain("--image copilotos-api:2026.11.1 --tag copilotos-staging-api:2026.11.1");
  });

  test("the web's build from the app's Dockerfile bakes the stack's public API URL in: a new API port is a new build, shown by check", async () => {
    const spec = [
      "copilotos:images.web.context=.",
      "copilotos:images.web.dockerfile=apps/web/Dockerfile",
      "copilotos:images.web.target=runner",
      "copilotos:images.web.version=1.4.0",
    ];
    const run = await runStack("staging", spec);
    expect(byName(run, "copilotos-web-image-build").inputs.build).toMatchObject({
      target: "runner",
      args: { NEXT_PUBLIC_API_URL: "http://203.0.113.10:8101", API_BASE_URL: "http://proxy:8001" },
    });
    const moved = await runStack("staging", [...spec, "copilotos:ports.api=8201"]);
    expect((byName(moved, "copilotos-web-image-build").inputs.build as { args: Record<string, string> }).args.NEXT_PUBLIC_API_URL).toBe(
      "http://203.0.113.10:8201",
    );
    // The API's build gets no web args; a spec's own args win over the stack's.
    expect(
      byName(await runStack("staging", [...spec, "copilotos:images.web.args.NEXT_PUBLIC_API_URL=https://api.example.com"]), "copilotos-web-image-build").inputs
        .build,
    ).toMatchObject({
      args: { NEXT_PUBLIC_API_URL: "https://api.example.com" },
    });
    const { describeResource } = await import("../scripts/dryRun/describe");
    expect(JSON.stringify(describeResource(byName(moved, "copilotos-web-image-build")))).toContain(
      "target=runner args=[API_BASE_URL=http://proxy:8001 NEXT_PUBLIC_API_URL=http://203.0.113.10:8201]",
    );
  });

  test("a build spec without a version outside git says which key to set", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cpt-nogit-"));
    for (const f of ["Pulumi.yaml", "Pulumi.staging.yaml"]) fs.copyFileSync(path.join(__dirname, "..", f), path.join(dir, f));
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      await expect(runStack("staging", ["copilotos:images.web.context=web"], [], dir)).rejects.toThrow(
        /images\.web\.version is not set and \S+\/web is not in a git checkout; set it: pulumi config set --path copilotos:images\.web\.version <tag>/,
      );
    } finally {
      process.chdir(cwd);
      fs.rmSync(dir, { recursive: true });
    }
  });

  test("a local engine runs the same scripts as local commands", async () => {
    const run = await runStack("dev", [], [], path.join(__dirname, "fixtures"));
    expect(byName(run, "copilotos-preflight-check").type).toBe(LOCAL);
    expect(byName(run, "copilotos-mongo-backup-run").inputs.interpreter).toEqual(["/bin/sh", "-c"]);
    expect(ofType(run, REMOTE)).toEqual([]);
  });
});

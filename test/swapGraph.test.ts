/**
 * Zero-downtime updates and password rotation in the program's graph (mock runtime): who owns the
 * ports, how app containers are named, which step waits for which, what is secret.
 * The same scripts run against a real engine in test/e2e/swap.test.ts and rotation.test.ts.
 */
import { healthGateScript, readyGateScript } from "../components/renderers/operations/health";
import { PROXY_PORTS as PORTS, proxyConf, proxyStartScript, switchScript } from "../components/renderers/proxy";
import { rotationScript } from "../components/renderers/operations/rotation";
import { describedScript } from "../components/renderers/shell";
import { DEFAULT_CSP } from "../components/config";
import type { ProgramRun, RecordedResource } from "../scripts/mockRuntime/harness";
import { CONTAINER, containerOf, fileOf, filesOf, ofType, PASSWORD, ROOT, runStack, SAPTIVA_KEY } from "./support/program";

const byName = (run: ProgramRun, name: string): RecordedResource => {
  const r = run.resources.find((x) => x.name === name);
  if (!r) throw new Error(`no resource ${name}`);
  return r;
};
const nameOf = (run: ProgramRun, service: string) => String(containerOf(run, service).inputs.name);

describe("the proxy owns the ports; app containers are replaced side by side", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runStack("staging");
  });

  test("only the proxy publishes the app ports; its config is the renderer's; it is replaced delete-first", () => {
    const proxy = containerOf(run, "proxy");
    expect(proxy.inputs.name).toBe("copilotos-staging-proxy");
    expect(proxy.inputs.ports).toEqual([
      { internal: 8001, external: 8101, ip: "0.0.0.0", protocol: "tcp" },
      { internal: 3000, external: 3100, ip: "0.0.0.0", protocol: "tcp" },
    ]);
    expect(fileOf(run, proxy, "/etc/nginx/nginx.conf")).toBe(
      proxyConf({ contentSecurityPolicy: DEFAULT_CSP, hsts: true, apiRateLimitPerSecond: 0, maxBodyMb: 100, apiReadTimeoutSeconds: 3600 }),
    );
    // Its routes live on its own volume (a replaced proxy starts with them), set up by its start script, never uploaded.
    expect(filesOf(run, proxy)).toEqual(["/etc/nginx/nginx.conf"]);
    expect(proxy.inputs.volumes).toEqual([
      { volumeName: "copilotos-staging-proxy-routes", containerPath: "/etc/nginx/copilotos" },
      { volumeName: expect.stringMatching(/^copilotos-staging-proxy-files-[0-9a-f]{8}-1$/), containerPath: "/etc/nginx", readOnly: true },
    ]);
    expect(proxy.inputs.command).toEqual(["sh", "-c", proxyStartScript()]);
    expect(proxy.opts.deleteBeforeReplace).toBe(true);
    expect(run.outputs.webUrl.value).toBe("http://203.0.113.10:3100");
    expect(run.outputs.apiHealthUrl.value).toBe("http://203.0.113.10:8101/api/health");
  });

  test("app containers publish nothing, carry a fingerprinted name and are created before the old one goes", () => {
    for (const service of ["api", "web"]) {
      const c = containerOf(run, service);
      expect(c.inputs.ports).toEqual([]);
      expect(String(c.inputs.name)).toMatch(new RegExp(`^copilotos-staging-${service}-[0-9a-f]{8}$`));
      expect(c.opts.deleteBeforeReplace).toBe(false);
      // Awaited by the ready gate (which names the cause on failure), not the provider's wait.
      expect(c.inputs.wait).toBe(false);
      expect(c.inputs.labels).toContainEqual({ label: "copilotos.stack", value: "staging" });
    }
    // The name is not secret although the spec it hashes holds secrets.
    expect(run.outputs.containers.isSecret).toBe(false);
    expect(containerOf(run, "web").inputs.envs).toContain("API_BASE_URL=http://proxy:8001");
    // Stateful containers keep fixed names and stop before their replacement starts.
    for (const service of ["mongo", "redis"]) expect(containerOf(run, service).opts.deleteBeforeReplace).toBe(true);
  });

  test("an app container's name is never reused: kept while its spec stays, new when it changes, and new again when the spec goes back", async () => {
    // Each deploy starts from the random results the state kept, as a backend would give them back.
    const deployAfter = async (prior: ProgramRun | undefined, config: string[]) => {
      jest.resetModules();
      const { runProgram } = await import("../scripts/mockRuntime/harness");
      const { loadStackConfig } = await import("../scripts/stack/stackConfig");
      const input = loadStackConfig({ stack: "staging", dir: ROOT, config, secrets: [`copilotos:saptivaApiKey=${SAPTIVA_KEY}`] });
      return runProgram({ stack: "staging", ...input, priorPasswords: prior?.passwords });
    };
    const v1 = await deployAfter(undefined, []);
    const again = await deployAfter(v1, []);
    const v2 = await deployAfter(again, ["copilotos:images.api=copilotos-api:2.0.0"]);
    const back = await deployAfter(v2, []);
    expect(nameOf(again, "api")).toBe(nameOf(v1, "api"));
    expect(nameOf(v2, "api")).not.toBe(nameOf(v1, "api"));
    // After a failed v2 the engine still runs v1's container (deleted at the end of the next successful update): going back must not ask for its name.
    expect(nameOf(back, "api")).not.toBe(nameOf(v1, "api"));
    expect(nameOf(back, "api")).not.toBe(nameOf(v2, "api"));
    expect(nameOf(v2, "web")).toBe(nameOf(v1, "web"));
    const suffix = byName(v1, "copilotos-api-container-suffix");
    expect(suffix.type).toBe("random:index/randomId:RandomId");
    expect(suffix.inputs).toEqual({ byteLength: 4, keepers: { spec: expect.stringMatching(/^[0-9a-f]{8}$/) } });
    expect(suffix.secretPaths).toEqual([]);
    expect(byName(v2, "copilotos-api-container-suffix").inputs.keepers).not.toEqual(suffix.inputs.keepers);
  });

  test("each route switches to the new container after it is ready, then the gate checks through the proxy and can switch back", () => {
    for (const service of ["api", "web"] as const) {
      const ready = byName(run, `copilotos-${service}-ready-wait`);
      expect(ready.inputs.create).toBe(
        describedScript(
          `ready: ${nameOf(run, service)} healthy (its HEALTHCHECK), 120 s`,
          readyGateScript({ container: nameOf(run, service), timeoutSeconds: 120, intervalSeconds: 2 }),
        ),
      );
      expect(ready.inputs.triggers).toEqual([`${containerOf(run, service).name}-id`]);
      expect(ready.secretPaths).toContain("stdin");
      expect(byName(run, `copilotos-${service}-ready`).opts.dependsOn).toEqual([`copilotos-${service}`]);
      const gate = byName(run, `copilotos-${service}-health-wait`);
      expect(gate.inputs.create).toBe(
        describedScript(
          `gate: ${service} ${service === "api" ? "/api/health/ready" : "/"} through the proxy, 120 s; the route back to the previous ${service} on failure`,
          healthGateScript({
            container: nameOf(run, service),
            url: service === "api" ? "http://127.0.0.1:8101/api/health/ready" : "http://127.0.0.1:3100/",
            timeoutSeconds: 120,
            intervalSeconds: 2,
            revert: { proxy: "copilotos-staging-proxy", service, port: PORTS[service], drainSeconds: 15 },
          }),
        ),
      );
      const sw = byName(run, `copilotos-${service}-route-switch`);
      expect(sw.inputs.create).toBe(
        describedScript(
          `route: ${service} to ${nameOf(run, service)} (proxy reload, 15 s drain)`,
          switchScript({ proxy: "copilotos-staging-proxy", service, container: nameOf(run, service), port: PORTS[service], drainSeconds: 15 }),
        ),
      );
      expect(sw.inputs.update).toBe(sw.inputs.create);
      expect(sw.inputs.triggers).toEqual([nameOf(run, service), "copilotos-proxy-container-id"]);
      expect(byName(run, `copilotos-${service}-route`).opts.dependsOn).toEqual([`copilotos-${service}-ready`, "copilotos-proxy"]);
      expect(byName(run, `copilotos-${service}-health`).opts.dependsOn).toEqual([`copilotos-${service}-route`]);
    }
    expect(byName(run, "copilotos-web").opts.dependsOn).toContain("copilotos-api-health");
  });

  test("a changed app setting changes only that app's name keeper, so only its container and route are replaced", async () => {
    const keeper = (r: ProgramRun, service: string) => byName(r, `copilotos-${service}-container-suffix`).inputs.keepers;
    const changed = await runStack("staging", ["copilotos:api.env.FEATURE_X=on"]);
    expect(keeper(changed, "api")).not.toEqual(keeper(run, "api"));
    expect(keeper(changed, "web")).toEqual(keeper(run, "web"));
    // The same config gives the same keepers: an unchanged stack replaces nothing.
    const again = await runStack("staging");
    expect(keeper(again, "web")).toEqual(keeper(run, "web"));
  });
});

describe("Mongo password rotation", () => {
  const password = (p: string) => `${p}-0123456789abcdefghijklmnopqrstuvwxyz`;

  test("backup → change inside mongod → Mongo container → API; the password only on stdin, as a secret", async () => {
    const run = await runStack("staging", [], [`copilotos:mongoPassword=${password("first")}`]);
    const change = byName(run, "copilotos-mongo-rotation-change");
    // With Mongo's image (the container's): data but no Mongo running (a new host) is re-keyed by a throwaway mongod of it.
    const image = containerOf(run, "mongo").inputs.image as string;
    expect(image).toMatch(/\S/);
    expect(change.inputs.create).toBe(
      describedScript(
        "rotate: the Mongo password of copilotos_user changed inside copilotos-staging-mongo",
        rotationScript({ container: "copilotos-staging-mongo", volume: "copilotos-staging-mongo-data", user: "copilotos_user", image }),
      ),
    );
    // ...so the step runs once that image is on the host: after the step that puts it there, as Mongo's container does.
    const imageOnHost = (byName(run, "copilotos-mongo").opts.dependsOn as string[]).filter((d) => /^copilotos-mongo-image-(pull|send)$/.test(d));
    expect(imageOnHost).toHaveLength(1);
    expect(byName(run, "copilotos-mongo-rotation").opts.dependsOn).toEqual(expect.arrayContaining(imageOnHost));
    expect(change.inputs.stdin).toBe(password("first"));
    expect(change.secretPaths).toEqual(expect.arrayContaining(["stdin", "triggers"]));
    expect(String(change.inputs.create)).not.toContain(password("first"));
    expect((change.inputs.triggers as string[])[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(byName(run, "copilotos-mongo-rotation").opts.dependsOn).toContain("copilotos-mongo-backup");
    expect(containerOf(run, "mongo").opts.dependsOn).toContain("copilotos-mongo-rotation");
    expect(containerOf(run, "api").opts.dependsOn).toContain("copilotos-mongo");

    // A new password: the change step re-runs, Mongo gets the new file, the API a new name and URL.
    const rotated = await runStack("staging", [], [`copilotos:mongoPassword=${password("second")}`]);
    const after = byName(rotated, "copilotos-mongo-rotation-change");
    expect((after.inputs.triggers as string[])[0]).not.toBe((change.inputs.triggers as string[])[0]);
    expect(fileOf(rotated, containerOf(rotated, "mongo"), "/run/secrets/mongo_root_password")).toBe(password("second"));
    expect(fileOf(rotated, containerOf(rotated, "api"), "/run/secrets/mongodb_password")).toBe(password("second"));
    expect(nameOf(rotated, "api")).not.toBe(nameOf(run, "api"));
    // The data volumes are the same: no re-init, no data loss. Only the files' volumes are new (new secrets in them).
    const volumes = (r: typeof run) => ofType(r, "docker:index/volume:Volume").map((v) => String(v.inputs.name));
    const files = /-files-[0-9a-f]{8}-[0-9]$/;
    expect(volumes(rotated).filter((v) => !files.test(v))).toEqual(volumes(run).filter((v) => !files.test(v)));
    // New files go to new volumes: the files' suffix is kept while their fingerprint stays (the proxy's nginx.conf), drawn anew when it changes (Mongo's and the API's password).
    const keepers = (r: typeof run, name: string) => byName(r, `copilotos-${name}-files-suffix`).inputs.keepers;
    expect(keepers(rotated, "proxy")).toEqual(keepers(run, "proxy"));
    for (const s of ["mongo", "api"]) expect(keepers(rotated, s)).not.toEqual(keepers(run, s));
  });

  test("mongo.rotate is a keeper on the generated password only when set, so existing stacks keep theirs", async () => {
    const plain = await runStack("staging");
    const keepersOf = (r: ProgramRun) => ofType(r, PASSWORD).find((p) => p.name === "copilotos-secrets-mongo-password")!.inputs.keepers;
    expect(keepersOf(plain)).toBeUndefined();
    const rotated = await runStack("staging", ["copilotos:mongo.rotate=2026-11-23"]);
    expect(keepersOf(rotated)).toEqual({ rotate: "2026-11-23" });
    for (const other of ["redis-password", "jwt-secret-key", "secret-key"]) {
      expect(ofType(rotated, PASSWORD).find((p) => p.name === `copilotos-secrets-${other}`)!.inputs.keepers).toBeUndefined();
    }
  });
});

test("app containers never hold a host port, whatever the config", async () => {
  const run = await runStack("staging", ["copilotos:ports.web=3200"]);
  const published = ofType(run, CONTAINER)
    .filter((c) => ((c.inputs.ports as unknown[] | undefined) ?? []).length > 0)
    .map((c) => c.inputs.name);
  expect(published).toEqual(["copilotos-staging-proxy"]);
});

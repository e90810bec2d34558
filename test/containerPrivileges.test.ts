/**
 * Hardened containers (issue: security baseline, item 4): no privileges gained after start, every
 * capability dropped but each service's own. The e2e suites run the stand-ins under exactly these
 * (the test executor passes them to `docker create`), so the stack still starts and passes its gates.
 */
import { pidsLimitsScript } from "../components/renderers/operations/pidsLimits";
import { MONITORING_PIDS_LIMITS } from "../components/renderers/monitoring/containers";
import { CAPABILITIES, hardening, PIDS_LIMITS } from "../components/renderers/services/containers";
import { CONTAINER, filesOf, ofType, runStack } from "./support/program";

test("each service keeps only its own capabilities, and none gains privileges", () => {
  expect(hardening({ memoryMb: 512, cpus: 0.5 }, undefined, "redis")).toMatchObject({
    privileged: false,
    securityOpts: ["no-new-privileges:true"],
    capabilities: { drops: ["ALL"], adds: ["CHOWN", "DAC_OVERRIDE", "SETGID", "SETUID"] },
  });
  expect(CAPABILITIES).toEqual({
    mongo: ["CHOWN", "DAC_OVERRIDE", "SETGID", "SETUID"],
    redis: ["CHOWN", "DAC_OVERRIDE", "SETGID", "SETUID"],
    proxy: ["CHOWN", "SETGID", "SETUID"],
    api: [],
    web: [],
  });
});

test("the program: every container of the stack, by service", async () => {
  const run = await runStack("prod");
  const services = ofType(run, CONTAINER).filter((c) => (c.inputs.labels as { label: string }[]).some((l) => l.label === "copilotos.service"));
  const byService = Object.fromEntries(
    services.map((c) => [
      (c.inputs.labels as { label: string; value: string }[]).find((l) => l.label === "copilotos.service")!.value,
      [c.inputs.securityOpts, c.inputs.capabilities],
    ]),
  );
  expect(byService).toEqual({
    mongo: [["no-new-privileges:true"], { drops: ["ALL"], adds: ["CHOWN", "DAC_OVERRIDE", "SETGID", "SETUID"] }],
    redis: [["no-new-privileges:true"], { drops: ["ALL"], adds: ["CHOWN", "DAC_OVERRIDE", "SETGID", "SETUID"] }],
    proxy: [["no-new-privileges:true"], { drops: ["ALL"], adds: ["CHOWN", "SETGID", "SETUID"] }],
    api: [["no-new-privileges:true"], { drops: ["ALL"], adds: [] }],
    web: [["no-new-privileges:true"], { drops: ["ALL"], adds: [] }],
  });
});

test("every service runs on a read-only root with memory (the API disk) for what it writes; its files are on read-only volumes a writer filled, none copied into it", async () => {
  const run = await runStack("staging");
  const services = ofType(run, CONTAINER).filter((c) => c.inputs.start !== false);
  const byService = Object.fromEntries(
    services.map((c) => [(c.inputs.labels as { label: string; value: string }[]).find((l) => l.label === "copilotos.service")!.value, c]),
  );
  const tmp = { "/tmp": "rw,noexec,nosuid,size=64m" };
  expect(Object.fromEntries(Object.entries(byService).map(([s, c]) => [s, [c.inputs.readOnly, c.inputs.tmpfs, c.inputs.uploads]]))).toEqual({
    mongo: [true, tmp, undefined],
    redis: [true, undefined, undefined],
    api: [true, undefined, undefined],
    web: [true, { ...tmp, "/app/apps/web/.next/cache": "rw,noexec,nosuid,size=256m,mode=1777" }, undefined],
    proxy: [true, tmp, undefined],
  });
  // The API keeps uploaded documents in /tmp (the app's FILES_ROOT default): a volume of its own
  // there, anonymous (removed with the container).
  const unnamed = (c: (typeof services)[number]) => ((c.inputs.volumes ?? []) as { volumeName?: string; containerPath: string }[]).filter((v) => !v.volumeName);
  expect(Object.fromEntries(Object.entries(byService).map(([s, c]) => [s, unnamed(c)]))).toEqual({
    mongo: [],
    redis: [],
    api: [{ containerPath: "/tmp" }],
    web: [],
    proxy: [],
  });
  expect(Object.fromEntries(Object.entries(byService).map(([s, c]) => [s, filesOf(run, c)]))).toEqual({
    mongo: ["/run/secrets/mongo_root_password"],
    redis: ["/run/secrets/redis_password", "/usr/local/etc/redis/redis.conf"],
    api: [
      "/run/secrets/jwt_secret_key",
      "/run/secrets/mongodb_password",
      "/run/secrets/redis_password",
      "/run/secrets/saptiva_api_key",
      "/run/secrets/secret_key",
    ],
    web: [],
    proxy: ["/etc/nginx/nginx.conf"],
  });
});

test("pids limits: each container's set on the host (the provider has no input for it), read back, after the web's gate", async () => {
  expect(
    pidsLimitsScript([
      ["mongo", "copilotos-prod-mongo", 2048],
      ["web", "copilotos-prod-web-1a2b3c4d", 1024],
    ]),
  ).toBe(
    [
      "set -eu",
      "docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || { echo 'pids limits: the Docker engine does not answer (docker version failed); nothing was done. Check that it runs and that DOCKER_HOST names it' >&2; exit 1; }",
      "docker update --pids-limit 2048 copilotos-prod-mongo >/dev/null",
      `[ "$(docker inspect --format '{{.HostConfig.PidsLimit}}' copilotos-prod-mongo)" = 2048 ] || { echo 'pids limits: copilotos-prod-mongo did not take its limit of 2048' >&2; exit 1; }`,
      "docker update --pids-limit 1024 copilotos-prod-web-1a2b3c4d >/dev/null",
      `[ "$(docker inspect --format '{{.HostConfig.PidsLimit}}' copilotos-prod-web-1a2b3c4d)" = 1024 ] || { echo 'pids limits: copilotos-prod-web-1a2b3c4d did not take its limit of 1024' >&2; exit 1; }`,
      "echo 'pids limits: mongo 2048, web 1024'",
      "",
    ].join("\n"),
  );
  const run = await runStack("prod");
  const step = run.resources.find((r) => r.name === "copilotos-pids-set")!;
  expect(String(step.inputs.create).split("\n")[0]).toBe(
    `# pids limits: ${Object.entries({ ...PIDS_LIMITS, ...MONITORING_PIDS_LIMITS })
      .map(([s, n]) => `${s} ${n}`)
      .join(", ")}`,
  );
  // Prod's monitoring containers too (monitoring is on for prod).
  expect(String(step.inputs.create)).toContain("docker update --pids-limit 256 copilotos-prod-prometheus >/dev/null");
  expect(step.inputs.triggers).toEqual([]);
  expect(step.opts.dependsOn).toEqual(["copilotos-web-health"]);
  expect(String(step.inputs.create)).toMatch(/docker update --pids-limit 1024 copilotos-prod-api-[0-9a-f]{8} >\/dev\/null/);
});

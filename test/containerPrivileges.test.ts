/**
 * Hardened containers (issue: security baseline, item 4): no privileges gained after start, every
 * capability dropped but each service's own. The e2e suites run the stand-ins under exactly these
 * (the test executor passes them to `docker create`), so the stack still starts and passes its gates.
 */
import { CAPABILITIES, hardening } from "../components/renderers/services/containers";
import { CONTAINER, ofType, runStack } from "./support/program";

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
  const byService = Object.fromEntries(
    ofType(run, CONTAINER).map((c) => [
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

test("the web, into which nothing is copied, runs on a read-only root with memory for Next.js's cache and /tmp; the others keep theirs writable (their config is copied in)", async () => {
  const run = await runStack("staging");
  const byService = Object.fromEntries(
    ofType(run, CONTAINER).map((c) => [(c.inputs.labels as { label: string; value: string }[]).find((l) => l.label === "copilotos.service")!.value, c.inputs]),
  );
  expect([byService.web.readOnly, byService.web.tmpfs, byService.web.uploads]).toEqual([
    true,
    { "/tmp": "rw,noexec,nosuid,size=64m", "/app/apps/web/.next/cache": "rw,noexec,nosuid,size=256m,mode=1777" },
    undefined,
  ]);
  for (const s of ["mongo", "redis", "api", "proxy"])
    expect([s, byService[s].readOnly, (byService[s].uploads as unknown[]).length > 0]).toEqual([s, undefined, true]);
});

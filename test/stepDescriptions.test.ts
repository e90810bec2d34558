/** The one-line descriptions that head every host script (components/renderers/operations/stepDescriptions.ts, shell.ts). */
import { describedScript, scriptDescription } from "../components/renderers/shell";
import { backupDoes, gateDoes, migrateDoes, preflightDoes, scheduleDoes } from "../components/renderers/operations/stepDescriptions";

describe("a described host script", () => {
  test("is the description as a comment line, then the script unchanged", () => {
    expect(describedScript("gate: api /api/health/ready through the proxy, 120 s", "set -eu\ntrue\n")).toBe(
      "# gate: api /api/health/ready through the proxy, 120 s\nset -eu\ntrue\n",
    );
    expect(scriptDescription("# backup: x\nset -eu\n")).toBe("backup: x");
    expect(scriptDescription("set -eu\n# not a heading\n")).toBeUndefined();
  });

  test("a newline or control character in a description cannot end the comment", () => {
    const script = describedScript("route: api\nrm -rf /\r\u0007é", "set -eu\n");
    expect(script).toBe("# route: api?rm -rf /???\nset -eu\n");
    expect(script.split("\n")).toHaveLength(3);
  });
});

describe("step descriptions", () => {
  test("pre-flight: what it checks, with the numbers", () => {
    const identity = { project: "copilotos", stack: "staging" };
    const spec = { identity, ports: [3100, 8101], containers: ["a", "b"], volumes: ["v"], networks: ["n"], minFreeMb: 2048 };
    expect(preflightDoes(spec)).toBe(
      "preflight: read-only checks: engine answers, ports 3100,8101 free, 2 containers, 1 volume, 1 network not another's, 2048 MiB free",
    );
    expect(preflightDoes({ ...spec, ports: [], adopt: { composeProject: "infra", volumes: ["a", "b"] } })).toBe(
      "preflight: read-only checks: engine answers, ports none free, 2 containers, 1 volume, 1 network not another's, 2048 MiB free; compose project infra and its 2 volumes to take over",
    );
  });

  test("backups say what they come before and where the copy goes", () => {
    const spec = { volume: "copilotos-prod-mongo-data", dir: "~/copilotos-backups", keep: 7 };
    expect(backupDoes(spec, "before the app update")).toBe(
      "backup before the app update: fsyncLock + archive copilotos-prod-mongo-data into ~/copilotos-backups, verified, newest 7 kept",
    );
    const offsite = {
      target: { kind: "aws" as const, region: "eu-west-1" },
      secretsDir: "~/o",
      image: "restic",
      retention: { keep: 1, daily: 0, weekly: 0, monthly: 0 },
    };
    expect(backupDoes({ ...spec, offsite }, "before a Mongo change")).toMatch(
      /, and into the restic repository the stack's S3 bucket \(backup\.s3, eu-west-1\)$/,
    );
    expect(scheduleDoes("30 3 * * *", spec)).toBe("backup schedule: crontab line (30 3 * * *) backs up copilotos-prod-mongo-data between deploys");
  });

  test("a gate without a route names its container and URL; a migration its command", () => {
    expect(gateDoes({ url: "https://app.example.com:8443/api/health/ready", timeoutSeconds: 60 }, "c-api", { service: "api" })).toBe(
      "gate: api /api/health/ready through the proxy, 60 s; the route back to the previous api on failure",
    );
    expect(gateDoes({ url: "http://127.0.0.1:8001/api/health", timeoutSeconds: 30 }, "c-api")).toBe("gate: c-api at http://127.0.0.1:8001/api/health, 30 s");
    expect(migrateDoes("c-api", ["python", "-m", "migrate"])).toBe("migrate: python -m migrate in c-api before the route switch");
  });
});

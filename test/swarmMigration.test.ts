/**
 * The migration step on a swarm (config `api.migrate`): in the program, a one-off job of the API's
 * own image, env and secrets, after the backup and before the API's rolling update (mock runtime);
 * its script, run by sh against a stand-in `docker`. The real swarm runs it in test/e2e/swarm.test.ts.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describedScript } from "../components/renderers/shell";
import { swarmMigrateScript } from "../components/renderers/swarm/migrate";
import { dependenciesOf } from "./support/executor";
import { runStack } from "./support/program";
import { inTurn, withDocker } from "./support/standInDocker";

const ID = { project: "copilotos", stack: "swarm" };
const COMMAND = ["python3", "-m", "scripts.migrate", "--to", "it's"];

test("in the program: the API's image, env and secrets; after the app backup, and the API's update waits for it", async () => {
  const run = await runStack("swarm", [`copilotos:api.migrate=${JSON.stringify(COMMAND)}`], [], path.join(__dirname, "fixtures"));
  const step = run.resources.find((r) => r.name === "copilotos-api-migration-run")!;
  const api = run.resources.find((r) => r.type === "docker:index/service:Service" && r.inputs.name === "copilotos-swarm-api")!;
  const spec = api.inputs.taskSpec as { containerSpec: { image: string; env: Record<string, string>; secrets: { secretName: string; fileName: string }[] } };
  const secrets = spec.containerSpec.secrets.map((s) => ({ name: s.secretName, file: s.fileName }));
  expect(secrets.map((s) => s.file).sort()).toEqual(["jwt_secret_key", "mongodb_password", "redis_password", "saptiva_api_key", "secret_key"]);
  expect(step.inputs.create).toBe(
    describedScript(
      "migrate: python3 -m scripts.migrate --to it's in a one-off task of the new API image on copilotos-swarm, before the API's rolling update",
      swarmMigrateScript({ identity: ID, image: spec.containerSpec.image, network: "copilotos-swarm", env: spec.containerSpec.env, secrets, command: COMMAND }),
    ),
  );
  // It runs again for a new image or command, not for anything else.
  expect(step.inputs.triggers).toEqual([spec.containerSpec.image, JSON.stringify(COMMAND)]);
  const deps = dependenciesOf(run);
  expect(deps.get("copilotos-api-migration-run")).toEqual(expect.arrayContaining(["copilotos-app-backup-run", "copilotos-mongo", "copilotos-api-image-pull"]));
  expect(deps.get(api.name)).toContain("copilotos-api-migration-run");
  // No migration configured: no step.
  const plain = await runStack("swarm", [], [], path.join(__dirname, "fixtures"));
  expect(plain.resources.some((r) => r.name.includes("migration"))).toBe(false);
});

describe("against a stand-in docker", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "cpt-swarm-mig-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const SCRIPT = swarmMigrateScript({
    identity: ID,
    image: "registry.example.com/api@sha256:11",
    network: "copilotos-swarm",
    env: { MONGODB_HOST: "mongo", ALLOWED_HOSTS: "a b" },
    secrets: [{ name: "copilotos-swarm-mongodb_password-0123456789ab", file: "mongodb_password" }],
    command: ["sh", "-c", "echo it's; exit 3"],
  });
  /** `states`: what each `service ps` reads, in turn (the last repeats). */
  const migrate = (...states: string[]) =>
    withDocker(dir, SCRIPT, [`  'service ps') ${inTurn(dir, states)} ;;`, "  'service logs') echo 'migration output' ;;"]);

  test("the job created with the API's image, env, secrets (by name, as their files) and the command; its output, then done; removed before and after", () => {
    const r = migrate("Running 1 second ago", "Complete 1 second ago");
    expect([r.status, r.stderr]).toEqual([0, ""]);
    expect(r.calls.slice(1)).toEqual([
      "service rm copilotos-swarm-api-migrate",
      "service create --detach --quiet --name copilotos-swarm-api-migrate --mode replicated-job --restart-condition none --network copilotos-swarm --label copilotos.project=copilotos --label copilotos.stack=swarm --label copilotos.service=api --env ALLOWED_HOSTS=a b --env MONGODB_HOST=mongo --secret source=copilotos-swarm-mongodb_password-0123456789ab,target=mongodb_password,mode=0444 --entrypoint sh registry.example.com/api@sha256:11 -c echo it's; exit 3",
      "service ps --format {{.CurrentState}} copilotos-swarm-api-migrate",
      "service ps --format {{.CurrentState}} copilotos-swarm-api-migrate",
      "service logs --raw copilotos-swarm-api-migrate",
      "service rm copilotos-swarm-api-migrate",
    ]);
    expect(r.stdout).toBe(
      "migrate: running sh -c echo it's; exit 3 in a one-off task of the new API's image on the stack's network\nmigration output\nmigrate: done\n",
    );
  }, 15_000);

  test("a failed task: its output, then the failure said, exit 1; the job removed", () => {
    const r = migrate("Failed 1 second ago");
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("migration output\n");
    expect(r.stderr).toBe("migrate: sh -c echo it's; exit 3 ended Failed 1 second ago; the API's update does not start and the old API keeps serving\n");
    expect(r.calls.at(-1)).toBe("service rm copilotos-swarm-api-migrate");
  });

  test("is clean under shellcheck", () => {
    const r = spawnSync("shellcheck", ["-s", "sh", "-S", "warning", "-f", "gcc", "-"], { input: SCRIPT, encoding: "utf8" });
    expect([r.status, r.stdout]).toEqual([0, ""]);
  });
});

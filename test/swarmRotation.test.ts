/**
 * Mongo password rotation on a swarm: the host script (exact lines against the single host's, and
 * run by sh against a stand-in `docker`), and its place in the swarm graph under the mock runtime.
 * The real swarm rotates under load in test/e2e/swarm.test.ts.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { rotationScript } from "../components/renderers/operations/rotation";
import { rotationDoes } from "../components/renderers/operations/stepDescriptions";
import { describedScript } from "../components/renderers/shell";
import { minimalConfig, problemsOf, swarmHost } from "./support/config";
import { runStack } from "./support/program";
import { withDocker } from "./support/standInDocker";

const BASE = { container: "copilotos-swarm-mongo", volume: "copilotos-swarm-mongo-data", user: "copilotos_user" };
const SWARM = { ...BASE, swarm: { service: "copilotos-swarm-mongo", node: "node-1" } };
/** The single host's lines that find its container (the swarm's replace them). */
const SINGLE_FIND = [
  "ctr=copilotos-swarm-mongo; vol=copilotos-swarm-mongo-data; want_user=copilotos_user",
  "state() { s=$(docker inspect --format '{{.State.Running}} {{.State.Restarting}}' \"$ctr\" 2>/dev/null) || s='false false'; echo \"$s\"; }",
  "waited=0; while [ \"$(state)\" = 'false true' ] && [ $waited -lt 60 ]; do sleep 1; waited=$((waited + 1)); done",
  "running=$(state); running=${running%% *}",
].join("\n");
const SWARM_FIND = [
  "svc=copilotos-swarm-mongo; vol=copilotos-swarm-mongo-data; want_user=copilotos_user",
  'if ! docker service inspect "$svc" >/dev/null 2>&1 && ! docker volume inspect "$vol" >/dev/null 2>&1; then',
  "  cat >/dev/null",
  '  echo "rotate: no Mongo data yet; mongod sets the password when it initialises $vol"',
  "  exit 0",
  "fi",
  "here=$(docker info --format '{{.Name}}')",
  `if [ "$here" != node-1 ]; then cat >/dev/null; printf 'rotate: Mongo'\\''s data is on node %s, and this connection reaches node %s; backups, restores and password changes on a swarm run on its data node: point host.address at the data node (a manager)\\n' node-1 "$here" >&2; exit 1; fi`,
  "ctr=$(docker ps -q --filter label=com.docker.swarm.service.name=copilotos-swarm-mongo | head -n 1)",
  'waited=0; while [ -z "$ctr" ] && docker service inspect "$svc" >/dev/null 2>&1 && [ $waited -lt 60 ]; do sleep 1; waited=$((waited + 1)); ctr=$(docker ps -q --filter label=com.docker.swarm.service.name=copilotos-swarm-mongo | head -n 1); done',
  'if [ -n "$ctr" ]; then running=true; else running=false; fi',
].join("\n");

describe("the rotation script on a swarm", () => {
  test("is the single host's, with Mongo found as its service's task on the data node and named so in the messages", () => {
    const single = rotationScript(BASE);
    expect(single).toContain(SINGLE_FIND);
    const expected = single
      .replace(SINGLE_FIND, SWARM_FIND)
      .replace("holds data but $ctr is not running", "holds data but the task of $svc is not running")
      .replace("Mongo in $ctr stopped during the change", "Mongo in the task of $svc stopped during the change")
      .replace("Run pulumi up again once $ctr runs", "Run pulumi up again once the task of $svc runs")
      .replace("the password of Mongo in $ctr was not changed", "the password of Mongo in the task of $svc was not changed");
    expect(rotationScript(SWARM)).toBe(expected);
    expect(rotationScript(SWARM)).not.toContain("$ctr is not running");
    expect(rotationDoes(SWARM)).toBe("rotate: the Mongo password of copilotos_user changed inside the task of copilotos-swarm-mongo on node node-1");
  });

  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "cpt-swarm-rotate-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const NEW = "n3w-Password_0123456789abcdefghijklmnop";
  /** `node`: what `docker info` names; `service`: whether Mongo's service exists; `task`: its running task here, if any. */
  const run = (o: { node: string; service: boolean; task?: string }) =>
    withDocker(
      dir,
      rotationScript(SWARM),
      [
        `  'service inspect') exit ${o.service ? 0 : 1} ;;`,
        "  'volume inspect') exit 1 ;;",
        `  'info --format') echo ${o.node} ;;`,
        `  'ps -q') echo '${o.task ?? ""}' ;;`,
        "  'inspect --format') case \"$*\" in *Config.Env*) echo MONGO_INITDB_ROOT_USERNAME=copilotos_user ;; *) echo 2026-12-06T10:00:00Z ;; esac ;;",
        `  'exec -i') cat > "${dir}/stdin"; echo 'rotate: changed the password of copilotos_user' ;;`,
      ],
      NEW,
    );

  test("a first deploy (no Mongo service, no volume here) changes nothing, wherever the data node is", () => {
    const r = run({ node: "node-2", service: false });
    expect([r.status, r.stdout, r.stderr]).toEqual([
      0,
      "rotate: no Mongo data yet; mongod sets the password when it initialises copilotos-swarm-mongo-data\n",
      "",
    ]);
    expect(r.calls.some((c) => c.startsWith("exec"))).toBe(false);
  });

  test("reaching another node than the data node is refused, naming both, nothing run in any container", () => {
    const r = run({ node: "node-2", service: true, task: "c0ffee" });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      "rotate: Mongo's data is on node node-1, and this connection reaches node node-2; backups, restores and password changes on a swarm run on its data node: point host.address at the data node (a manager)\n",
    );
    expect(r.calls.some((c) => c.startsWith("exec"))).toBe(false);
  });

  test("on the data node: the change runs in Mongo's task there, found by label, the new password on its stdin only", () => {
    const r = run({ node: "node-1", service: true, task: "c0ffee" });
    expect([r.status, r.stdout, r.stderr]).toEqual([0, "rotate: changed the password of copilotos_user\n", ""]);
    expect(r.calls).toContain("ps -q --filter label=com.docker.swarm.service.name=copilotos-swarm-mongo");
    const exec = r.calls.find((c) => c.startsWith("exec"))!;
    expect(exec.startsWith("exec -i c0ffee sh -c ")).toBe(true);
    expect(exec).not.toContain(NEW);
    expect(fs.readFileSync(path.join(dir, "stdin"), "utf8")).toBe(NEW);
  });
});

describe("the swarm graph", () => {
  test("a new password is changed in the running mongod after the backup, before Mongo's service and the API get the new secret", async () => {
    const run = await runStack("swarm", [], [], path.join(__dirname, "fixtures"));
    const step = run.resources.find((r) => r.name === "copilotos-mongo-rotation-change")!;
    expect(step.inputs.create).toBe(describedScript(rotationDoes(SWARM), rotationScript(SWARM)));
    // The password travels as a secret stdin; the trigger is its hash and the user.
    expect(step.secretPaths).toContain("stdin");
    const [hash, user] = step.inputs.triggers as string[];
    expect([hash, user]).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/), "copilotos_user"]);
    const password = run.passwords["copilotos-secrets-mongo-password"].result;
    expect(step.inputs.stdin).toBe(password);
    expect(JSON.stringify({ ...step.inputs, stdin: undefined })).not.toContain(password);
    const rotation = run.resources.find((r) => r.name === "copilotos-mongo-rotation")!;
    expect(rotation.opts.dependsOn).toEqual(expect.arrayContaining(["copilotos-node-labels", "copilotos-mongo-backup"]));
    const mongo = run.resources.find((r) => r.name === "copilotos-mongo")!;
    expect(mongo.opts.dependsOn).toContain("copilotos-mongo-rotation");
    // The API waits for Mongo's service, so for the change.
    expect(run.resources.find((r) => r.name === "copilotos-api")!.opts.dependsOn).toContain("copilotos-mongo");
  });

  test("a worker data node (backups off) has no rotation step: the manager cannot reach its task, and config refuses mongo.rotate there", async () => {
    const run = await runStack("swarm", ["copilotos:host.dataNode=node-2", "copilotos:backup.enabled=false"], [], path.join(__dirname, "fixtures"));
    expect(run.resources.filter((r) => r.name.startsWith("copilotos-mongo-rotation"))).toEqual([]);
    expect(run.resources.find((r) => r.name === "copilotos-mongo")!.opts.dependsOn).not.toContain("copilotos-mongo-rotation");
    const host = swarmHost({ dataNode: "node-2" });
    expect(problemsOf({ ...minimalConfig(), host, backup: { enabled: false }, mongo: { rotate: "1" } })).toEqual([
      {
        key: "copilotos:mongo.rotate",
        fix: "pulumi config set --path copilotos:mongo.rotate <value> (or remove it to use the default: pulumi config rm --path copilotos:mongo.rotate)",
        message:
          "needs host.dataNode to be a manager: the password is changed inside Mongo's task on the data node, reached at host.address (make it a manager and point host.address at it)",
      },
    ]);
  });
});

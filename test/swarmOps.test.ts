/**
 * `npm run ops` on a swarm stack: the manager's scripts (exact lines, shellcheck, the status run by
 * sh against a stand-in `docker`), and what the CLIs refuse on a swarm before anything runs. The
 * real manager answers them over SSH in test/e2e/swarm.test.ts.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { swarmAlertsScript, swarmExecScript, swarmLogsScript, swarmRestartScript, swarmStatusScript } from "../components/renderers/swarm/ops";
import { ops } from "../scripts/ops";
import { restore } from "../scripts/restore";
import { inTurn, withDocker as standIn } from "./support/standInDocker";

const ID = { project: "copilotos", stack: "swarm" };
/** An off-host repository (SFTP), as `backup.offsite` makes it for the swarm stack. */
const OFFSITE = {
  target: {
    kind: "sftp" as const,
    host: "backup.example.com",
    port: 22,
    user: "restic",
    path: "/srv/restic/swarm",
    hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC14sYWFiDHgTKJ0Qp2N7SZUdlgOt/qxwjm5T3A8C1kT",
  },
  secretsDir: "~/.copilotos/offsite/copilotos-swarm",
  image: "restic/restic:0.18.0",
  retention: { keep: 7, daily: 7, weekly: 4, monthly: 12 },
};
const FIXTURES = ["--stack-dir", path.join(__dirname, "fixtures")];

test("logs: every task's lines on every node, stamped, the options passed quoted; a service not there is said", () => {
  expect(swarmLogsScript(ID, "api", { since: "10m", tail: 50, follow: true }).trimEnd().split("\n").slice(-2)).toEqual([
    "docker service inspect copilotos-swarm-api >/dev/null 2>&1 || { echo 'logs: no service copilotos-swarm-api on this swarm (npm run up first)' >&2; exit 1; }",
    "exec docker service logs --timestamps --tail 50 --since 10m --follow copilotos-swarm-api",
  ]);
  expect(swarmLogsScript(ID, "mongo").trimEnd().split("\n").at(-1)).toBe("exec docker service logs --timestamps --tail 200 copilotos-swarm-mongo");
});

test("alerts: Alertmanager asked on the stack's network from this node's node exporter task; none there is said with why", () => {
  expect(swarmAlertsScript(ID).trimEnd().split("\n").slice(-3)).toEqual([
    "ne=$(docker ps -q --filter label=com.docker.swarm.service.name=copilotos-swarm-node-exporter | head -n 1)",
    "if [ -z \"$ne\" ]; then echo 'alerts: no copilotos-swarm-node-exporter task runs on this manager: monitoring is off for this stack (monitoring.enabled), or it is down (npm run ops -- swarm status)' >&2; exit 1; fi",
    "docker exec \"$ne\" wget -qO- 'http://alertmanager:9093/api/v2/alerts?active=true&silenced=false&inhibited=false' || { echo 'alerts: Alertmanager does not answer on the stack network (npm run ops -- swarm status)' >&2; exit 1; }",
  ]);
});

test("every swarm ops script is clean under shellcheck", () => {
  for (const script of [
    swarmStatusScript(ID),
    swarmStatusScript(ID, { dir: "~/copilotos-backups", prefix: "copilotos-swarm-mongo", offsite: OFFSITE }),
    swarmLogsScript(ID, "web", { since: "1h" }),
    swarmAlertsScript(ID),
    swarmExecScript(ID, "redis", ["redis-cli", "ping"]),
    swarmRestartScript(ID, "proxy"),
  ]) {
    const r = spawnSync("shellcheck", ["-s", "sh", "-S", "warning", "-f", "gcc", "-"], { input: script, encoding: "utf8" });
    expect([r.status, r.stdout]).toEqual([0, ""]);
  }
});

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "cpt-swarm-ops-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs `script` with the stand-in `docker` (test/support/standInDocker.ts) in this test's folder. */
const withDocker = (script: string, arms: string[]) => standIn(dir, script, arms);

describe("status against a stand-in docker", () => {
  const status = (services: string, backup?: Parameters<typeof swarmStatusScript>[1]) =>
    withDocker(swarmStatusScript(ID, backup), [
      `  'service ls') case "$*" in *table*) echo 'NAME MODE REPLICAS IMAGE' ;; *) printf '%s' '${services}' ;; esac ;;`,
      "  'service ps') case \"$*\" in *desired-state=running*) echo 'NAME NODE CURRENT STATE IMAGE' ;; *) printf '%s\\t%s\\t%s\\t%s\\n' copilotos-swarm-api.1 node-2 'Failed 2 minutes ago' 'task: non-zero exit (1)' copilotos-swarm-api.2 node-3 'Shutdown 5 minutes ago' '' ;; esac ;;",
    ]);

  test("each service, its running tasks and then the failed ones; asked of the stack's services by label", () => {
    const r = status("copilotos-swarm-web\ncopilotos-swarm-api\n");
    expect([r.status, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toBe(
      [
        "NAME MODE REPLICAS IMAGE",
        "",
        "NAME NODE CURRENT STATE IMAGE",
        "",
        "failed tasks (the swarm keeps 5 per slot):",
        "copilotos-swarm-api.1\tnode-2\tFailed 2 minutes ago\ttask: non-zero exit (1)",
        "",
      ].join("\n"),
    );
    const calls = r.calls;
    expect(calls.filter((c) => c.startsWith("service ps")).map((c) => c.split(" ").slice(-2).join(" "))).toEqual([
      "copilotos-swarm-api copilotos-swarm-web",
      "copilotos-swarm-api copilotos-swarm-web",
    ]);
    expect(calls[1]).toBe("service ls --filter label=copilotos.project=copilotos --filter label=copilotos.stack=swarm --format {{.Name}}");
  });

  test("with backups on, then the newest verified backup on the manager (the data node), as on one host", () => {
    const backups = path.join(dir, "backups");
    fs.mkdirSync(backups);
    for (const f of ["copilotos-swarm-mongo-20261206T010000Z.tar", "copilotos-swarm-mongo-20261206T020000Z.tar"]) {
      fs.writeFileSync(path.join(backups, f), "12345");
      fs.writeFileSync(path.join(backups, `${f}.sha256`), "");
    }
    // Newer, but never verified (no .sha256): not a backup to name.
    fs.writeFileSync(path.join(backups, "copilotos-swarm-mongo-20261206T030000Z.tar"), "partial");
    const r = status("copilotos-swarm-mongo\n", { dir: backups, prefix: "copilotos-swarm-mongo" });
    expect([r.status, r.stderr]).toEqual([0, ""]);
    expect(r.stdout.split("\n").slice(-2)).toEqual(["last verified backup: copilotos-swarm-mongo-20261206T020000Z.tar (5 bytes)", ""]);
    expect(status("copilotos-swarm-mongo\n", { dir: path.join(dir, "none"), prefix: "copilotos-swarm-mongo" }).stdout).toMatch(
      /\nlast verified backup: none in \S+\/none\n$/,
    );
    // Backups off: no such line.
    expect(status("copilotos-swarm-mongo\n").stdout).not.toContain("last verified backup");
  });

  test("a swarm without the stack's services: said, exit 1", () => {
    const r = status("");
    expect([r.status, r.stderr]).toEqual([1, "status: no service of stack swarm on this swarm (npm run up first)\n"]);
  });
});

describe("exec against a stand-in docker", () => {
  /** `here`: the task ID `docker ps` finds on this node, or none. */
  const exec = (here: string) =>
    withDocker(swarmExecScript(ID, "api", ["sh", "-c", "echo $HOME; it's"]), [
      `  'ps -q') printf '%s' '${here}' ;;`,
      "  'service ps') printf 'node-2\\nnode-3\\nnode-2\\n' ;;",
      '  \'exec -i\') shift 3; printf "%s|" "$@" ;;',
    ]);

  test("a task of the service on the manager: the command runs in it, every word as given", () => {
    const r = exec("c0ffee\n");
    expect([r.status, r.stdout, r.stderr]).toEqual([0, "sh|-c|echo $HOME; it's|", ""]);
    expect(r.calls.slice(1)).toEqual(["ps -q --filter label=com.docker.swarm.service.name=copilotos-swarm-api", "exec -i c0ffee sh -c echo $HOME; it's"]);
  });

  test("none on the manager: said, with the nodes its tasks run on, exit 1, nothing run", () => {
    const r = exec("");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /^exec: no api task runs on this manager \(.+\); its tasks run on node-2,node-3: there, docker exec into the container labelled com\.docker\.swarm\.service\.name=copilotos-swarm-api\n$/,
    );
    expect(r.calls.some((c) => c.startsWith("exec"))).toBe(false);
  });
});

describe("restart against a stand-in docker", () => {
  /** `states`: the UpdateStatus each poll reads, in turn (the last one repeats). */
  const restart = (...states: string[]) =>
    withDocker(swarmRestartScript(ID, "api"), [
      `  'service inspect') case "$*" in *UpdateStatus*) ${inTurn(dir, states)} ;; esac ;;`,
      "  'service update') echo 'overall progress: 2 out of 2 tasks' ;;",
    ]);

  test("the swarm's rolling restart (--force), its verdict awaited past `updating`", () => {
    const r = restart("updating", "completed");
    expect([r.status, r.stderr]).toEqual([0, ""]);
    expect(r.calls.slice(1)).toEqual([
      "service inspect copilotos-swarm-api",
      "service update --detach=false --force copilotos-swarm-api",
      "service inspect -f {{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}} copilotos-swarm-api",
      "service inspect -f {{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}} copilotos-swarm-api",
    ]);
    expect(r.stdout).toBe(
      "restart: the swarm restarts the tasks of copilotos-swarm-api one at a time, each healthy before the next\n" +
        "overall progress: 2 out of 2 tasks\n" +
        "restart: every task of copilotos-swarm-api restarted and healthy\n",
    );
  }, 15_000);

  test("rolled back by the swarm: said with what to run, exit 1", () => {
    const r = restart("rollback_completed");
    expect([r.status, r.stderr]).toEqual([
      1,
      "restart: the swarm's update of copilotos-swarm-api ended rollback_completed: a failed one is rolled back, so its tasks are as they were (npm run ops -- swarm status)\n",
    ]);
    expect(r.stdout).not.toContain("restarted and healthy");
  });
});

test("status --json on a swarm is refused (exit 2)", async () => {
  const err: string[] = [];
  expect(await ops(["swarm", "status", "--json", ...FIXTURES], { out: () => undefined, err: (s) => err.push(s) })).toBe(2);
  expect(err.join("")).toMatch(/^ops: --json is not there on a swarm yet\nusage:/);
});

test("restore --from offsite --onto-new-host on a swarm is refused (exit 2) with the swarm's way back, nothing run", async () => {
  const out: string[] = [];
  const err: string[] = [];
  const argv = ["swarm", "--from", "offsite", "--onto-new-host", "--yes", ...FIXTURES];
  expect(await restore(argv, { out: (s) => out.push(s), err: (s) => err.push(s) })).toBe(2);
  expect([out.join(""), err.join("")]).toEqual([
    "",
    "restore: --onto-new-host is for one host; on a swarm run pulumi up for swarm on the new nodes first (Mongo starts empty; its backups stay on the data node until it holds the app's database), " +
      "then list the snapshots (npm run restore -- swarm --from offsite) and restore the last one taken before the loss: npm run restore -- swarm --from offsite --snapshot <id>\n",
  ]);
});

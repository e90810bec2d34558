/**
 * `npm run ops -- <stack> maintenance on|off` and `monitor` on a swarm: the manager's scripts (exact
 * lines, shellcheck, run by sh against a stand-in `docker`) and what the CLI refuses before anything
 * runs. The real swarm answers them in test/e2e/swarm.test.ts.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseUiAddresses } from "../components/renderers/monitoring/tunnel";
import { swarmMaintenanceConfig, swarmMaintenanceScript } from "../components/renderers/swarm/maintenance";
import { swarmUiAddressesScript } from "../components/renderers/swarm/ops";
import { ops } from "../scripts/ops";
import { withDocker as standIn } from "./support/standInDocker";

const ID = { project: "copilotos", stack: "swarm" };
const FIXTURES = ["--stack-dir", path.join(__dirname, "fixtures")];
const OFF = swarmMaintenanceConfig(ID, false);
const ON = swarmMaintenanceConfig(ID, true);

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "cpt-swarm-maint-"));
  fs.mkdirSync(path.join(dir, "home"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test("the maintenance file's configs are named by content: off is the one the stack deploys", () => {
  expect([OFF, ON]).toEqual(["copilotos-swarm-maintenance-conf-37cc8fc2e091", "copilotos-swarm-maintenance-conf-d75f765d546f"]);
});

describe("maintenance against a stand-in docker", () => {
  /**
   * `current`: the maintenance config the proxy service names; `result`: its UpdateStatus after the
   * update; `am`: Alertmanager's task on this node (none: no monitoring here); `exists`: the config wanted is there.
   */
  const maintenance = (on: boolean, o: { current: string; result?: string; am?: string; exists?: boolean }) => {
    const script = swarmMaintenanceScript(ID, on).replace("set -eu", 'set -eu; HOME="$PWD/home"');
    return standIn(dir, `cd ${dir} && ${script}`, [
      `  'service inspect') case "$*" in *Configs*) echo '${o.current}' ;; *UpdateStatus*) echo '${o.result ?? "completed"}' ;; esac ;;`,
      `  'config inspect') exit ${o.exists ? 0 : 1} ;;`,
      `  'config create') cat > created ;;`,
      "  'service update') echo 'overall progress: 2 out of 2 tasks' ;;",
      `  'ps -q') echo '${o.am ?? ""}' ;;`,
      "  'inspect -f') case \"$*\" in *am1) echo true ;; esac ;;",
      "  'exec am1') echo sid-1 ;;",
    ]);
  };

  test("on: the alerts silenced first, the on config created and swapped for off in one update, its result read", () => {
    const r = maintenance(true, { current: OFF, am: "am1" });
    expect([r.status, r.stderr]).toEqual([0, ""]);
    expect(r.calls.slice(1)).toEqual([
      "service inspect copilotos-swarm-proxy",
      "ps -q --filter label=com.docker.swarm.service.name=copilotos-swarm-alertmanager",
      "inspect -f {{.State.Running}} am1",
      "exec am1 amtool --alertmanager.url=http://127.0.0.1:9093 silence add --duration=4h --author=copilotos --comment=npm run ops -- swarm maintenance on stack=swarm",
      'service inspect -f {{range .Spec.TaskTemplate.ContainerSpec.Configs}}{{if eq .File.Name "/etc/nginx/copilotos/maintenance.conf"}}{{.ConfigName}}{{end}}{{end}} copilotos-swarm-proxy',
      `config inspect ${ON}`,
      `config create --label copilotos.project=copilotos --label copilotos.stack=swarm ${ON} -`,
      `service update --detach=false --config-rm ${OFF} --config-add source=${ON},target=/etc/nginx/copilotos/maintenance.conf,mode=0444 copilotos-swarm-proxy`,
      "service inspect -f {{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}} copilotos-swarm-proxy",
    ]);
    expect(fs.readFileSync(path.join(dir, "created"), "utf8")).toBe("return 503;\n");
    expect(fs.readFileSync(path.join(dir, "home/.copilotos/maintenance-copilotos-swarm.silence"), "utf8")).toBe("sid-1\n");
    expect(r.stdout.split("\n")).toEqual([
      "maintenance: the alerts of swarm are silenced for 4 hours at most (silence sid-1)",
      "maintenance: turning on at every edge proxy: the swarm updates copilotos-swarm-proxy one node at a time",
      "overall progress: 2 out of 2 tasks",
      "maintenance: on at every edge proxy (both apps answer 503 with the maintenance page)",
      "",
    ]);
  });

  test("off: the deployed config swapped back (not created again), then the silence shortened", () => {
    fs.mkdirSync(path.join(dir, "home/.copilotos"));
    fs.writeFileSync(path.join(dir, "home/.copilotos/maintenance-copilotos-swarm.silence"), "sid-0\n");
    const r = maintenance(false, { current: ON, am: "am1", exists: true });
    expect([r.status, r.stderr]).toEqual([0, ""]);
    const calls = r.calls.slice(1);
    expect(calls.filter((c) => /^(config|service update)/.test(c))).toEqual([
      `config inspect ${OFF}`,
      `service update --detach=false --config-rm ${ON} --config-add source=${OFF},target=/etc/nginx/copilotos/maintenance.conf,mode=0444 copilotos-swarm-proxy`,
    ]);
    const update = calls.findIndex((c) => c.startsWith("service update"));
    expect(calls.slice(update + 2).map((c) => c.split(" --")[0])).toEqual(["ps -q", "inspect -f {{.State.Running}} am1", "exec am1 amtool", "exec am1 amtool"]);
    expect(calls.at(-1)).toBe("exec am1 amtool --alertmanager.url=http://127.0.0.1:9093 silence expire sid-0");
    expect(fs.existsSync(path.join(dir, "home/.copilotos/maintenance-copilotos-swarm.silence"))).toBe(false);
    expect(r.stdout.split("\n").slice(-2)).toEqual([
      "maintenance: the alerts of swarm are silenced for 2 more minutes, while the probes see the apps again",
      "",
    ]);
  });

  test("already on: no update; no monitoring here: said, nothing silenced", () => {
    const r = maintenance(true, { current: ON });
    expect([r.status, r.stderr]).toEqual([0, ""]);
    expect(r.calls.some((c) => /^(service update|config create|exec)/.test(c))).toBe(false);
    expect(r.stdout).toBe(
      "maintenance: no monitoring runs for swarm: no alert to silence\nmaintenance: already on at every edge proxy (copilotos-swarm-proxy)\n",
    );
  });

  test("an update the swarm rolled back: said with what to run, exit 1", () => {
    const r = maintenance(true, { current: OFF, result: "rollback_completed" });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      "maintenance: the swarm's update of copilotos-swarm-proxy ended rollback_completed: a failed one is rolled back, so the proxies are as they were (npm run ops -- swarm status)\n",
    );
    expect(r.stdout).not.toContain("maintenance: on at");
  });
});

describe("monitor's addresses against a stand-in docker", () => {
  const addresses = (here: string) =>
    standIn(dir, swarmUiAddressesScript(ID), [
      `  'ps -q') echo '${here}' ;;`,
      `  'inspect -f') echo '${here}full' ;;`,
      `  'network inspect') printf 'ingress-sbox 172.18.0.2/16\\n${here}full 172.18.0.5/16\\n' ;;`,
    ]);

  test("each UI's task on this manager, at its address on docker_gwbridge", () => {
    const r = addresses("p1");
    expect([r.status, r.stderr, r.stdout]).toEqual([0, "", "prometheus 172.18.0.5\nalertmanager 172.18.0.5\n"]);
    expect(parseUiAddresses(r.stdout)).toEqual({ prometheus: { address: "172.18.0.5", port: 9090 }, alertmanager: { address: "172.18.0.5", port: 9093 } });
    // (The stand-in's log line ends where echo turns the template's \n into a new line.)
    expect(r.calls.slice(1, 4)).toEqual([
      "ps -q --filter label=com.docker.swarm.service.name=copilotos-swarm-prometheus",
      "inspect -f {{.Id}} p1",
      'network inspect docker_gwbridge -f {{range $id, $c := .Containers}}{{$id}} {{$c.IPv4Address}}{{"',
    ]);
  });

  test("no Prometheus task on this manager: said with where it runs, exit 1", () => {
    const r = addresses("");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /^monitor: no copilotos-swarm-prometheus task runs on this manager \(.+\): Prometheus runs on the data node \(host\.dataNode\), which the tunnel reaches only when it is the manager; or the monitoring is off \(monitoring\.enabled\) or down \(npm run ops -- swarm status\)\n$/,
    );
  });
});

test("both are clean under shellcheck", () => {
  for (const script of [swarmMaintenanceScript(ID, true), swarmMaintenanceScript(ID, false), swarmUiAddressesScript(ID)]) {
    const r = spawnSync("shellcheck", ["-s", "sh", "-S", "warning", "-f", "gcc", "-"], { input: script, encoding: "utf8" });
    expect([r.status, r.stdout]).toEqual([0, ""]);
  }
});

test.each([
  [["maintenance", "on"], "maintenance on this swarm needs Alertmanager on the manager it reaches"],
  [["monitor"], "monitor on this swarm needs Alertmanager and Prometheus on the manager it reaches"],
])("%j with a worker data node and the monitoring on: refused naming host.dataNode (exit 2), nothing run", async (args, says) => {
  const err: string[] = [];
  const config = ["host.dataNode=node-2", "backup.enabled=false", "monitoring.enabled=true"].flatMap((c) => ["--config", `copilotos:${c}`]);
  expect(await ops(["swarm", ...args, ...FIXTURES, ...config], { out: () => undefined, err: (s) => err.push(s) })).toBe(2);
  expect(err.join("")).toMatch(
    new RegExp(
      `^ops: ${says}, and they run on the data node: copilotos:host\\.dataNode node-2 is a worker, whose tasks the manager cannot reach into \\(docs/swarm\\.md\\)\\nusage:`,
    ),
  );
});

/**
 * A failed gate tells the stack's Alertmanager (components/renderers/monitoring/gateAlert.ts): the
 * function run by sh against a stand-in `docker` (the Alertmanager container and its amtool) and
 * `date`; the gates call it only when they have a stack to notify. The real gates, Alertmanager and
 * receiver: the monitoring suite (test/e2e/monitoring.test.ts).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gateAlertFunction } from "../components/renderers/monitoring/gateAlert";
import { healthGateScript, readyGateScript } from "../components/renderers/operations/health";

const NOTIFY = { identity: { project: "copilotos", stack: "prod" }, service: "api" as const };
let home: string;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "cpt-gatealert-"));
  fs.mkdirSync(path.join(home, "bin"));
  const bin = (name: string, body: string) => fs.writeFileSync(path.join(home, "bin", name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  bin(
    "docker",
    [
      'printf "%s|" "$@" >> "$HOME/calls"; echo >> "$HOME/calls"',
      'case "$1" in inspect) [ -z "${NO_MONITORING:-}" ] && echo true ;; exec) [ -z "${AMTOOL_FAILS:-}" ] || exit 1 ;; esac',
    ].join("\n"),
  );
  // GNU date's answers for the two forms the function uses, at 2026-12-05T10:00:00Z.
  bin(
    "date",
    'case "$*" in "+%s") echo 1796464800 ;; "-u -d @1796551200 +%Y-%m-%dT%H:%M:%SZ") echo 2026-12-06T10:00:00Z ;; "-u +%Y-%m-%dT%H:%M:%SZ") echo 2026-12-05T10:00:00Z ;; *) exit 9 ;; esac',
  );
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

const call = (arg: string, env: Record<string, string> = {}) => {
  const r = spawnSync("sh", ["-c", ["set -eu", ...gateAlertFunction(NOTIFY, "ready"), `gate_alert ${arg}`, "echo done"].join("\n")], {
    env: { PATH: `${home}/bin:${process.env.PATH}`, HOME: home, ...env },
    encoding: "utf8",
  });
  const calls = fs.existsSync(path.join(home, "calls")) ? fs.readFileSync(path.join(home, "calls"), "utf8").trim().split("\n") : [];
  return { code: r.status, out: r.stdout, err: r.stderr, calls: calls.map((c) => c.split("|").slice(0, -1)) };
};
const ADD = ["exec", "copilotos-prod-alertmanager", "amtool", "--alertmanager.url=http://127.0.0.1:9093", "alert", "add", "DeployGateFailed"];
const LABELS = ["stack=prod", "service=api", "gate=ready", "severity=page", "scope=service"];
const ANNOTATIONS = [
  "--annotation=summary=The ready gate of the api failed in the last pulumi up: the update stopped (what the gate printed says why).",
  "--annotation=action=pulumi up again once fixed (it resolves this); npm run ops -- prod logs api",
];

test("firing: the alert posted for 24 hours with the gate's labels and what to do; resolved: the same alert ending now", () => {
  expect(call("firing")).toEqual({
    code: 0,
    out: "done\n",
    err: "",
    calls: [
      ["inspect", "-f", "{{.State.Running}}", "copilotos-prod-alertmanager"],
      [...ADD, ...LABELS, ...ANNOTATIONS, "--end=2026-12-06T10:00:00Z"],
    ],
  });
  fs.rmSync(path.join(home, "calls"));
  expect(call("resolved").calls[1]).toEqual([...ADD, ...LABELS, ...ANNOTATIONS, "--end=2026-12-05T10:00:00Z"]);
});

test("no Alertmanager running: nothing posted; amtool failing: said, and the gate goes on", () => {
  expect(call("firing", { NO_MONITORING: "1" })).toMatchObject({
    code: 0,
    out: "done\n",
    err: "",
    calls: [["inspect", "-f", "{{.State.Running}}", "copilotos-prod-alertmanager"]],
  });
  expect(call("firing", { AMTOOL_FAILS: "1" })).toMatchObject({
    code: 0,
    out: "done\n",
    err: "ready: could not tell the stack's Alertmanager (DeployGateFailed)\n",
  });
});

test("the gates call it, on failure and on success, only with a stack to notify", () => {
  const ready = readyGateScript({ container: "c", timeoutSeconds: 60, intervalSeconds: 2, notify: NOTIFY });
  expect(ready).toContain(gateAlertFunction(NOTIFY, "ready").join("\n"));
  expect(ready).toContain('"running healthy"|"running none") echo "ready: $ctr is healthy"; gate_alert resolved; exit 0 ;;');
  expect(ready.trim().split("\n").slice(-2)).toEqual(["gate_alert firing", "exit 1"]);
  const health = healthGateScript({ container: "c", url: "http://127.0.0.1:8001/api/health", timeoutSeconds: 60, intervalSeconds: 2, notify: NOTIFY });
  expect(health).toContain(gateAlertFunction(NOTIFY, "health").join("\n"));
  expect(health).toContain('then echo "health: $url answered 200"; gate_alert resolved; exit 0; fi');
  expect(health.trim().split("\n").slice(-2)).toEqual(["gate_alert firing", "exit 1"]);
  for (const s of [
    readyGateScript({ container: "c", timeoutSeconds: 60, intervalSeconds: 2 }),
    healthGateScript({ container: "c", url: "http://x", timeoutSeconds: 1, intervalSeconds: 1 }),
  ])
    expect(s).not.toContain("gate_alert");
});

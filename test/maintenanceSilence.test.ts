/**
 * The maintenance silence's lines (components/renderers/monitoring/silence.ts) run by sh against a
 * stand-in `docker` that answers as the stack's Alertmanager container and its amtool would: `on`
 * adds one silence of the stack (4 hours) and keeps its ID, again is a no-op; `off` adds the short
 * one and expires the kept one; without monitoring both say so. The real Alertmanager and amtool
 * run them in the monitoring suite (test/e2e/monitoring.test.ts).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { maintenanceSilenceLines } from "../components/renderers/monitoring/silence";

const ID = { project: "copilotos", stack: "prod" };
let home: string;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "cpt-silence-"));
  fs.mkdirSync(path.join(home, "bin"));
  fs.mkdirSync(path.join(home, ".copilotos"));
  fs.writeFileSync(
    path.join(home, "bin", "docker"),
    [
      "#!/bin/sh",
      'echo "$*" >> "$HOME/calls"',
      'case "$1" in',
      '  inspect) if [ -n "${NO_MONITORING:-}" ]; then exit 1; fi; echo true ;;',
      '  exec) case "$*" in *" add "*) n=$(grep -c " add " "$HOME/calls"); echo "sid-$n" ;; esac ;;',
      "esac",
    ].join("\n"),
    { mode: 0o755 },
  );
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

const run = (on: boolean, env: Record<string, string> = {}) => {
  const r = spawnSync("sh", ["-c", ["set -eu", ...maintenanceSilenceLines(ID, on)].join("\n")], {
    env: { PATH: `${home}/bin:${process.env.PATH}`, HOME: home, ...env },
    encoding: "utf8",
  });
  return { code: r.status, out: r.stdout + r.stderr };
};
const calls = () => fs.readFileSync(path.join(home, "calls"), "utf8").trim().split("\n");
const AMTOOL = "exec copilotos-prod-alertmanager amtool --alertmanager.url=http://127.0.0.1:9093 silence";
const silenceFile = () => path.join(home, ".copilotos/maintenance-copilotos-prod.silence");

test("on: one silence of the stack's alerts for 4 hours, its ID kept on the host; on again adds none", () => {
  expect(run(true)).toEqual({ code: 0, out: "maintenance: the alerts of prod are silenced for 4 hours at most (silence sid-1)\n" });
  expect(calls()).toEqual([
    "inspect -f {{.State.Running}} copilotos-prod-alertmanager",
    `${AMTOOL} add --duration=4h --author=copilotos --comment=npm run ops -- prod maintenance on stack=prod`,
  ]);
  expect(fs.readFileSync(silenceFile(), "utf8")).toBe("sid-1\n");
  expect(run(true)).toEqual({ code: 0, out: "maintenance: the alerts of prod are silenced already (silence sid-1)\n" });
  expect(calls().filter((c) => c.includes(" add "))).toHaveLength(1);
});

test("off: a 2-minute silence while the probes catch up, then the kept one expired and forgotten; off again does nothing", () => {
  run(true);
  expect(run(false)).toEqual({ code: 0, out: "maintenance: the alerts of prod are silenced for 2 more minutes, while the probes see the apps again\n" });
  expect(calls().slice(2)).toEqual([
    "inspect -f {{.State.Running}} copilotos-prod-alertmanager",
    `${AMTOOL} add --duration=2m --author=copilotos --comment=npm run ops -- prod maintenance off: the probes see the apps again stack=prod`,
    `${AMTOOL} expire sid-1`,
  ]);
  expect(fs.existsSync(silenceFile())).toBe(false);
  expect(run(false)).toEqual({ code: 0, out: "" });
  expect(calls()).toHaveLength(6);
});

test("no Alertmanager running (no monitoring on the stack): said, nothing else done", () => {
  for (const on of [true, false])
    expect(run(on, { NO_MONITORING: "1" })).toEqual({ code: 0, out: "maintenance: no monitoring runs for prod: no alert to silence\n" });
  expect(calls()).toEqual(Array(2).fill("inspect -f {{.State.Running}} copilotos-prod-alertmanager"));
  expect(fs.existsSync(silenceFile())).toBe(false);
});

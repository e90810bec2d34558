/**
 * Scheduled backups and the retention rule (components/renderers/{backupSchedule,retention}.ts):
 * exact text where it matters, and the scripts run by sh here against a stand-in crontab and a
 * folder of made-up archives. The real cron run is in test/e2e/backup.test.ts.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { installScheduleScript, removeScheduleScript, scheduledJob, scheduleTag } from "../components/renderers/operations/backupSchedule";
import { keptArchives, retentionLines } from "../components/renderers/operations/retention";
import { drillScript } from "../components/renderers/operations/drill";
import { parseConfig } from "../components/config";
import { runStack } from "./support/program";
import { minimalConfig } from "./support/config";

const id = { project: "copilotos", stack: "staging" };
let home: string;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "sched-"));
  fs.mkdirSync(path.join(home, "bin"));
  // A crontab that keeps the user's table in a file: -l prints it (or fails when there is none), - replaces it, -r removes it.
  fs.writeFileSync(
    path.join(home, "bin", "crontab"),
    `#!/bin/sh\nf="${home}/table"\ncase "$1" in -l) [ -f "$f" ] && exec cat "$f"; echo "no crontab" >&2; exit 1 ;; -r) rm -f "$f" ;; -) cat > "$f" ;; esac\n`,
    { mode: 0o755 },
  );
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));
const sh = (script: string, env: Record<string, string> = {}) =>
  spawnSync("sh", ["-c", script], { encoding: "utf8", env: { PATH: `${home}/bin:/usr/bin:/bin`, HOME: home, ...env } });
const table = () => fs.readFileSync(path.join(home, "table"), "utf8");

describe("the backup schedule", () => {
  const install = (schedule = "30 3 * * *") => installScheduleScript({ identity: id, schedule, job: scheduledJob("set -eu\necho backing up\n") });

  test("installs the job file and one tagged line, keeping the user's other lines; installing again replaces the line", () => {
    fs.writeFileSync(path.join(home, "table"), "0 1 * * * /usr/local/bin/other\n");
    const first = sh(install(), { DOCKER_HOST: "unix:///srv/it's.sock" });
    expect(first.stderr).toBe("");
    expect(first.stdout).toBe(
      `backup schedule: 30 3 * * * runs ${home}/.copilotos/backup-copilotos-staging.sh (log: ${home}/.copilotos/backup-copilotos-staging.log)\n`,
    );
    const job = `${home}/.copilotos/backup-copilotos-staging.sh`;
    expect(table()).toBe(
      "0 1 * * * /usr/local/bin/other\n" +
        `30 3 * * * DOCKER_HOST='unix:///srv/it'\\''s.sock' /bin/sh '${job}' >> '${home}/.copilotos/backup-copilotos-staging.log' 2>&1 # copilotos backup copilotos-staging\n`,
    );
    expect(fs.readFileSync(job, "utf8")).toBe(scheduledJob("set -eu\necho backing up\n"));
    expect(fs.statSync(job).mode & 0o777).toBe(0o700);
    // The line as cron's sh runs it: the engine variable arrives intact.
    const line = table()
      .split("\n")[1]
      .replace(/^(\S+ ){5}/, "")
      .replace(/ >>.*$/, "");
    expect(sh(line.replace(`/bin/sh '${job}'`, `sh -c 'printf %s "$DOCKER_HOST"'`)).stdout).toBe("unix:///srv/it's.sock");

    sh(install("*/5 * * * *"));
    expect(
      table()
        .split("\n")
        .filter((l) => l.includes(scheduleTag(id))),
    ).toEqual([`*/5 * * * * /bin/sh '${job}' >> '${home}/.copilotos/backup-copilotos-staging.log' 2>&1 # copilotos backup copilotos-staging`]);
    expect(table().startsWith("0 1 * * * /usr/local/bin/other\n")).toBe(true);
  });

  test("removing takes out only this stack's line and the job file; with no other line the table goes", () => {
    fs.writeFileSync(path.join(home, "table"), "0 1 * * * other\n");
    sh(install());
    expect(sh(removeScheduleScript(id)).stdout).toBe("backup schedule: removed for copilotos-staging (archives kept)\n");
    expect(table()).toBe("0 1 * * * other\n");
    expect(fs.existsSync(`${home}/.copilotos/backup-copilotos-staging.sh`)).toBe(false);
    fs.rmSync(path.join(home, "table"));
    sh(install());
    sh(removeScheduleScript(id));
    expect(fs.existsSync(path.join(home, "table"))).toBe(false);
    expect(sh(removeScheduleScript(id)).status).toBe(0); // again: nothing to do
  });

  test("a host without crontab is refused, saying what to do", () => {
    fs.rmSync(path.join(home, "bin", "crontab"));
    const r = spawnSync("/bin/sh", ["-c", install()], { encoding: "utf8", env: { PATH: `${home}/bin`, HOME: home } });
    expect([r.status, r.stderr]).toEqual([
      1,
      "backup schedule: crontab is not installed on the host; install cron (apt-get install cron) or set backup.schedule off\n",
    ]);
  });

  test("the job takes the host lock before it backs up", () => {
    const job = scheduledJob("set -eu\necho backing up\n");
    expect(job.indexOf('exec 9>>"$lockdir/host.lock"')).toBeGreaterThan(0);
    expect(job.indexOf('exec 9>>"$lockdir/host.lock"')).toBeLessThan(job.indexOf("echo backing up"));
    expect(job.startsWith("#!/bin/sh\n")).toBe(true);
  });
});

describe("retention: the newest N, and the newest of each of the last days, ISO weeks and months", () => {
  const name = (d: Date) =>
    `copilotos-staging-mongo-${d
      .toISOString()
      .replace(/[-:]/g, "")
      .replace(/\.\d+Z$/, "Z")}.tar`;
  /** Three archives a day at 01:00, 09:00, 17:00 for `days` days back from 2026-11-30. */
  const archives = (days: number) =>
    Array.from({ length: days * 3 }, (_, i) => name(new Date(Date.UTC(2026, 10, 30, 17 - (i % 3) * 8) - Math.floor(i / 3) * 86400_000)));

  test("the rule in TypeScript, worked by hand: 400 days of three archives a day keep 24", () => {
    const kept = keptArchives(archives(400), { keep: 7, daily: 7, weekly: 4, monthly: 12 });
    const at = (stamps: string[]) => stamps.map((t) => `copilotos-staging-mongo-${t}.tar`);
    expect(kept).toEqual(
      at([
        // The 7 newest (2026-11-30 is a Monday): three of the 30th, three of the 29th, one of the 28th.
        ...["20261130T170000Z", "20261130T090000Z", "20261130T010000Z", "20261129T170000Z", "20261129T090000Z", "20261129T010000Z", "20261128T170000Z"],
        // 7 days: the 30th to the 24th; the 28th to 30th were already kept.
        ...["20261127T170000Z", "20261126T170000Z", "20261125T170000Z", "20261124T170000Z"],
        // 4 ISO weeks: W49 and W48 already kept; W47 ends Sunday the 22nd, W46 the 15th.
        ...["20261122T170000Z", "20261115T170000Z"],
        // 12 months: November already kept, then the last day of each month back to December 2025.
        ...["20261031", "20260930", "20260831", "20260731", "20260630", "20260531", "20260430", "20260331", "20260228", "20260131", "20251231"].map(
          (d) => `${d}T170000Z`,
        ),
      ]),
    );
    expect(keptArchives(archives(400), { keep: 2, daily: 0, weekly: 0, monthly: 0 })).toEqual(archives(1).slice(0, 2));
  });

  test.each([
    [{ keep: 7, daily: 7, weekly: 4, monthly: 12 }, 400],
    [{ keep: 1, daily: 3, weekly: 0, monthly: 2 }, 90],
    [{ keep: 3, daily: 0, weekly: 8, monthly: 0 }, 120],
  ])("the shell lines keep exactly what the TypeScript rule keeps: %j over %i days", (retention, days) => {
    const dir = path.join(home, "backups");
    fs.mkdirSync(dir);
    const all = archives(days);
    for (const a of all) {
      fs.writeFileSync(path.join(dir, a), "");
      fs.writeFileSync(path.join(dir, `${a}.sha256`), "");
    }
    fs.writeFileSync(path.join(dir, "unrelated.tar"), "");
    const r = sh(
      ["set -eu", `dir='${dir}'`, 'names=$(ls "$dir" | grep -E "^copilotos-staging-mongo-[0-9]{8}T[0-9]{6}Z\\.tar$")', ...retentionLines(retention)].join("\n"),
    );
    expect(r.stderr).toBe("");
    const left = fs.readdirSync(dir).sort();
    const kept = keptArchives(all, retention);
    expect(left).toEqual([...kept.flatMap((k) => [k, `${k}.sha256`]), "unrelated.tar"].sort());
    expect(r.stdout.split("\n").filter((l) => l.startsWith("backup: removed")).length).toBe(all.length - kept.length);
  });
});

describe("config backup.schedule and backup.beforeAppUpdate", () => {
  const base = minimalConfig();
  test("defaults: a daily 03:30 schedule, a backup before app updates, 7 newest + 7 days, 4 weeks, 12 months", () => {
    expect(parseConfig(base).backup).toEqual({
      enabled: true,
      beforeAppUpdate: true,
      schedule: "30 3 * * *",
      dir: "~/copilotos-backups",
      keep: 7,
      daily: 7,
      weekly: 4,
      monthly: 12,
      s3: false,
    });
  });
  test.each(["*/15 * * * *", "0 2 * * 1-5", "0 0,12 1 * *", "off"])("%s is a schedule", (schedule) => {
    expect(parseConfig({ ...base, backup: { schedule } }).backup.schedule).toBe(schedule);
  });
  test.each(["@daily", "30 3 * *", "30 3 * * * *", "30 3 * * mon; rm -rf /", ""])("%j is refused by name", (schedule) => {
    expect(() => parseConfig({ ...base, backup: { schedule } })).toThrow(/copilotos:backup\.schedule: must be/);
  });
  test("off installs no schedule; beforeAppUpdate false makes no app backup; the backup before Mongo stays", async () => {
    const run = await runStack("staging", ["copilotos:backup.schedule=off", "copilotos:backup.beforeAppUpdate=false"]);
    const names = run.resources.map((r) => r.name);
    expect(names.filter((n) => /backup/.test(n))).toEqual(["copilotos-mongo-backup", "copilotos-mongo-backup-run"]);
  });
});

describe("the restore drill's script", () => {
  const spec = { container: "copilotos-prod-mongo", dir: "~/copilotos-backups", prefix: "copilotos-prod-mongo", image: "mongo:7" };
  test("refuses a file that is not this stack's backup before anything runs", () => {
    expect(() => drillScript({ ...spec, file: "copilotos-staging-mongo-20261125T101500Z.tar" })).toThrow(
      '"copilotos-staging-mongo-20261125T101500Z.tar" is not a backup of this stack (copilotos-prod-mongo-<UTC stamp>.tar)',
    );
  });
  test("never names the live volume, and removes its scratch container and volume on every exit", () => {
    const script = drillScript(spec);
    expect(script).not.toContain("mongo-data");
    expect(script).toContain(
      'cleanup() { docker rm -f "$scratch" >/dev/null 2>&1 || true; docker volume rm "$scratch" >/dev/null 2>&1 || true; }\ntrap cleanup EXIT\n',
    );
    expect(script).toContain('-v "$scratch":/data/db "$image" mongod --noauth --bind_ip 127.0.0.1');
  });
  test("with no backup in the folder, it fails saying so", () => {
    const r = sh(drillScript({ ...spec, dir: path.join(home, "none") }).replace(/^docker version .*$/m, ":"), {});
    expect([r.status, r.stderr.trim().split("\n").pop()]).toEqual([1, `drill: no backup of this stack in ${path.join(home, "none")} to drill with`]);
  });
});

/**
 * This machine's cron, shared by the test hosts and the swarm rig (the jobs the stacks install:
 * scheduled backups, the metrics jobs). cron is machine-wide (Debian's keeps one pidfile), so the
 * first rig up starts it when none runs and marks its folder; a rig going first hands the mark to
 * another still up (its sshd runs), and the last one stops it. Rigs start and stop side by side (CI),
 * so each start and stop holds a lock: a stop that found no other rig up would otherwise kill the
 * cron a rig starting at that moment had just found running.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { killPidFile, ok, sh, waitGone } from "./processes";

/**
 * The stacks' backup schedule in the tests: February 31st, never. This machine's cron is real, and
 * the default ("30 3 * * *") ran a scheduled backup in the middle of a run at 03:30, an archive more
 * than a test counted. The tests that need the schedule's job run its crontab line themselves.
 */
export const TEST_BACKUP_SCHEDULE = "0 0 31 2 *";

const CRON_PID = "/run/crond.pid";
/** A folder holding the pid of whoever starts or stops the shared cron; one whose process died is taken over. */
const LOCK = "/run/copilotos-cron.lock";
const MARK = "cron.started";
/** The folders of the rigs that may hold the mark: every test host's and the swarm rig's. */
const RIG_DIR = /^copilotos-(e2e\d*|swarm)$/;

/**
 * The running cron daemon's pid: the one its pidfile names, if that process is cron. Not `pgrep -x
 * cron`: a job's process is named cron too and outlives a stopped daemon (Debian's certbot job
 * sleeps up to 12 hours), so it passed for a daemon and none was started; scheduled backups never ran.
 */
function cronPid(): number | undefined {
  try {
    const pid = Number(fs.readFileSync(CRON_PID, "utf8").trim());
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "cron" ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the process that holds the lock still runs. */
function lockHolderAlive(): boolean {
  try {
    process.kill(Number(fs.readFileSync(path.join(LOCK, "pid"), "utf8")), 0);
    return true;
  } catch {
    return false;
  }
}

/** Takes the lock: a folder with this process's pid, renamed into place whole (a rename onto a folder with a file in it fails). */
function tryLock(): boolean {
  const made = fs.mkdtempSync(`${LOCK}.`);
  fs.writeFileSync(path.join(made, "pid"), String(process.pid));
  try {
    fs.renameSync(made, LOCK);
    return true;
  } catch (e) {
    fs.rmSync(made, { recursive: true, force: true });
    if (["ENOTEMPTY", "EEXIST"].includes(String((e as NodeJS.ErrnoException).code))) return false;
    throw e;
  }
}

/** Runs `f` holding the rigs' cron lock; waits up to 60 s for another rig's start or stop. */
async function withCronLock<T>(f: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (tryLock()) break;
    if (!lockHolderAlive()) fs.rmSync(LOCK, { recursive: true, force: true });
    else if (Date.now() > deadline) throw new Error(`another rig has held ${LOCK} for 60 s; if no test runs, remove it`);
    else await new Promise((r) => setTimeout(r, 100));
  }
  try {
    return await f();
  } finally {
    fs.rmSync(LOCK, { recursive: true, force: true });
  }
}

/**
 * Starts cron in network namespace `ns` unless one runs; the rig in `dir` then holds the mark. Under
 * the lock: a CI run lost its 13 e2e suites when two rigs started at once and one's cron could not
 * lock its pidfile.
 */
export function startSharedCron(dir: string, ns: string): Promise<void> {
  return withCronLock(async () => {
    if (cronPid() !== undefined) return;
    sh("nsenter", [`--net=/var/run/netns/${ns}`, "cron"]);
    fs.writeFileSync(path.join(dir, MARK), "");
  });
}

/** Another rig's folder whose sshd still runs, if any. */
function otherRigUp(dir: string): string | undefined {
  return fs
    .readdirSync("/tmp")
    .filter((e) => RIG_DIR.test(e))
    .map((e) => path.join("/tmp", e))
    .filter((d) => d !== dir)
    .find((d) => {
      try {
        process.kill(Number(fs.readFileSync(path.join(d, "sshd.pid"), "utf8").trim()), 0);
        return true;
      } catch {
        return false;
      }
    });
}

/** The rig in `dir` goes: the cron it started passes to another rig still up, or stops (its jobs first: they would outlive it). */
export function stopSharedCron(dir: string): Promise<void> {
  const mark = path.join(dir, MARK);
  if (!fs.existsSync(mark)) return Promise.resolve();
  return withCronLock(async () => {
    const heir = otherRigUp(dir);
    if (heir) {
      fs.renameSync(mark, path.join(heir, MARK));
      return;
    }
    const daemon = cronPid();
    if (daemon !== undefined) ok("pkill", ["-P", String(daemon)]);
    await waitGone(killPidFile(CRON_PID), 10);
    fs.rmSync(mark);
  });
}

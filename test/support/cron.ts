/**
 * This machine's cron, shared by the test hosts and the swarm rig (the jobs the stacks install:
 * scheduled backups, the metrics jobs). cron is machine-wide (Debian's keeps one pidfile), so the
 * first rig up starts it when none runs and marks its folder; a rig going first hands the mark to
 * another still up (its sshd runs), and the last one stops it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { killPidFile, ok, sh, waitFor, waitGone } from "./processes";

const CRON_PID = "/run/crond.pid";
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

/**
 * Starts cron in network namespace `ns` unless one runs; the rig in `dir` then holds the mark. Rigs
 * start side by side (CI): when another started one between the check and this start, this cron
 * exits (`can't lock /var/run/crond.pid`) and theirs serves, with their mark (a CI run lost its
 * 13 e2e suites to that race, the test host reported unavailable).
 */
export async function startSharedCron(dir: string, ns: string): Promise<void> {
  if (cronPid() !== undefined) return;
  try {
    sh("nsenter", [`--net=/var/run/netns/${ns}`, "cron"]);
  } catch (e) {
    if (!/can't lock/.test((e as Error).message)) throw e;
    await waitFor("the cron another rig started", () => cronPid() !== undefined, 10);
    return;
  }
  fs.writeFileSync(path.join(dir, MARK), "");
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
export async function stopSharedCron(dir: string): Promise<void> {
  const mark = path.join(dir, MARK);
  if (!fs.existsSync(mark)) return;
  const heir = otherRigUp(dir);
  if (heir) {
    fs.renameSync(mark, path.join(heir, MARK));
    return;
  }
  const daemon = cronPid();
  if (daemon !== undefined) ok("pkill", ["-P", String(daemon)]);
  await waitGone(killPidFile(CRON_PID), 10);
  fs.rmSync(mark);
}

/**
 * Scheduled backups, installed on the host by the stack: the backup script as a job file in
 * `~/.copilotos/`, and one line in the deploy user's crontab that runs it, tagged with the stack so
 * installing again replaces it and removing the stack removes it. The job takes the host lock, so
 * it never runs in the middle of a deploy's host steps. Pure.
 */
import type { StackIdentity } from "../names";
import { HOST_LOCK, lines, shq, STRICT } from "../shell";
import { backupResultLines } from "../monitoring/hostMetrics";

/** What a scheduled job does: the scheduled backup, the certificate renewal (tls.acme), or the containers' metrics (monitoring). */
export type ScheduledTask = "backup" | "renew" | "metrics";
/** The crontab line's tag: the stack's line is found (and replaced, or removed) by it. */
export const scheduleTag = (id: StackIdentity, task: ScheduledTask = "backup") => `# copilotos ${task} ${id.project}-${id.stack}`;
/** Job and log files, under the deploy user's home. */
export const jobFile = (id: StackIdentity, task: ScheduledTask = "backup") => `.copilotos/${task}-${id.project}-${id.stack}.sh`;
export const jobLog = (id: StackIdentity, task: ScheduledTask = "backup") => `.copilotos/${task}-${id.project}-${id.stack}.log`;
const END = "COPILOTOS_BACKUP_JOB";

/**
 * The scheduled job: the host lock, then the backup script (which starts with `set -eu`). With
 * `metricsOf` (the stack has monitoring), it first runs itself and then records the result for it
 * (components/renderers/monitoring/hostMetrics.ts).
 */
export function scheduledJob(backup: string, metricsOf?: StackIdentity): string {
  return (
    lines(
      "#!/bin/sh",
      "# Written by copilotos (components/renderers/operations/backupSchedule.ts): the stack's scheduled Mongo backup.",
      ...(metricsOf ? backupResultLines(metricsOf) : []),
      ...HOST_LOCK,
    ) + backup
  );
}

/** Lines that print the user's crontab without this stack's line. */
const othersLines = (tag: string) => [`others=$(crontab -l 2>/dev/null | grep -vF ${shq(tag)} || true)`];

/**
 * Installs (or replaces) the job and its crontab line. `DOCKER_HOST` of the deploy's session goes
 * into the line, so the job talks to the engine the stack deploys to. Idempotent.
 */
export function installScheduleScript(s: { identity: StackIdentity; schedule: string; job: string; task?: ScheduledTask; setup?: string[] }): string {
  const task = s.task ?? "backup";
  if (s.job.split("\n").includes(END)) throw new Error(`the ${task} job may not contain a line "${END}"`);
  const tag = scheduleTag(s.identity, task);
  const off = { backup: "set backup.schedule off", renew: "remove tls.acme", metrics: "set monitoring.enabled false" }[task];
  return lines(
    STRICT,
    "umask 077",
    `command -v crontab >/dev/null 2>&1 || { echo ${shq(`${task} schedule: crontab is not installed on the host; install cron (apt-get install cron) or ${off}`)} >&2; exit 1; }`,
    'mkdir -p "$HOME/.copilotos"; chmod 700 "$HOME/.copilotos"',
    `job="$HOME/"${shq(jobFile(s.identity, task))}; log="$HOME/"${shq(jobLog(s.identity, task))}`,
    `cat > "$job.next" <<'${END}'`,
    s.job.replace(/\n$/, ""),
    END,
    'chmod 700 "$job.next"; mv "$job.next" "$job"',
    ...(s.setup ?? []),
    // The session's engine, quoted for the crontab's sh.
    `engine=""; if [ -n "\${DOCKER_HOST:-}" ]; then engine="DOCKER_HOST='$(printf '%s' "$DOCKER_HOST" | sed "s/'/'\\\\\\\\''/g")' "; fi`,
    `line="${s.schedule} $engine/bin/sh '$job' >> '$log' 2>&1 ${tag}"`,
    ...othersLines(tag),
    `if [ -n "$others" ]; then printf '%s\\n%s\\n' "$others" "$line"; else printf '%s\\n' "$line"; fi | crontab -`,
    `echo "${task} schedule: ${s.schedule} runs $job (log: $log)"`,
  );
}

/** Removes the stack's crontab line and job file (the archives and the log stay). Idempotent. */
export function removeScheduleScript(id: StackIdentity, task: ScheduledTask = "backup"): string {
  const tag = scheduleTag(id, task);
  return lines(
    STRICT,
    "if command -v crontab >/dev/null 2>&1 && crontab -l 2>/dev/null | grep -qF " + shq(tag) + "; then",
    ...othersLines(tag).map((l) => `  ${l}`),
    '  if [ -n "$others" ]; then printf \'%s\\n\' "$others" | crontab -; else crontab -r; fi',
    "fi",
    `rm -f "$HOME/"${shq(jobFile(id, task))}`,
    `echo "${task} schedule: removed for ${id.project}-${id.stack}${task === "backup" ? " (archives kept)" : ""}"`,
  );
}

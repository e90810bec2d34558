/**
 * What the host tells the monitoring that no exporter can: each of the stack's containers' health
 * and restart count, written by a job of the deploy user's crontab (started every minute, sampling
 * every {@link SAMPLE_SECONDS} s within it) into the node exporter's textfile folder through
 * `docker cp`. No container gets the Docker socket (that would be root on the host); the job runs
 * with the deploy user's own access. Pure.
 */
import { LABEL_SERVICE, StackIdentity, stackFilters, stackPrefix } from "../names";
import { lines, shq, STRICT } from "../shell";
import { TEXTFILE_DIR } from "./containers";
import { proxyCountLines } from "./proxyMetrics";

/** The file the job writes, in the textfile folder (the collector reads `*.prom`). */
export const CONTAINER_METRICS_FILE = "containers.prom";
/** Samples per run: cron starts the job each minute, so a sample every 15 s. */
export const SAMPLES = 4;
export const SAMPLE_SECONDS = 15;
/** The job's cron schedule. */
export const METRICS_SCHEDULE = "* * * * *";

/**
 * One line per container of the stack that is meant to run (restart policy `unless-stopped` or
 * `always`): name, restart count, health (`healthy`, `unhealthy`, `starting`, or `none` without a
 * check), whether it runs, and its service (none for the monitoring's parts).
 */
const INSPECT_FORMAT = `{{slice .Name 1}} {{.HostConfig.RestartPolicy.Name}} {{.RestartCount}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.State.Running}} {{index .Config.Labels "${LABEL_SERVICE}"}}`;

/**
 * awk over those lines (each metric's samples together, as the text format wants): `copilotos_container_restarts_total` for every container, and
 * `copilotos_container_healthy` 1 when it runs and its check passes (or it has none), 0 when it does
 * not run or its check fails; nothing while its check is still starting (a new container is not a fault).
 */
const TO_METRICS = [
  '$2 == "unless-stopped" || $2 == "always" {',
  // The service: its label, or the name after the stack's prefix (a monitoring part: `node-exporter`).
  '  s = $6; if (s == "") s = substr($1, length(prefix) + 2)',
  '  l = "{container=\\"" $1 "\\",service=\\"" s "\\"}"',
  '  restarts = restarts "copilotos_container_restarts_total" l " " $3 "\\n"',
  '  if ($5 != "true" || $4 == "unhealthy") healthy = healthy "copilotos_container_healthy" l " 0\\n"',
  '  else if ($4 == "healthy" || $4 == "none") healthy = healthy "copilotos_container_healthy" l " 1\\n"',
  "}",
  "END {",
  '  print "# HELP copilotos_container_restarts_total Restarts of the container by its restart policy."',
  '  print "# TYPE copilotos_container_restarts_total counter"',
  '  printf "%s", restarts',
  '  print "# HELP copilotos_container_healthy 1 when the container runs and passes its health check, else 0."',
  '  print "# TYPE copilotos_container_healthy gauge"',
  '  printf "%s", healthy',
  "}",
].join("\n");

/** The host's folder of the stack's metrics (under the deploy user's home): what the job copies, all of it, each sample. */
export const metricsDir = (id: StackIdentity): string => `.copilotos/metrics-${id.project}-${id.stack}`;
/** The scheduled backup's result and the schedule's start, in {@link metricsDir}. */
export const BACKUP_METRICS_FILE = "backup.prom";
export const SCHEDULE_METRICS_FILE = "backup_schedule.prom";
const mdirLine = (id: StackIdentity) => `mdir="$HOME/"${shq(metricsDir(id))}; mkdir -p "$mdir"`;

/**
 * The job: {@link SAMPLES} samples {@link SAMPLE_SECONDS} s apart, each the stack's containers read
 * with one `docker inspect` into {@link CONTAINER_METRICS_FILE} in the host's {@link metricsDir},
 * the proxy's responses since the last sample added to its counters (proxyMetrics.ts), then every
 * `*.prom` there (the backup's too) copied into the node exporter's textfile folder: a new node
 * exporter has them all within one sample.
 */
export function containerMetricsJob(id: StackIdentity, nodeExporter: string): string {
  const filters = stackFilters(id);
  return metricsJob(id, "the stack's containers' health and restarts", {
    sample: [
      `ids=$(timeout 10 docker ps -aq ${filters})`,
      "# shellcheck disable=SC2086 # one word per container id",
      `if [ -n "$ids" ]; then timeout 10 docker inspect --format ${shq(INSPECT_FORMAT)} $ids; fi | awk -v prefix=${shq(stackPrefix(id))} ${shq(TO_METRICS)} > "$mdir/${CONTAINER_METRICS_FILE}.next"`,
      `mv "$mdir/${CONTAINER_METRICS_FILE}.next" "$mdir/${CONTAINER_METRICS_FILE}"`,
      ...proxyCountLines(id),
    ],
    into: shq(`${nodeExporter}:${TEXTFILE_DIR}`),
    missing: `container metrics: could not copy into ${nodeExporter} (is it running?)`,
  });
}

/**
 * A metrics job of the deploy user's crontab: under a lock (a run still going when cron starts the
 * next, as with an engine that hangs, makes the next one leave at once), {@link SAMPLES} samples
 * {@link SAMPLE_SECONDS} s apart, each `sample` (after `$mdir` is set; every docker call bounded by
 * `timeout`) and then every `*.prom` of {@link metricsDir} copied into `into` (a shell word: the
 * node exporter's textfile folder), or `missing` said.
 */
export function metricsJob(id: StackIdentity, what: string, job: { sample: string[]; into: string; missing: string }): string {
  return lines(
    "#!/bin/sh",
    `# Written by copilotos (components/renderers/monitoring/): ${what} for its monitoring.`,
    STRICT,
    'lockdir="$HOME/.copilotos"; mkdir -p "$lockdir"',
    `exec 8>>"$lockdir/"${shq(`metrics-${id.project}-${id.stack}.lock`)}`,
    "flock -n 8 || exit 0",
    mdirLine(id),
    "i=0",
    `while [ "$i" -lt ${SAMPLES} ]; do`,
    ...job.sample.map((l) => `  ${l}`),
    `  (cd "$mdir" && tar -cf - -- *.prom) | timeout 10 docker cp - ${job.into} || echo ${shq(job.missing)} >&2`,
    "  i=$((i + 1))",
    `  if [ "$i" -lt ${SAMPLES} ]; then sleep ${SAMPLE_SECONDS}; fi`,
    "done",
  );
}

/**
 * The scheduled backup job's head when the stack has monitoring: the job runs itself (`$0 run`, the
 * backup under the host lock) and then writes {@link BACKUP_METRICS_FILE}: the result (1 or 0) and,
 * kept across failures, when the last one succeeded. The metrics job copies it (BackupFailed, BackupMissing).
 */
export function backupResultLines(id: StackIdentity): string[] {
  const f = `"$mdir/${BACKUP_METRICS_FILE}"`;
  const next = `"$mdir/${BACKUP_METRICS_FILE}.next"`;
  const LAST = "copilotos_backup_last_success_timestamp_seconds";
  return [
    'if [ "${1:-}" != run ]; then',
    '  rc=0; /bin/sh "$0" run || rc=$?',
    `  ${mdirLine(id)}`,
    `  last=$(awk '$1 == "${LAST}" { print $2 }' ${f} 2>/dev/null || true)`,
    '  if [ "$rc" -eq 0 ]; then result=1; last=$(date +%s); else result=0; fi',
    "  {",
    '    echo "# HELP copilotos_backup_last_result 1 when the last scheduled backup was verified, 0 when it failed."',
    '    echo "# TYPE copilotos_backup_last_result gauge"',
    '    echo "copilotos_backup_last_result $result"',
    '    if [ -n "$last" ]; then',
    `      echo "# HELP ${LAST} When the last scheduled backup was verified."`,
    `      echo "# TYPE ${LAST} gauge"`,
    `      echo "${LAST} $last"`,
    "    fi",
    `  } > ${next}`,
    `  mv ${next} ${f}`,
    '  exit "$rc"',
    "fi",
  ];
}

/**
 * Lines for the schedule's install: when it started, once (BackupMissing counts from it until a
 * backup succeeded, so a schedule that never runs is found too).
 */
export function scheduleStartLines(id: StackIdentity): string[] {
  const f = `"$mdir/${SCHEDULE_METRICS_FILE}"`;
  const START = "copilotos_backup_schedule_start_timestamp_seconds";
  return [
    mdirLine(id),
    `[ -f ${f} ] || printf '%s\n' ${shq(`# HELP ${START} When the backup schedule was first installed.`)} ${shq(`# TYPE ${START} gauge`)} "${START} $(date +%s)" > ${f}`,
  ];
}

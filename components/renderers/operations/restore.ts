/**
 * Mongo restore, run on the host. Pure. Everything is checked before the live volume is touched;
 * then Mongo stops, the archive is unpacked beside its data and swapped in, and the restored data
 * gets the stack's current password (./backup.ts makes the archives).
 */
import { BackupSpec, CATALOG_PATTERN, SwarmMongo, swarmMongoLines, tarImage } from "./backup";
import { throwawayRekeyLines } from "./rekey";
import { forEachMongoEntry, RESTORE_PREVIOUS, RESTORE_STAGING } from "./volumeLayout";
import { backupNamePattern, labelFlags } from "../names";
import { localTask } from "../swarm/services";
import { engineAnswers, hostPath, lines, shq, STRICT } from "../shell";

export interface RestoreSpec extends Omit<BackupSpec, "keep" | "tiers"> {
  /** Backup file name inside `dir` (from {@link listBackupsScript}): `<prefix>-<UTC stamp>.tar`. */
  file: string;
  /**
   * The labels of the stack's own Mongo volume. On one host, a restore that finds neither Mongo nor
   * its volume (a new host) makes the volume with them, as `pulumi up` would: Docker keeps the labels
   * of a volume that exists when `pulumi up` creates it, and a volume without them is not the stack's
   * to `docker volume ls --filter label=…`, nor to `pulumi refresh` (labels changed: a replacement).
   * @default none (an adopted volume is not the stack's)
   */
  volumeLabels?: Record<string, string>;
}

/** Runs in a throwaway container on the volume (at /data): unpack beside the data, and only then swap (the old data kept). */
export const SWAP_IN = [
  "set -e; cd /data",
  `rm -rf ${RESTORE_STAGING}; mkdir ${RESTORE_STAGING}`,
  `if ! tar -xf - -C ${RESTORE_STAGING}; then rm -rf ${RESTORE_STAGING}; exit 3; fi`,
  // An archive made before backups left it out (./volumeLayout.ts) may hold a restore's kept data: not Mongo's, and it would meet the one kept now.
  `rm -rf ${RESTORE_STAGING}/${RESTORE_PREVIOUS} ${RESTORE_STAGING}/${RESTORE_STAGING}`,
  `rm -rf ${RESTORE_PREVIOUS}; mkdir ${RESTORE_PREVIOUS}`,
  forEachMongoEntry(`mv -- "$e" ${RESTORE_PREVIOUS}/`),
  `for e in ${RESTORE_STAGING}/* ${RESTORE_STAGING}/.[!.]* ${RESTORE_STAGING}/..?*; do if [ -e "$e" ]; then mv -- "$e" .; fi; done`,
  `rmdir ${RESTORE_STAGING}`,
].join("; ");

/**
 * How a restore reaches the stack's Mongo: its container on one host, or on a swarm its service's
 * task on the data node. Each field is a line (or a phrase for messages) of the restore script.
 */
interface MongoHandle {
  /** Sets `$state`: true (running; stop it), false (stopped; start it after) or missing (nothing to start). */
  find: string[];
  stop: string;
  start: string;
  /** Sets `$pwfile`, `$user` (empty: no re-key) and `$rekey`, the throwaway container's name. */
  credentials: string;
  /** The left end of a pipe that prints the stack's current password. */
  password: string;
  /** For messages: Mongo once started again. */
  started: string;
  /** Announces the start (and on a swarm waits until the task runs and is healthy: the swarm's Running). */
  announce: string[];
}

const envOf = (name: string) => `docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$ctr" | sed -n 's/^${name}=//p'`;
/** Sets `$pwfile` and `$user` from `$ctr`'s env: Mongo's password file and root user (empty when unset). */
const CREDENTIALS = `pwfile=$(${envOf("MONGO_INITDB_ROOT_PASSWORD_FILE")}); user=$(${envOf("MONGO_INITDB_ROOT_USERNAME")})`;

/** Mongo as the stack's container on one host; a missing container: `docker inspect` still prints an empty line, so the default replaces its output. */
const CONTAINER: MongoHandle = {
  find: [`state=$(docker inspect --format '{{.State.Running}}' "$ctr" 2>/dev/null) || state=missing`],
  stop: 'if [ "$state" = true ]; then echo "restore: stopping $ctr"; docker stop -t 60 "$ctr" >/dev/null; fi',
  start: 'docker start "$ctr" >/dev/null',
  credentials: `${CREDENTIALS}; rekey="$ctr-rekey"`,
  password: 'docker cp "$ctr:$pwfile" - | tar -xOf -',
  started: "$ctr was started",
  announce: ['echo "restore: started $ctr"'],
};

/** Seconds a swarm restore waits for Mongo's task to stop, and to run again. */
export const SWARM_TASK_WAIT_SECONDS = 120;

/**
 * Mongo as its service's task on the swarm's data node (this engine; ./backup.ts swarmMongoLines):
 * stopped by scaling the service to 0 (else the swarm would start a new task on the volume being
 * replaced), started by scaling it to 1 and then updating it with no change (the task keeps
 * running), so that its previous spec, the one `docker service rollback` goes back to, is the
 * deployed one with its task and not the scale's 0-task one. The stack's password is read from
 * the running task's secret before it stops (a swarm secret leaves with its task) into a
 * variable of the script.
 */
function swarmHandle(s: SwarmMongo): MongoHandle {
  const tasks = localTask(s.service);
  const scale = (n: number) => `docker service scale --detach "$svc=${n}" >/dev/null`;
  const start = `${scale(1)}; docker service update --detach "$svc" >/dev/null`;
  return {
    find: [
      `svc=${shq(s.service)}`,
      ...swarmMongoLines(s, "restore"),
      'if ! docker service inspect "$svc" >/dev/null 2>&1; then state=missing; elif [ -n "$ctr" ]; then state=true; else state=false; fi',
      'pwfile=""; user=""; pw=""',
      `if [ "$state" = true ]; then ${CREDENTIALS}; fi`,
      'if [ -n "$pwfile" ]; then pw=$(docker exec "$ctr" cat "$pwfile"); fi',
      'if [ "$state" = false ]; then echo "restore: no task of $svc runs, so the restored data keeps the password it was backed up with" >&2; fi',
    ],
    stop: [
      'if [ "$state" != missing ]; then',
      `  echo "restore: scaling $svc to 0 tasks"; ${scale(0)}; tries=0`,
      `  while [ -n "$(${tasks})" ]; do tries=$((tries + 1)); if [ "$tries" -ge ${SWARM_TASK_WAIT_SECONDS} ]; then ${start}; echo "restore: $svc's task did not stop within ${SWARM_TASK_WAIT_SECONDS}s; it was scaled back to 1 and the data is untouched" >&2; exit 1; fi; sleep 1; done`,
      "fi",
    ].join("\n"),
    start,
    credentials: 'rekey="$svc-rekey"',
    password: `printf '%s' "$pw"`,
    started: "$svc was scaled to 1 task",
    announce: [
      "tries=0",
      `until docker service ps "$svc" --filter desired-state=running --format '{{.CurrentState}}' | grep -q '^Running'; do tries=$((tries + 1)); if [ "$tries" -ge ${SWARM_TASK_WAIT_SECONDS} ]; then echo "restore: $svc was scaled back to 1, and its task was not running and healthy within ${SWARM_TASK_WAIT_SECONDS}s: docker service ps $svc" >&2; exit 1; fi; sleep 1; done`,
      'echo "restore: $svc runs again (1 task, healthy)"',
    ],
  };
}

/**
 * Lines that give the restored data the password the stack's Mongo holds now: an archive taken
 * before a rotation holds the old one, and Mongo would refuse the API (the seeds' incident). Through
 * a throwaway mongod (./rekey.ts), the password piped from Mongo's secret (`h.password`). On failure
 * Mongo is started anyway and the script fails saying so.
 */
function rekeyLines(h: MongoHandle): string[] {
  const failed = (why: string) =>
    `${h.start}; echo "restore: the data was restored, but ${why}; ${h.started} and may refuse the API until Mongo's password for $user is the stack's (mongo.rotate)" >&2; exit 1`;
  return [
    h.credentials,
    'if [ -n "$pwfile" ] && [ -n "$user" ]; then',
    '  echo "restore: giving the restored data the current Mongo password of the stack for $user (a throwaway mongod without auth or network)"',
    ...throwawayRekeyLines(`${h.password} | `, failed).map((l) => `  ${l}`),
    '  echo "restore: the restored data accepts the current Mongo password of the stack for $user"',
    "fi",
  ];
}

/**
 * Lines that check the archive `$dir/$name` (sets `$f`) before anything uses it: it exists, its
 * `.sha256` names exactly this file and matches, it lists completely (a truncated one fails), no
 * entry leaves the volume (`/…` or `..`), and it holds Mongo's catalog. `refuse(why)` ends the script.
 */
export function archiveCheckLines(step: string, refuse: (why: string) => string): string[] {
  return [
    'f="$dir/$name"',
    `if [ ! -f "$f" ]; then echo "${step}: no backup $f" >&2; exit 1; fi`,
    'expected=$(cat "$f.sha256" 2>/dev/null || true)',
    `case $expected in *"  $name") ;; *) ${refuse("has no .sha256 naming it")} ;; esac`,
    'sum=$(sha256sum < "$f" | cut -d" " -f1)',
    `[ "$expected" = "$sum  $name" ] || ${refuse("does not match its .sha256")}`,
    `list=$(tar -tf "$f" 2>/dev/null) || ${refuse("is not a complete tar archive (truncated or damaged)")}`,
    `if printf '%s\\n' "$list" | grep -Eq '^/|(^|/)[.][.](/|$)'; then ${refuse("has entries outside the volume (/ or ..)")}; fi`,
    `printf '%s\\n' "$list" | grep -Eq ${shq(CATALOG_PATTERN)} || ${refuse("holds no _mdb_catalog.wt")}`,
  ];
}

/**
 * Restore. Everything is checked before the live volume is touched: the name is this stack's
 * (`<prefix>-<stamp>.tar`, never another stack's archive), its `.sha256` names exactly this file
 * and matches, the archive lists completely (a truncated one fails), no entry leaves the volume
 * (`/…` or `..`), and it holds Mongo's catalog. Then Mongo stops, the archive is unpacked beside
 * the data and swapped in, the replaced data kept in the volume (`.copilotos-previous`) until the
 * next restore; an archive that does not unpack leaves the data as it was and Mongo started again.
 * The restored data then gets the stack's current Mongo password ({@link rekeyLines}).
 */
export function restoreScript(r: RestoreSpec): string {
  if (!new RegExp(backupNamePattern(r.prefix)).test(r.file)) {
    throw new Error(`"${r.file}" is not a backup of this stack (${r.prefix}-<UTC stamp>.tar); another stack's archive, or another file, is refused`);
  }
  const refuse = (why: string) => `{ echo "restore: $name ${why}; refusing (the live data is untouched)" >&2; exit 1; }`;
  const h = r.swarm ? swarmHandle(r.swarm) : CONTAINER;
  return lines(
    STRICT,
    "umask 077",
    engineAnswers("restore"),
    `ctr=${shq(r.container)}; vol=${shq(r.volume)}; dir=${hostPath(r.dir)}; name=${shq(r.file)}`,
    ...archiveCheckLines("restore", refuse),
    ...(r.swarm ? h.find : []),
    tarImage(r.image),
    ...(r.swarm ? [] : h.find),
    ...(r.volumeLabels && !r.swarm
      ? [
          'if [ "$state" = missing ] && ! docker volume inspect "$vol" >/dev/null 2>&1; then',
          `  docker volume create ${labelFlags(r.volumeLabels).map(shq).join(" ")} "$vol" >/dev/null`,
          '  echo "restore: made $vol with the stack\'s labels, as pulumi up makes it"',
          "fi",
        ]
      : []),
    h.stop,
    'echo "restore: unpacking $name beside the data in $vol, then swapping it in"',
    `if ! docker run --rm -i --network none -v "$vol":/data --entrypoint sh "$image" -c ${shq(SWAP_IN)} < "$f"; then`,
    `  if [ "$state" != missing ]; then ${h.start}; echo "restore: $name did not unpack; $vol holds its data as before and ${h.started} again" >&2; else echo "restore: $name did not unpack; $vol holds its data as before" >&2; fi`,
    "  exit 1",
    "fi",
    'if [ "$state" != missing ]; then',
    ...rekeyLines(h).map((l) => `  ${l}`),
    `  ${h.start}`,
    ...h.announce.map((l) => `  ${l}`),
    "fi",
    `echo "restore: done; the data it replaced is kept in $vol under ${RESTORE_PREVIOUS} until the next restore"`,
  );
}

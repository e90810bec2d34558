/**
 * Mongo backup and restore scripts, run on the host. Pure.
 *
 * Method (the seed's, made safe): quiesce mongod with fsyncLock through `docker exec ... mongosh`
 * (credentials from the container's own env and password file, never a command line), tar the data
 * volume through a throwaway container of the same image, verify the archive (non-empty, holds
 * `_mdb_catalog.wt`), record its sha256 next to it, and apply the retention rule (./retention.ts).
 */
import { COMPOSE_PROJECT_LABEL, COMPOSE_SERVICE_LABEL } from "./adopt";
import { IN_CONTAINER, NEXT_PASSWORD_FILE } from "./rotation";
import { MONGO_VOLUME_PASSWORD } from "./health";
import { offsiteBackupLines, OffsiteSpec } from "./offsite";
import { Retention, retentionLines } from "./retention";
import { backupNamePattern } from "../names";
import { engineAnswers, EXIT_ON_SIGNALS, hostPath, lines, shq, STRICT, waitWithProgress } from "../shell";

/** How often a running backup reports the bytes archived so far. */
export const BACKUP_PROGRESS_SECONDS = 10;

export interface BackupSpec {
  /** The Mongo container (may not exist yet). */
  container: string;
  /** Its data volume (no volume: nothing to back up). */
  volume: string;
  /** Backup folder on the host; `~/` means the SSH user's home. */
  dir: string;
  /** File prefix, e.g. `copilotos-staging-mongo`; retention only ever deletes `<prefix>-<time>.tar`. */
  prefix: string;
  /** The newest archives kept whatever their age. */
  keep: number;
  /** Also the newest archive of each of the last N days, ISO weeks, months (./retention.ts). @default none */
  tiers?: Omit<Retention, "keep">;
  /** Image for the tar container when the Mongo container is gone. */
  image: string;
  /** Also upload each verified archive to this S3 bucket (with the host's instance role). */
  upload?: S3Upload;
  /** Adopting a compose deployment: while that project's Mongo runs, it is the one locked and archived. @default none */
  compose?: { project: string; service: string };
  /** Also store each verified archive in this restic repository off the host (./offsite.ts). @default none */
  offsite?: OffsiteSpec;
}

export interface S3Upload {
  bucket: string;
  region: string;
}

/**
 * Uploads the verified `$file` (sha256 `$sum`) as `daily/<name>`, then copies it inside the bucket
 * to this ISO week's `weekly/<prefix>-<YYYY-Www>.tar` and this month's `monthly/<prefix>-<YYYY-MM>.tar`
 * (the latest backup of a week or month is the one kept; the bucket's lifecycle expires each tier).
 */
export function s3UploadLines(u: S3Upload): string[] {
  const aws = `aws --region ${shq(u.region)} s3 cp --only-show-errors`;
  return [
    `bucket=${shq(u.bucket)}; name="\${file##*/}"; week=$(date -u +%G-W%V); month=$(date -u +%Y-%m)`,
    'echo "backup: uploading $name to s3://$bucket/daily/"',
    `${aws} --metadata "sha256=$sum" "$file" "s3://$bucket/daily/$name"`,
    `${aws} "s3://$bucket/daily/$name" "s3://$bucket/weekly/$prefix-$week.tar"`,
    `${aws} "s3://$bucket/daily/$name" "s3://$bucket/monthly/$prefix-$month.tar"`,
    'echo "backup: uploaded daily/$name, weekly/$prefix-$week.tar, monthly/$prefix-$month.tar"',
  ];
}

/**
 * mongosh code run inside the container: authenticate from the container's env and secret file
 * (the stack's Mongo), or from `MONGO_INITDB_ROOT_PASSWORD` (a compose deployment being adopted).
 */
export function mongoAdminJs(call: string): string {
  return (
    "const e = process.env; const a = db.getSiblingDB('admin'); " +
    "a.auth(e.MONGO_INITDB_ROOT_USERNAME, e.MONGO_INITDB_ROOT_PASSWORD_FILE ? require('fs').readFileSync(e.MONGO_INITDB_ROOT_PASSWORD_FILE, 'utf8').trim() : e.MONGO_INITDB_ROOT_PASSWORD); " +
    `a.${call}()`
  );
}

export const CATALOG_PATTERN = "^(\\./)?_mdb_catalog\\.wt$";

/** The entries of `$dir`, one name a line (a glob, not `ls`: names are never parsed from ls output). */
export const NAMES_IN_DIR = `for f in "$dir"/*; do [ -e "$f" ] && printf '%s\\n' "\${f##*/}"; done`;

/**
 * Sets `$image`: the Mongo container's own image (already on the host), else `fallback`; it runs tar.
 * (`docker inspect` of a missing container still prints an empty line: the fallback replaces it, never follows it.)
 */
export const tarImage = (fallback: string) => `image=$(docker inspect --format '{{.Image}}' "$ctr" 2>/dev/null) || image=${shq(fallback)}`;
/** A condition: the archive `file` (a shell word) is readable and holds Mongo's catalog. */
const holdsCatalog = (file: string) => `tar -tf ${file} | grep -Eq ${shq(CATALOG_PATTERN)}`;

/** What a backup says when the archive could not be written (a full disk, most often), and what to do. */
export const BACKUP_WRITE_FAILED = `echo "backup: writing the archive to $dir failed ($(df -Pk "$dir" | awk 'NR==2 { print $4 }') KiB free there); no archive was kept and Mongo is unlocked. Free space in $dir or set backup.dir to a bigger disk, then run again" >&2`;

export function backupScript(b: BackupSpec): string {
  const mongosh = (call: string) => `docker exec "$ctr" mongosh --quiet --norc --eval ${shq(mongoAdminJs(call))} >/dev/null`;
  return lines(
    STRICT,
    // Archives and checksums readable by the deploy user only.
    "umask 077",
    engineAnswers("backup"),
    `ctr=${shq(b.container)}; vol=${shq(b.volume)}; dir=${hostPath(b.dir)}; prefix=${shq(b.prefix)}`,
    b.compose &&
      `c=$(docker ps --filter ${shq(`label=${COMPOSE_PROJECT_LABEL}=${b.compose.project}`)} --filter ${shq(`label=${COMPOSE_SERVICE_LABEL}=${b.compose.service}`)} --format '{{.Names}}' | head -n 1); if [ -n "$c" ]; then ctr=$c; fi`,
    'if ! docker volume inspect "$vol" >/dev/null 2>&1; then echo "backup: no volume $vol yet; nothing to back up"; exit 0; fi',
    'mkdir -p "$dir"',
    'file="$dir/$prefix-$(date -u +%Y%m%dT%H%M%SZ).tar"',
    'while [ -e "$file" ]; do sleep 1; file="$dir/$prefix-$(date -u +%Y%m%dT%H%M%SZ).tar"; done',
    'tmp="$file.partial"',
    tarImage(b.image),
    `running=$(docker inspect --format '{{.State.Running}}' "$ctr" 2>/dev/null) || running=false`,
    "locked=no",
    `cleanup() { rm -f "$tmp"; if [ "$locked" = yes ]; then ${mongosh("fsyncUnlock")} || echo "backup: fsyncUnlock failed on $ctr" >&2; fi; }`,
    "trap cleanup EXIT",
    // Killed mid-copy (a dropped session's HUP, a TERM), the cleanup still unlocks mongod.
    EXIT_ON_SIGNALS,
    'if [ "$running" = true ]; then',
    // A refused login is the seeds' incident: said with its cause and fix, before anything else runs.
    `  if ! out=$(docker exec "$ctr" mongosh --quiet --norc --eval ${shq(mongoAdminJs("fsyncLock"))} 2>&1); then`,
    `    printf '%s\n' "$out" >&2`,
    `    case "$out" in *Authentication?failed*) echo ${shq(`backup: cause: Mongo in the stack's container refused the stack's credentials (Authentication failed): ${MONGO_VOLUME_PASSWORD}`)} >&2 ;; esac`,
    '    echo "backup: could not lock $ctr for a consistent copy; nothing was archived" >&2',
    "    exit 1",
    "  fi",
    "  locked=yes",
    '  echo "backup: $ctr locked (fsyncLock) while its volume is copied"',
    "fi",
    'echo "backup: archiving volume $vol to $file"',
    'docker run --rm --network none -v "$vol":/data:ro --entrypoint tar "$image" -C /data -cf - . > "$tmp" &',
    "pid=$!",
    // A full disk (or any write error) leaves nothing: the trap removes the partial file and unlocks Mongo.
    ...waitWithProgress('"$tmp"', "backup", BACKUP_PROGRESS_SECONDS, BACKUP_WRITE_FAILED),
    'if [ "$locked" = yes ]; then',
    `  ${mongosh("fsyncUnlock")}`,
    "  locked=no",
    "fi",
    'size=$(wc -c < "$tmp")',
    'if [ "$size" -eq 0 ]; then echo "backup: verification failed: $tmp is empty" >&2; exit 1; fi',
    `if ! ${holdsCatalog('"$tmp"')}; then echo "backup: verification failed: $tmp is unreadable or holds no _mdb_catalog.wt" >&2; exit 1; fi`,
    'sum=$(sha256sum < "$tmp" | cut -d" " -f1)',
    'mv "$tmp" "$file"',
    'printf \'%s  %s\\n\' "$sum" "${file##*/}" > "$file.sha256"',
    'echo "backup: verified $file ($size bytes, sha256 $sum)"',
    ...(b.upload ? s3UploadLines(b.upload) : []),
    ...(b.offsite ? offsiteBackupLines(b.offsite) : []),
    `names=$(${NAMES_IN_DIR} | grep -E ${shq(backupNamePattern(b.prefix))} || true)`,
    ...retentionLines({ keep: b.keep, daily: 0, weekly: 0, monthly: 0, ...b.tiers }),
  );
}

/** Lists this stack's verified backups, newest first. */
export function listBackupsScript(b: Pick<BackupSpec, "dir" | "prefix">): string {
  return lines(STRICT, `dir=${hostPath(b.dir)}`, `[ -d "$dir" ] || exit 0`, `${NAMES_IN_DIR} | grep -E ${shq(backupNamePattern(b.prefix))} | sort -r || true`);
}

export interface RestoreSpec extends Omit<BackupSpec, "keep" | "tiers"> {
  /** Backup file name inside `dir` (from {@link listBackupsScript}): `<prefix>-<UTC stamp>.tar`. */
  file: string;
}

/** Inside the Mongo volume: the archive is unpacked here first, and the data it replaces kept here after. */
export const RESTORE_STAGING = ".copilotos-restore-new";
export const RESTORE_PREVIOUS = ".copilotos-previous";

/** Runs in a throwaway container on the volume: unpack beside the data, and only then swap (the old data kept). */
const SWAP_IN = [
  "set -e; cd /data",
  `rm -rf ${RESTORE_STAGING}; mkdir ${RESTORE_STAGING}`,
  `if ! tar -xf - -C ${RESTORE_STAGING}; then rm -rf ${RESTORE_STAGING}; exit 3; fi`,
  `rm -rf ${RESTORE_PREVIOUS}; mkdir ${RESTORE_PREVIOUS}`,
  `for e in * .[!.]* ..?*; do case $e in ${RESTORE_PREVIOUS}|${RESTORE_STAGING}) ;; *) if [ -e "$e" ]; then mv -- "$e" ${RESTORE_PREVIOUS}/; fi ;; esac; done`,
  `for e in ${RESTORE_STAGING}/* ${RESTORE_STAGING}/.[!.]* ${RESTORE_STAGING}/..?*; do if [ -e "$e" ]; then mv -- "$e" .; fi; done`,
  `rmdir ${RESTORE_STAGING}`,
].join("; ");

/** Marker the re-key prints when the restored data took the stack's password. */
export const REKEYED = "restore: rekeyed";

/** mongosh code, against a mongod without auth: sets the user's password to the one in the private file. */
export function rekeyJs(): string {
  return [
    'const fs = require("fs");',
    "const user = process.env.COPILOTOS_MONGO_USER;",
    `const pw = fs.readFileSync("${NEXT_PASSWORD_FILE}", "utf8").replace(/\\n+$/, "");`,
    'db.getSiblingDB("admin").changeUserPassword(user, pw);',
    `print("${REKEYED} " + user);`,
  ].join(" ");
}

/**
 * Lines that give the restored data the password the stack's Mongo container holds now: an archive
 * taken before a rotation holds the old one, and Mongo would refuse the API (the seeds' incident).
 * A throwaway mongod of the same image runs on the volume without auth and without a network,
 * the password goes from the stopped container's secret file through a pipe into a 0600 file
 * inside it (on no command line, in no file on the host), `changeUserPassword` sets it, and the
 * throwaway mongod stops cleanly. On failure `$ctr` is started anyway and the script fails saying so.
 */
function rekeyLines(): string[] {
  const env = (name: string) => `docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$ctr" | sed -n 's/^${name}=//p'`;
  const failed = (why: string) =>
    `{ docker rm -f "$rekey" >/dev/null 2>&1 || true; docker start "$ctr" >/dev/null; echo "restore: the data was restored, but ${why}; $ctr was started and may refuse the API until Mongo's password for $user is the stack's (mongo.rotate)" >&2; exit 1; }`;
  return [
    `pwfile=$(${env("MONGO_INITDB_ROOT_PASSWORD_FILE")}); user=$(${env("MONGO_INITDB_ROOT_USERNAME")}); rekey="$ctr-rekey"`,
    'if [ -n "$pwfile" ] && [ -n "$user" ]; then',
    '  echo "restore: giving the restored data the current Mongo password of the stack for $user (a throwaway mongod without auth or network)"',
    '  docker rm -f "$rekey" >/dev/null 2>&1 || true',
    `  docker run -d --name "$rekey" --network none -e "COPILOTOS_MONGO_USER=$user" -v "$vol":/data/db "$image" mongod --noauth --bind_ip 127.0.0.1 >/dev/null || ${failed("a throwaway mongod did not start")}`,
    "  tries=0",
    `  until [ "$(docker exec "$rekey" mongosh --quiet --norc --eval 'db.runCommand({ ping: 1 }).ok' 2>/dev/null)" = 1 ]; do`,
    `    tries=$((tries + 1)); [ "$tries" -lt 60 ] || ${failed("the throwaway mongod did not answer within 60s")}`,
    "    sleep 1",
    "  done",
    `  out=$(docker cp "$ctr:$pwfile" - | tar -xOf - | docker exec -i "$rekey" sh -c ${shq(IN_CONTAINER)} sh ${shq(rekeyJs())} 2>&1) || true`,
    `  case "$out" in *${shq(REKEYED)}*) ;; *) printf '%s\\n' "$out" >&2; ${failed("its password could not be set to the stack's")} ;; esac`,
    // A clean shutdown of the throwaway mongod (its journal flushed) before the stack's starts.
    '  docker stop -t 60 "$rekey" >/dev/null || true; docker rm -f "$rekey" >/dev/null 2>&1 || true',
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
  return lines(
    STRICT,
    "umask 077",
    engineAnswers("restore"),
    `ctr=${shq(r.container)}; vol=${shq(r.volume)}; dir=${hostPath(r.dir)}; name=${shq(r.file)}`,
    ...archiveCheckLines("restore", refuse),
    tarImage(r.image),
    // A missing container: `docker inspect` still prints an empty line, so the default replaces its output.
    `state=$(docker inspect --format '{{.State.Running}}' "$ctr" 2>/dev/null) || state=missing`,
    'if [ "$state" = true ]; then echo "restore: stopping $ctr"; docker stop -t 60 "$ctr" >/dev/null; fi',
    'echo "restore: unpacking $name beside the data in $vol, then swapping it in"',
    `if ! docker run --rm -i --network none -v "$vol":/data --entrypoint sh "$image" -c ${shq(SWAP_IN)} < "$f"; then`,
    '  if [ "$state" != missing ]; then docker start "$ctr" >/dev/null; fi',
    '  echo "restore: $name did not unpack; $vol holds its data as before and $ctr was started again" >&2',
    "  exit 1",
    "fi",
    'if [ "$state" != missing ]; then',
    ...rekeyLines().map((l) => `  ${l}`),
    '  docker start "$ctr" >/dev/null',
    '  echo "restore: started $ctr"',
    "fi",
    `echo "restore: done; the data it replaced is kept in $vol under ${RESTORE_PREVIOUS} until the next restore"`,
  );
}

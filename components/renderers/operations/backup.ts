/**
 * Mongo backup scripts, run on the host (restore: ./restore.ts). Pure.
 *
 * Method (the seed's, made safe): quiesce mongod with fsyncLock through `docker exec ... mongosh`
 * (credentials from the container's own env and password file, never a command line), tar the data
 * volume through a throwaway container of the same image, verify the archive (non-empty, holds
 * `_mdb_catalog.wt`), record its sha256 next to it, and apply the retention rule (./retention.ts).
 */
import { COMPOSE_PROJECT_LABEL, COMPOSE_SERVICE_LABEL } from "./adopt";
import { MONGO_VOLUME_PASSWORD } from "./health";
import { offsiteBackupLines, OffsiteSpec } from "./offsite";
import { Retention, retentionLines } from "./retention";
import { ARCHIVE_VOLUME } from "./volumeLayout";
import { backupNamePattern } from "../names";
import { localTask } from "../swarm/services";
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
  /** Adopting a compose deployment: while that project's Mongo runs, it is the one locked and archived. @default none */
  compose?: { project: string; service: string };
  /** Also store each verified archive in this restic repository off the host (./offsite.ts; on aws hosts the stack's bucket). @default none */
  offsite?: OffsiteSpec;
  /** On a swarm: Mongo is this service's task on this data node, found by label there (`container` is unused). @default one host */
  swarm?: SwarmMongo;
}

export interface SwarmMongo {
  /** Mongo's swarm service, e.g. `copilotos-prod-mongo`. */
  service: string;
  /** The node that holds Mongo's volume (config `host.dataNode`): the engine the script runs on must be it. */
  node: string;
}

/**
 * Lines that set `$ctr` to Mongo's running task container (its ID) on a swarm, found by its service's label,
 * after checking that this engine is the data node (the volume is there and nowhere else). No running
 * task leaves `$ctr` empty: the volume is then copied without a lock (no mongod writes it). With
 * `drainStdin`, a refusal reads the script's stdin first (a secret waiting there is never left unread).
 */
export function swarmMongoLines(s: SwarmMongo, step: string, drainStdin = false): string[] {
  return [
    "here=$(docker info --format '{{.Name}}')",
    `if [ "$here" != ${shq(s.node)} ]; then ${drainStdin ? "cat >/dev/null; " : ""}printf ${shq(`${step}: Mongo's data is on node %s, and this connection reaches node %s; backups, restores and password changes on a swarm run on its data node: point host.address at the data node (a manager)\\n`)} ${shq(s.node)} "$here" >&2; exit 1; fi`,
    `ctr=$(${localTask(s.service)})`,
  ];
}

const ADMIN_LOGIN_JS =
  "const e = process.env; const a = db.getSiblingDB('admin'); " +
  "a.auth(e.MONGO_INITDB_ROOT_USERNAME, e.MONGO_INITDB_ROOT_PASSWORD_FILE ? require('fs').readFileSync(e.MONGO_INITDB_ROOT_PASSWORD_FILE, 'utf8').trim() : e.MONGO_INITDB_ROOT_PASSWORD); ";

/**
 * mongosh code run inside the container: authenticate from the container's env and secret file
 * (the stack's Mongo), or from `MONGO_INITDB_ROOT_PASSWORD` (a compose deployment being adopted).
 */
export function mongoAdminJs(call: string): string {
  return ADMIN_LOGIN_JS + `a.${call}()`;
}

/** mongosh code: the databases' names, space-separated. */
export const LIST_DATABASES_JS = 'print(db.adminCommand({ listDatabases: 1 }).databases.map((d) => d.name).join(" "))';

/** The databases every mongod has: a Mongo holding only these holds none of the app's. */
export const SYSTEM_DATABASES = ["admin", "config", "local"];

/**
 * The off-host copy, unless Mongo was listed (`$dbs`, while it ran) and holds no database of the
 * app: a new stack's, or a new host's before its restore. Such a snapshot is worth nothing, and
 * restic's retention would count it against the real ones: after a host loss, a few of them in a
 * day would have the last real snapshot of that day forgotten. Not listed (Mongo not running, or
 * the listing failed), the copy is made.
 */
function offsiteUnlessEmpty(o: OffsiteSpec): string[] {
  const system = SYSTEM_DATABASES.join("|");
  return [
    `if [ -n "$dbs" ] && [ -z "$(printf '%s\\n' "$dbs" | tr ' ' '\\n' | grep -vxE '${system}' || true)" ]; then`,
    `  echo "backup: Mongo holds no database of the app yet (only $dbs), so nothing goes to the off-host repository: an empty snapshot would count against the real ones in restic's retention. The archive is on the host"`,
    "else",
    ...offsiteBackupLines(o).map((l) => `  ${l}`),
    "fi",
  ];
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
    ...(b.swarm ? swarmMongoLines(b.swarm, "backup") : []),
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
    b.offsite && 'dbs=""',
    'if [ "$running" = true ]; then',
    // What the copy holds, for the off-host step (./offsite.ts): a failed listing leaves it unknown.
    b.offsite && `  dbs=$(docker exec "$ctr" mongosh --quiet --norc --eval ${shq(ADMIN_LOGIN_JS + LIST_DATABASES_JS)} 2>/dev/null) || dbs=""`,
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
    `docker run --rm --network none -v "$vol":/data:ro --entrypoint sh "$image" -c ${shq(ARCHIVE_VOLUME)} > "$tmp" &`,
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
    ...(b.offsite ? offsiteUnlessEmpty(b.offsite) : []),
    `names=$(${NAMES_IN_DIR} | grep -E ${shq(backupNamePattern(b.prefix))} || true)`,
    ...retentionLines({ keep: b.keep, daily: 0, weekly: 0, monthly: 0, ...b.tiers }),
  );
}

/** Lists this stack's verified backups, newest first. */
export function listBackupsScript(b: Pick<BackupSpec, "dir" | "prefix">): string {
  return lines(STRICT, `dir=${hostPath(b.dir)}`, `[ -d "$dir" ] || exit 0`, `${NAMES_IN_DIR} | grep -E ${shq(backupNamePattern(b.prefix))} | sort -r || true`);
}

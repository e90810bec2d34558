/**
 * Off-host backups with restic: each verified archive (./backup.ts) also goes into a restic
 * repository off the host (SFTP, S3, a REST server, or on an aws host the stack's own bucket through
 * the instance role), encrypted with the stack's repository password, deduplicated (an unchanged
 * database adds almost nothing), verified (`check --read-data-subset`) and thinned by restic's own
 * retention (`forget --prune`). restic runs in a container of the pinned image; the password and
 * credentials are files in a private folder on the host (written by {@link offsiteFilesScript}),
 * mounted read-only, never on a command line. Pure.
 */
import type { Retention } from "./retention";
import { backupNamePattern } from "../names";
import { hostPath, lines, pullWhenMissing, shq, waitWithProgress } from "../shell";

export type OffsiteTarget =
  /** SFTP: `user@host:path`, the server's key pinned (`hostKey`: `<type> <base64>`), a private key as secret. */
  | { kind: "sftp"; host: string; port: number; user: string; path: string; hostKey: string }
  /** S3 or an S3-compatible store; the access key pair as secrets. */
  | { kind: "s3"; endpoint: string; bucket: string; prefix: string }
  /** restic's REST server (`rest-server`); with a user, its password as secret. */
  | { kind: "rest"; url: string; user?: string }
  /**
   * The stack's own S3 bucket (`backup.s3`, aws hosts), under AWS_REPOSITORY_PREFIX: no credential
   * file, restic takes the instance role's from the instance metadata (IMDSv2). The bucket's name is
   * known once `pulumi up` made it: unset, scripts read the repository from the host's file.
   */
  | { kind: "aws"; region: string; bucket?: string; /** @default https://s3.<region>.amazonaws.com */ endpoint?: string };

/** Where in the stack's bucket (`backup.s3`) the restic repository lives; the instance role may write only there. */
export const AWS_REPOSITORY_PREFIX = "restic";

export interface OffsiteSpec {
  target: OffsiteTarget;
  /** Private folder on the host holding `password`, `repository` and the target's credentials (`~/` is the SSH user's home). */
  secretsDir: string;
  /** restic image (its binary at /usr/bin/restic, as upstream's). */
  image: string;
  /** Retention, restic's: `--keep-last keep --keep-daily … --keep-weekly … --keep-monthly …`. */
  retention: Retention;
  /** Share of the repository's data read back by the check after each backup (`10%`, `1/5`). @default "10%" */
  checkSubset?: string;
}

/** Where the folder is mounted inside the restic container. */
export const OFFSITE_MOUNT = "/run/copilotos-offsite";
/** How often a running off-host copy reports its progress. */
export const OFFSITE_PROGRESS_SECONDS = 10;

/** The config's `backup` section, as much of it as the off-host repository reads. */
export interface OffsiteConfig {
  keep: number;
  daily: number;
  weekly: number;
  monthly: number;
  /** The stack's own S3 bucket as the repository (aws hosts). */
  s3?: boolean;
  offsite?: {
    sftp?: Omit<Extract<OffsiteTarget, { kind: "sftp" }>, "kind">;
    s3?: Omit<Extract<OffsiteTarget, { kind: "s3" }>, "kind">;
    rest?: Omit<Extract<OffsiteTarget, { kind: "rest" }>, "kind">;
    checkSubset: string;
  };
}

/**
 * The stack's off-host repository, or undefined: `backup.offsite`, or on an aws host (`region`)
 * with `backup.s3` the stack's own bucket. One spec for `pulumi up`, the schedule and the CLIs.
 */
export function offsiteSpecOf(b: OffsiteConfig, image: string, stackPrefix: string, region?: string): OffsiteSpec | undefined {
  const o = b.offsite;
  const target: OffsiteTarget | undefined = o?.sftp
    ? { kind: "sftp", ...o.sftp }
    : o?.s3
      ? { kind: "s3", ...o.s3 }
      : o?.rest
        ? { kind: "rest", ...o.rest }
        : b.s3 && region
          ? { kind: "aws", region }
          : undefined;
  if (!target) return undefined;
  return {
    target,
    secretsDir: `~/.copilotos/offsite/${stackPrefix}`,
    image,
    retention: { keep: b.keep, daily: b.daily, weekly: b.weekly, monthly: b.monthly },
    checkSubset: o?.checkSubset,
  };
}

/** The repository as restic names it, with no credential in it (REST's password is in the file only). */
export function offsiteWhere(t: OffsiteTarget): string {
  switch (t.kind) {
    case "sftp":
      return `sftp:${t.user}@${t.host}:${t.path}`;
    case "s3":
      return `s3:${t.endpoint.replace(/\/+$/, "")}/${t.bucket}${t.prefix ? `/${t.prefix.replace(/^\/+/, "")}` : ""}`;
    case "rest":
      return `rest:${t.url}`;
    case "aws":
      return t.bucket
        ? `s3:${(t.endpoint ?? `https://s3.${t.region}.amazonaws.com`).replace(/\/+$/, "")}/${t.bucket}/${AWS_REPOSITORY_PREFIX}`
        : `the stack's S3 bucket (backup.s3, ${t.region})`;
  }
}

/** The repository string restic reads from its file: for REST with a user, `rest:https://user:<password>@host/…`. */
export function offsiteRepository(t: OffsiteTarget, restPassword?: string): string {
  if (t.kind === "aws" && !t.bucket) throw new Error("the repository of backup.s3 needs the stack's bucket, named once pulumi up made it");
  if (t.kind !== "rest" || !t.user) return offsiteWhere(t);
  const u = new URL(t.url);
  u.username = encodeURIComponent(t.user);
  u.password = encodeURIComponent(restPassword ?? "");
  return `rest:${u.toString()}`;
}

/** The pinned server key as a known_hosts line (`[host]:port` unless port 22). */
export function knownHostsLine(t: Extract<OffsiteTarget, { kind: "sftp" }>): string {
  return `${t.port === 22 ? t.host : `[${t.host}]:${t.port}`} ${t.hostKey}`;
}

/** The secret files of the folder, in the order {@link offsiteFilesScript} reads them from stdin. */
export interface OffsiteSecrets {
  password: string;
  /** SFTP: the private key. */
  sshKey?: string;
  /** S3: the access key pair. */
  s3?: { accessKeyId: string; secretAccessKey: string };
  /** REST: the user's password. */
  restPassword?: string;
}

/** The files the folder holds: name → content (the stdin of {@link offsiteFilesScript}, one base64 line each). */
export function offsiteFiles(t: OffsiteTarget, s: OffsiteSecrets): [string, string][] {
  const files: [string, string][] = [
    ["password", s.password],
    ["repository", offsiteRepository(t, s.restPassword)],
  ];
  if (t.kind === "sftp") files.push(["ssh_key", (s.sshKey ?? "").replace(/\n*$/, "\n")], ["known_hosts", `${knownHostsLine(t)}\n`]);
  if (t.kind === "s3")
    files.push(["s3_credentials", `[default]\naws_access_key_id = ${s.s3?.accessKeyId ?? ""}\naws_secret_access_key = ${s.s3?.secretAccessKey ?? ""}\n`]);
  return files;
}

/** The stdin of {@link offsiteFilesScript}: `<name> <base64 of content>` a line (a secret; never on a command line). */
export function offsiteFilesInput(t: OffsiteTarget, s: OffsiteSecrets): string {
  return offsiteFiles(t, s)
    .map(([name, content]) => `${name} ${Buffer.from(content).toString("base64")}\n`)
    .join("");
}

/** Writes the folder from stdin: a private folder (0700), each file 0600, replaced whole; pulls the restic image when missing. */
export function offsiteFilesScript(o: Pick<OffsiteSpec, "secretsDir" | "image">): string {
  return lines(
    "set -eu",
    "umask 077",
    `dir=${hostPath(o.secretsDir)}`,
    'mkdir -p "$dir"; chmod 700 "$dir"',
    "n=0",
    "while read -r name b64; do",
    '  case $name in password|repository|ssh_key|known_hosts|s3_credentials) ;; *) echo "offsite: unexpected file name on stdin" >&2; exit 1 ;; esac',
    '  printf \'%s\' "$b64" | base64 -d > "$dir/.$name.new"',
    '  chmod 600 "$dir/.$name.new"; mv "$dir/.$name.new" "$dir/$name"; n=$((n + 1))',
    "done",
    `echo "offsite: $n files of the off-host repository's password and credentials in $dir (0600)"`,
    ...pullWhenMissing(o.image, "offsite: pulling the restic image"),
  );
}

/** Removes the folder (the repository off the host keeps its snapshots). */
export function offsiteFilesRemoveScript(o: Pick<OffsiteSpec, "secretsDir">): string {
  return lines("set -eu", `rm -rf ${hostPath(o.secretsDir)}`);
}

/**
 * Lines that define `restic_run <args>`: restic in a throwaway container of the pinned image on the
 * host's network, the folder mounted read-only, password and repository read from their files.
 */
export function resticLines(o: OffsiteSpec, step: string): string[] {
  const t = o.target;
  const m = OFFSITE_MOUNT;
  const env = [
    `RESTIC_PASSWORD_FILE=${m}/password`,
    `RESTIC_REPOSITORY_FILE=${m}/repository`,
    ...(t.kind === "s3" ? [`AWS_SHARED_CREDENTIALS_FILE=${m}/s3_credentials`] : []),
  ];
  const option =
    t.kind === "sftp"
      ? ` -o ${shq(`sftp.command=ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${m}/known_hosts -o IdentitiesOnly=yes -i ${m}/ssh_key -p ${t.port} ${t.user}@${t.host} -s sftp`)}`
      : t.kind === "aws"
        ? ` -o ${shq(`s3.region=${t.region}`)}`
        : "";
  // The stack's bucket is named once pulumi up made it: its repository file says which (no credential in it).
  const where = t.kind === "aws" && !t.bucket ? '$(cat "$offsite/repository")' : shq(offsiteWhere(t));
  return [
    `offsite=${hostPath(o.secretsDir)}; restic_image=${shq(o.image)}`,
    `[ -r "$offsite/password" ] || { echo "${step}: no off-host repository credentials in $offsite on this host: run pulumi up (it writes them) first" >&2; exit 1; }`,
    `where=${where}`,
    // The host's network: the instance role's credentials (IMDSv2, one hop) are out of reach of any container on a bridge network.
    `restic_run() { docker run --rm -i --network host -e RESTIC_PROGRESS_FPS=${(1 / OFFSITE_PROGRESS_SECONDS).toString()} ${env.map((e) => `-e ${e}`).join(" ")} -v "$offsite":${m}:ro --entrypoint /usr/bin/restic "$restic_image" --no-cache${option} "$@"; }`,
  ];
}

/** What a wrong password says (restic: "wrong password or no key found"), and what it means. */
export const WRONG_PASSWORD =
  "refused the stack's repository password (wrong password or no key found): it is another stack's repository, or the stack's state lost its password; nothing was read or changed";

/**
 * Lines that open the repository (`restic cat config`): a wrong password is a clear error; a
 * repository that does not exist yet is created when `init` (a backup), else an error (a restore).
 */
export function openRepositoryLines(step: string, init: boolean): string[] {
  return [
    "if ! out=$(restic_run cat config 2>&1 >/dev/null); then",
    "  case $out in",
    `    *"wrong password"*) echo "${step}: the off-host repository $where ${WRONG_PASSWORD}" >&2; exit 1 ;;`,
    init
      ? `    *"Is there a repository"*) restic_run init >/dev/null; echo "${step}: created the off-host restic repository $where (encrypted with the stack's repository password)" ;;`
      : `    *"Is there a repository"*) echo "${step}: there is no off-host repository at $where: nothing was ever backed up there" >&2; exit 1 ;;`,
    `    *) printf '%s\\n' "$out" >&2; echo "${step}: the off-host repository $where could not be opened (above: restic's error); nothing was changed" >&2; exit 1 ;;`,
    "  esac",
    "fi",
  ];
}

/**
 * `--keep-*` flags of a retention (restic keeps a snapshot that any rule keeps). Snapshots are grouped
 * by host only (`--group-by host`, the host being the stack's prefix): each one's path is its own
 * archive's name, and restic's default grouping by path would keep every snapshot forever.
 */
export const keepFlags = (r: Retention) => `--keep-last ${r.keep} --keep-daily ${r.daily} --keep-weekly ${r.weekly} --keep-monthly ${r.monthly}`;

/**
 * Lines for the end of a backup (after the archive `$file`, named `$name`, was verified and
 * `$prefix` set): store it in the off-host repository (progress every OFFSITE_PROGRESS_SECONDS),
 * apply the retention, read back a share of the data, and say the snapshot, bytes added and the
 * repository's size. Any failure fails the backup; the verified archive stays on the host.
 */
export function offsiteBackupLines(o: OffsiteSpec): string[] {
  const failed = (what: string) =>
    `{ echo "backup: ${what}; the verified archive $file stays on the host. Check the off-host target's address and credentials (backup.offsite), then run the backup again (npm run backup)" >&2; exit 1; }`;
  return [
    ...resticLines(o, "backup"),
    'name="${file##*/}"',
    'echo "backup: copying $name to the off-host repository $where (restic: encrypted, deduplicated)"',
    ...openRepositoryLines("backup", true),
    "work=$(mktemp -d); trap 'rm -rf \"$work\"; cleanup' EXIT",
    `{ restic_run backup --json --stdin --stdin-filename "$name" --host "$prefix" --tag copilotos < "$file" 2>"$work/err" || echo "exit $?" > "$work/failed"; } | while IFS= read -r l; do`,
    "  case $l in",
    `    *'"message_type":"status"'*) p=$(printf '%s' "$l" | sed -n 's/.*"percent_done":\\([0-9.]*\\).*/\\1/p'); echo "backup: off-host copy $(awk -v p="\${p:-0}" 'BEGIN { printf "%d", p * 100 }')% done" ;;`,
    `    *'"message_type":"summary"'*) printf '%s\\n' "$l" > "$work/summary" ;;`,
    "  esac",
    "done",
    `if [ -e "$work/failed" ] || [ ! -s "$work/summary" ]; then cat "$work/err" >&2; ${failed("the copy to the off-host repository $where failed (above: restic's error)")}; fi`,
    `snap=$(sed -n 's/.*"snapshot_id":"\\([0-9a-f]\\{8\\}\\).*/\\1/p' "$work/summary"); added=$(sed -n 's/.*"data_added":\\([0-9]*\\).*/\\1/p' "$work/summary")`,
    `restic_run forget --host "$prefix" --group-by host ${keepFlags(o.retention)} --prune >"$work/forget" 2>&1 || { cat "$work/forget" >&2; ${failed("the snapshot $snap was saved, but restic's retention (forget --prune) failed")}; }`,
    `echo "backup: off-host retention (restic forget --prune) ${keepFlags(o.retention)}"`,
    `restic_run check --read-data-subset ${shq(o.checkSubset ?? "10%")} >"$work/check" 2>&1 || { cat "$work/check" >&2; ${failed("the off-host repository $where failed its check (restic check --read-data-subset): its data is damaged")}; }`,
    `total=$(restic_run stats --json --mode raw-data | sed -n 's/.*"total_size":\\([0-9]*\\).*/\\1/p')`,
    `echo "backup: off-host snapshot $snap saved to $where: $added bytes added, the repository holds $total bytes (restic check read back ${o.checkSubset ?? "10%"} of its data)"`,
  ];
}

/** A snapshot ID (8 to 64 hex digits) or `latest`. */
export const SNAPSHOT_PATTERN = /^(latest|[0-9a-f]{8,64})$/;

/** The marker line of {@link offsiteFetchScript}: the archive's name in the backup folder follows it. */
export const FETCHED = "fetched:";

export interface FetchSpec {
  offsite: OffsiteSpec;
  /** The stack's backup folder and archive prefix (./backup.ts). */
  dir: string;
  prefix: string;
  /** Snapshot ID or `latest`. @default "latest" */
  snapshot?: string;
  /** A new host: refuse when the stack's Mongo container runs here or its volume exists (it is not new). */
  ontoNewHost?: { container: string; volume: string };
}

/**
 * Copies the archive of an off-host snapshot into the backup folder as `<prefix>-<stamp>.tar` with
 * its `.sha256`, so a restore or a drill checks and uses it like any archive there (restic checked
 * every blob it read against its hash). Nothing live is touched. Ends with `fetched: <name>`.
 */
export function offsiteFetchScript(f: FetchSpec): string {
  const snapshot = f.snapshot ?? "latest";
  if (!SNAPSHOT_PATTERN.test(snapshot)) throw new Error(`"${snapshot}" is not a snapshot ID (8 to 64 hex digits, from the list) or "latest"`);
  // restic lists the snapshot's one file under `/`.
  const archive = `^/${backupNamePattern(f.prefix).slice(1)}`;
  return lines(
    "set -eu",
    "umask 077",
    `dir=${hostPath(f.dir)}; prefix=${shq(f.prefix)}; snap=${shq(snapshot)}`,
    f.ontoNewHost && `ctr=${shq(f.ontoNewHost.container)}; vol=${shq(f.ontoNewHost.volume)}`,
    f.ontoNewHost &&
      `if docker inspect "$ctr" >/dev/null 2>&1 || docker volume inspect "$vol" >/dev/null 2>&1; then echo "restore: this host already has the stack's Mongo ($ctr or its volume $vol): it is not a new host, and --onto-new-host never writes over data. Restore without --onto-new-host to replace its data" >&2; exit 2; fi`,
    ...resticLines(f.offsite, "restore"),
    ...openRepositoryLines("restore", false),
    `name=$(restic_run ls --host "$prefix" "$snap" 2>/dev/null | grep -E ${shq(archive)} | head -n 1 || true); name=\${name#/}`,
    `[ -n "$name" ] || { echo "restore: the off-host snapshot $snap of $where holds no backup of this stack ($prefix-<UTC stamp>.tar); list them with npm run restore -- <stack> --from offsite" >&2; exit 1; }`,
    'mkdir -p "$dir"; f="$dir/$name"',
    'if [ -f "$f" ] && [ -f "$f.sha256" ]; then',
    '  echo "restore: $name is already in $dir; using that copy (its .sha256 is checked before use)"',
    "else",
    '  echo "restore: copying $name from the off-host snapshot $snap of $where (restic checks every block against its hash)"',
    '  restic_run dump --host "$prefix" "$snap" "/$name" > "$f.partial" &',
    "  pid=$!",
    ...waitWithProgress(
      '"$f.partial"',
      "restore",
      OFFSITE_PROGRESS_SECONDS,
      `rm -f "$f.partial"; echo "restore: reading $name from $where failed (above: restic's error); nothing was restored" >&2`,
    ).map((l) => `  ${l}`),
    '  sum=$(sha256sum < "$f.partial" | cut -d" " -f1); mv "$f.partial" "$f"; printf \'%s  %s\\n\' "$sum" "$name" > "$f.sha256"',
    '  echo "restore: $name copied to $dir ($(wc -c < "$f") bytes, sha256 $sum)"',
    "fi",
    `echo "${FETCHED} $name"`,
  );
}

/** Lists the stack's off-host snapshots (restic's table: ID, time, host, tags, paths). */
export function offsiteSnapshotsScript(o: OffsiteSpec, prefix: string): string {
  return lines(
    "set -eu",
    `prefix=${shq(prefix)}`,
    ...resticLines(o, "restore"),
    ...openRepositoryLines("restore", false),
    'restic_run snapshots --host "$prefix"',
  );
}

/**
 * Lines for `ops status`: the stack's newest off-host snapshot, its time and age in hours, or why
 * there is none; never fails the status (in a subshell). GNU date reads restic's RFC 3339 times.
 */
export function offsiteStatusLines(o: OffsiteSpec, prefix: string): string[] {
  return [
    "(",
    `  prefix=${shq(prefix)}`,
    ...resticLines(o, "ops").map((l) => `  ${l}`),
    '  if ! out=$(restic_run snapshots --host "$prefix" --group-by host --latest 1 --json 2>&1); then',
    '    case $out in *"wrong password"*) why="the repository refused the stack\'s password" ;; *"Is there a repository"*) why="no repository yet" ;; *) why="restic could not read it" ;; esac',
    '    echo "off-host snapshot: none readable in $where ($why)"; exit 0',
    "  fi",
    `  id=$(printf '%s' "$out" | sed -n 's/.*"short_id":"\\([0-9a-f]*\\)".*/\\1/p' | tail -n 1); t=$(printf '%s' "$out" | sed -n 's/.*"time":"\\([^"]*\\)".*/\\1/p' | tail -n 1)`,
    '  if [ -z "$id" ]; then echo "off-host snapshot: none yet in $where"; exit 0; fi',
    '  age=$(( ($(date -u +%s) - $(date -u -d "$t" +%s)) / 3600 ))',
    '  echo "off-host snapshot: $id at $(date -u -d "$t" +%Y-%m-%dT%H:%M:%SZ) ($age h old) in $where"',
    ")",
  ];
}

/**
 * Imports the verified archives of `dir` (each matching its `.sha256`) that the repository does not
 * hold yet, each as a snapshot with the time its name carries (`--time`), so restic's retention
 * treats them by their age. The archives stay where they are; a damaged one is named and skipped,
 * and fails the import at the end.
 */
export function offsiteImportScript(o: OffsiteSpec, dir: string, prefix: string): string {
  const archive = backupNamePattern(prefix);
  return lines(
    "set -eu",
    `dir=${hostPath(dir)}; prefix=${shq(prefix)}`,
    ...resticLines(o, "import"),
    ...openRepositoryLines("import", true),
    // The archive names the repository holds: each snapshot's one path.
    `have=$(restic_run snapshots --host "$prefix" --json | grep -o '"paths":\\["/[^"]*"' | sed 's|.*\\["/||; s|"$||' || true)`,
    "n=0; skipped=0; bad=0",
    'for f in "$dir"/*.tar; do',
    '  [ -f "$f" ] || continue; name=${f##*/}',
    `  printf '%s\\n' "$name" | grep -Eq ${shq(archive)} || continue`,
    `  if printf '%s\\n' "$have" | grep -qxF "$name"; then skipped=$((skipped + 1)); continue; fi`,
    '  expected=$(cat "$f.sha256" 2>/dev/null || true); sum=$(sha256sum < "$f" | cut -d" " -f1)',
    '  if [ "$expected" != "$sum  $name" ]; then echo "import: $name does not match its .sha256 (or has none); not imported" >&2; bad=$((bad + 1)); continue; fi',
    `  t=$(printf '%s' "\${name##*-}" | sed 's/^\\(....\\)\\(..\\)\\(..\\)T\\(..\\)\\(..\\)\\(..\\)Z\\.tar$/\\1-\\2-\\3 \\4:\\5:\\6/')`,
    '  restic_run backup --stdin --stdin-filename "$name" --host "$prefix" --tag copilotos --time "$t" < "$f" >/dev/null',
    '  echo "import: $name imported as a snapshot taken $t UTC"; n=$((n + 1))',
    "done",
    'echo "import: $n archives imported into $where, $skipped already there; the archives in $dir stay. The next backup applies the retention to all snapshots"',
    '[ "$bad" -eq 0 ] || { echo "import: $bad archives were damaged and not imported" >&2; exit 1; }',
  );
}

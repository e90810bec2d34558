/**
 * Small helpers for the host-side scripts the renderers return. Pure.
 * Scripts are POSIX sh (dash, bash, busybox ash): they run through ssh on the host or `sh -c` locally.
 */

/** Single-quotes a word for sh: `it's` → `'it'\''s'`. */
export function shq(word: string | number): string {
  const s = String(word);
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A path on the host as a shell word: `~/x` → `"$HOME"/x` (the SSH user's home), anything else quoted. */
export function hostPath(dir: string): string {
  return dir === "~" ? '"$HOME"' : dir.startsWith("~/") ? `"$HOME"/${shq(dir.slice(2))}` : shq(dir);
}

/** Joins script lines, dropping `undefined`/`false` ones, with a trailing newline. */
export function lines(...parts: (string | undefined | false)[]): string {
  return parts.filter((p): p is string => typeof p === "string").join("\n") + "\n";
}

/** The first line of every host script: stop on errors and unset variables. */
export const STRICT = "set -eu";

/**
 * Fails closed when the engine does not answer: afterwards a failed `docker … inspect` means the
 * object is missing, never that the engine was unreachable (read as "nothing to back up" before).
 */
export function engineAnswers(step: string): string {
  return `docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || { echo ${shq(`${step}: the Docker engine does not answer (docker version failed); nothing was done. Check that it runs and that DOCKER_HOST names it`)} >&2; exit 1; }`;
}

/**
 * Lines that set `$img` to `image` and pull it when the host does not have it, saying so with
 * `announce` (`offsite: pulling the restic image`): the pinned tool images the host steps run.
 */
export function pullWhenMissing(image: string, announce: string): string[] {
  return [`img=${shq(image)}`, `if ! docker image inspect "$img" >/dev/null 2>&1; then echo "${announce} $img"; docker pull "$img" >/dev/null; fi`];
}

/** Makes TERM, HUP and INT end the script through its EXIT trap (dash runs that trap only on exit). */
export const EXIT_ON_SIGNALS = "trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM";

/**
 * Lines that wait for the background job `$pid`, printing `<label>: <bytes of file> bytes so far`
 * every `everySeconds` while it runs (progress for `pulumi up`'s output), then take on its exit
 * status (`wait`), so a failed job fails the script, after the command `onFailure` if one is given.
 * `file` is a shell word.
 */
export function waitWithProgress(file: string, label: string, everySeconds: number, onFailure?: string): string[] {
  return [
    'ticks=0; while kill -0 "$pid" 2>/dev/null; do',
    "  sleep 0.5; ticks=$((ticks + 1))",
    `  if [ $((ticks % ${everySeconds * 2})) -eq 0 ] && kill -0 "$pid" 2>/dev/null; then echo "${label}: $(wc -c < ${file}) bytes so far"; fi`,
    "done",
    onFailure ? `wait "$pid" || { ${onFailure}; exit 1; }` : 'wait "$pid"',
  ];
}

/** Seconds a host step waits for another stack's step to release the host lock. */
export const HOST_LOCK_SECONDS = 300;

/**
 * Lines that take the host lock (`~/.copilotos/host.lock`, flock on fd 9, released when the script
 * exits): the steps that share one host (pre-flight port checks, proxy route changes) of every
 * stack the deploy user runs there never interleave, e.g. staging's and prod's `pulumi up` at once.
 * A step that waits says so; one that waits longer than HOST_LOCK_SECONDS fails having done nothing.
 */
export const HOST_LOCK: readonly string[] = [
  'lockdir="$HOME/.copilotos"; mkdir -p "$lockdir"; chmod 700 "$lockdir"',
  `command -v flock >/dev/null 2>&1 || { echo ${shq("host lock: flock (util-linux) is not installed on the host; it keeps the steps of two stacks on one host from interleaving")} >&2; exit 1; }`,
  'exec 9>>"$lockdir/host.lock"',
  "if ! flock -n 9; then",
  '  echo "host lock: waiting for another copilotos step on this host to finish ($lockdir/host.lock)"',
  `  flock -w ${HOST_LOCK_SECONDS} 9 || { echo "host lock: another copilotos step held $lockdir/host.lock for ${HOST_LOCK_SECONDS}s; nothing was done. Run again when it has finished" >&2; exit 1; }`,
  "fi",
];

/**
 * A host script headed by a comment that says what it does (`# gate: api ... , 120 s`): the line
 * `npm run check` shows for the step, and the first line of the script in `pulumi preview`'s diff.
 * Anything but printable ASCII becomes `?`, so the comment stays one line and no value can end it.
 */
export function describedScript(does: string, script: string): string {
  return `# ${does.replace(/[^\x20-\x7e]/g, "?")}\n${script}`;
}

/** What {@link describedScript} said the script does, or undefined for a script without it. */
export function scriptDescription(script: string): string | undefined {
  return /^# (.*)\n/.exec(script)?.[1];
}

/**
 * Small helpers for the host-side scripts the renderers return. Pure.
 * Scripts are POSIX sh (dash, bash, busybox ash): they run through ssh on the host or `sh -c` locally.
 */

/** Single-quotes a word for sh: `it's` → `'it'\''s'`. */
export function shq(word: string | number): string {
  const s = String(word);
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
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

/** Makes TERM, HUP and INT end the script through its EXIT trap (dash runs that trap only on exit). */
export const EXIT_ON_SIGNALS = "trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM";

/**
 * Lines that wait for the background job `$pid`, printing `<label>: <bytes of file> bytes so far`
 * every `everySeconds` while it runs (progress for `pulumi up`'s output), then take on its exit
 * status (`wait`), so a failed job fails the script. `file` is a shell word.
 */
export function waitWithProgress(file: string, label: string, everySeconds: number): string[] {
  return [
    'ticks=0; while kill -0 "$pid" 2>/dev/null; do',
    "  sleep 0.5; ticks=$((ticks + 1))",
    `  if [ $((ticks % ${everySeconds * 2})) -eq 0 ] && kill -0 "$pid" 2>/dev/null; then echo "${label}: $(wc -c < ${file}) bytes so far"; fi`,
    "done",
    'wait "$pid"',
  ];
}

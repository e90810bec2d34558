/**
 * Small helpers for the host-side scripts the builders return. Pure.
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

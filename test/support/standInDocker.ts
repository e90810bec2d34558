/**
 * A stand-in `docker` for running host scripts with plain sh, no engine: it logs each call (its
 * arguments, one line) and answers by `case "$1 $2"` arms; `version --format` answers 27.5.1.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** Runs `script` in `dir` with the stand-in first on PATH (`input` on its stdin); its calls, in order. */
export function withDocker(dir: string, script: string, arms: string[], input?: string) {
  fs.writeFileSync(
    path.join(dir, "docker"),
    ["#!/bin/sh", 'echo "$*" >> "$CALLS"', 'case "$1 $2" in', "  'version --format') echo 27.5.1 ;;", ...arms, "esac"].join("\n"),
    { mode: 0o755 },
  );
  const r = spawnSync("sh", ["-c", script], { input, env: { PATH: `${dir}:${process.env.PATH}`, CALLS: path.join(dir, "calls") }, encoding: "utf8" });
  return { ...r, calls: fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") };
}

/** An arm's commands answering `answers` in turn, one a call (the last repeats), counted in `<dir>/polls`. */
export const inTurn = (dir: string, answers: string[]): string =>
  `n=$(cat ${dir}/polls 2>/dev/null || echo 0); echo $((n + 1)) > ${dir}/polls; set -- ${answers.map((a) => `'${a}'`).join(" ")}; shift $((n < $# - 1 ? n : $# - 1)); echo "$1"`;

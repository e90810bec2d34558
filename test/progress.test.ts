/** Progress lines of long host steps: the renderer's output is run by the local sh against a slow job. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BACKUP_WRITE_FAILED, backupScript } from "../components/renderers/operations/backup";
import { lines, shq, STRICT, waitWithProgress } from "../components/renderers/shell";
import { ARCHIVE_VOLUME } from "../components/renderers/operations/volumeLayout";

describe("waitWithProgress (run by sh here)", () => {
  /** Runs `job` in the background under waitWithProgress; the job sees the script's output so far in "$log". */
  const run = (job: string, onFailure?: string) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "progress-"));
    const log = path.join(dir, "log");
    const script = lines(
      STRICT,
      `f=${shq(path.join(dir, "out"))}; log=${shq(log)}; export log`,
      `${job} > "$f" &`,
      "pid=$!",
      ...waitWithProgress('"$f"', "backup", 1, onFailure),
      'echo "done $(wc -c < "$f")"',
    );
    const out = fs.openSync(log, "w");
    const r = spawnSync("sh", ["-c", script], { stdio: ["ignore", out, "pipe"] });
    fs.closeSync(out);
    const printed = fs.readFileSync(log, "utf8");
    fs.rmSync(dir, { recursive: true, force: true });
    return { code: r.status, out: printed.trim().split("\n") };
  };

  test("prints the bytes written so far about once a second while the job runs, then goes on", () => {
    // 3000 bytes, then nothing more until a progress line was printed (30 s at most), then 5000: however
    // slow the machine, the first line is the count so far, and the job ends after it.
    const r = run(
      `sh -c 'head -c 3000 /dev/zero; i=0; until grep -q "bytes so far" "$log" || [ "$i" -ge 300 ]; do sleep 0.1; i=$((i + 1)); done; head -c 5000 /dev/zero'`,
    );
    expect(r.code).toBe(0);
    expect([r.out[0], r.out.at(-1)]).toEqual(["backup: 3000 bytes so far", "done 8000"]);
    for (const l of r.out.slice(1, -1)) expect(l).toMatch(/^backup: [38]000 bytes so far$/);
  });

  test("a quick job prints no progress; a failing job fails the script with its status", () => {
    expect(run("printf abc")).toEqual({ code: 0, out: ["done 3"] });
    expect(run("sh -c 'printf ab; exit 3'")).toEqual({ code: 3, out: [""] });
  });

  test("a failing job runs the failure command (what happened, what to do), then fails the script; a job that succeeds does not", () => {
    expect(run("sh -c 'printf ab; exit 3'", "echo 'backup: the archive could not be written'")).toEqual({
      code: 1,
      out: ["backup: the archive could not be written"],
    });
    expect(run("printf abc", "echo never")).toEqual({ code: 0, out: ["done 3"] });
  });
});

test("the backup archives in the background and reports progress every 10 s", () => {
  const script = backupScript({ container: "c", volume: "v", dir: "~/b", prefix: "p", keep: 7, image: "mongo:7" });
  expect(script).toContain(
    `--entrypoint sh "$image" -c ${shq(ARCHIVE_VOLUME)} > "$tmp" &\npid=$!\n${waitWithProgress('"$tmp"', "backup", 10, BACKUP_WRITE_FAILED).join("\n")}\n`,
  );
});

describe("the backup script against a stand-in docker (run by the local sh, which is dash here)", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "backup-sh-"));
    fs.mkdirSync(path.join(dir, "bin"));
    // Records every call; `run` (the tar) is slow, so the script can be killed half-way.
    fs.writeFileSync(
      path.join(dir, "bin", "docker"),
      [
        "#!/bin/sh",
        'echo "$*" >> "$LOG"',
        'case "$1" in',
        '  version) [ -z "${ENGINE_DOWN:-}" ] || { echo "Cannot connect to the Docker daemon" >&2; exit 1; }; echo 20.10 ;;',
        "  inspect) echo true ;;",
        "  run) sleep 3 ;;",
        "esac",
        "",
      ].join("\n"),
      { mode: 0o755 },
    );
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const env = (extra: Record<string, string> = {}) => ({ PATH: `${path.join(dir, "bin")}:/usr/bin:/bin`, HOME: dir, LOG: path.join(dir, "log"), ...extra });
  const script = backupScript({ container: "c", volume: "v", dir: "~/b", prefix: "p", keep: 7, image: "mongo:7" });
  const calls = () => (fs.existsSync(path.join(dir, "log")) ? fs.readFileSync(path.join(dir, "log"), "utf8") : "");

  test("an engine that does not answer fails the backup; it is never read as nothing to back up", () => {
    const r = spawnSync("sh", ["-c", script], { encoding: "utf8", env: env({ ENGINE_DOWN: "1" }) });
    expect(r.status).toBe(1);
    expect(r.stdout).not.toContain("nothing to back up");
    expect(r.stderr).toBe(
      "backup: the Docker engine does not answer (docker version failed); nothing was done. Check that it runs and that DOCKER_HOST names it\n",
    );
    expect(calls()).toBe("version --format {{.Server.Version}}\n");
  });

  test("killed mid-copy (TERM, HUP), the backup still unlocks mongod and leaves no partial archive", async () => {
    for (const signal of ["SIGTERM", "SIGHUP"] as const) {
      fs.rmSync(path.join(dir, "log"), { force: true });
      const { spawn } = await import("node:child_process");
      const child = spawn("sh", ["-c", script], { env: env(), stdio: "ignore" });
      const deadline = Date.now() + 5000;
      while (!calls().includes("\nrun ") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      child.kill(signal);
      const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
      expect([signal, code]).toEqual([signal, signal === "SIGTERM" ? 143 : 129]);
      const execs = calls()
        .split("\n")
        .filter((l) => l.startsWith("exec "))
        .map((l) => (l.includes("fsyncUnlock") ? "fsyncUnlock" : l.includes("fsyncLock") ? "fsyncLock" : l));
      expect(execs).toEqual(["fsyncLock", "fsyncUnlock"]);
      expect(fs.readdirSync(path.join(dir, "b")).filter((f) => f.endsWith(".partial"))).toEqual([]);
    }
    // The stand-in tar (sleep 3) outlives the killed script: wait it out so nothing is left running.
    await new Promise((r) => setTimeout(r, 3200));
  }, 20000);
});

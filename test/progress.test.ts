/** Progress lines of long host steps: the renderer's output is run by the local sh against a slow job. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { backupScript } from "../components/renderers/backup";
import { lines, shq, STRICT, waitWithProgress } from "../components/renderers/shell";

describe("waitWithProgress (run by sh here)", () => {
  const run = (job: string) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "progress-"));
    const script = lines(
      STRICT,
      `f=${shq(path.join(dir, "out"))}`,
      `${job} > "$f" &`,
      "pid=$!",
      ...waitWithProgress('"$f"', "backup", 1),
      'echo "done $(wc -c < "$f")"',
    );
    const r = spawnSync("sh", ["-c", script], { encoding: "utf8" });
    fs.rmSync(dir, { recursive: true, force: true });
    return { code: r.status, out: r.stdout.trim().split("\n") };
  };

  test("prints the bytes written so far about once a second while the job runs, then goes on", () => {
    const r = run("sh -c 'for i in 1 2 3 4 5 6 7 8; do head -c 1000 /dev/zero; sleep 0.3; done'");
    expect(r.code).toBe(0);
    expect(r.out[r.out.length - 1]).toBe("done 8000");
    const progress = r.out.slice(0, -1);
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress.length).toBeLessThanOrEqual(3);
    for (const l of progress) expect(l).toMatch(/^backup: [1-7]000 bytes so far$/);
  });

  test("a quick job prints no progress; a failing job fails the script with its status", () => {
    expect(run("printf abc")).toEqual({ code: 0, out: ["done 3"] });
    expect(run("sh -c 'printf ab; exit 3'")).toEqual({ code: 3, out: [""] });
  });
});

test("the backup archives in the background and reports progress every 10 s", () => {
  const script = backupScript({ container: "c", volume: "v", dir: "~/b", prefix: "p", keep: 7, image: "mongo:7" });
  expect(script).toContain(`--entrypoint tar "$image" -C /data -cf - . > "$tmp" &\npid=$!\n${waitWithProgress('"$tmp"', "backup", 10).join("\n")}\n`);
});

/** Every CLI answers --help with its usage (exit 0, nothing run) and a wrong option with the usage (exit 2). */
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");
const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(ROOT, "scripts", "run.js"), ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, PATH: "/usr/bin:/bin" } });

describe.each(["check", "deliver", "restore", "rollback", "bench", "docs"])("npm run %s", (name) => {
  test("--help prints the usage and exits 0 without running anything", () => {
    const r = cli(name, "--help");
    expect({ status: r.status, usage: r.stdout.startsWith("usage: ") }).toEqual({ status: 0, usage: true });
    expect(r.stderr.replace(/^compiling TypeScript.*\n/, "")).toBe("");
  });
  test("an unknown option exits 2 with the usage", () => {
    const r = cli(name, "--no-such-option");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--no-such-option");
    expect(r.stderr).toContain("usage: ");
  });
});

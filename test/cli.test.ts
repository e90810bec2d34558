/** Every CLI answers --help with its usage (exit 0, nothing run) and a wrong option with the usage (exit 2). */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [path.join(ROOT, "scripts", "run.js"), ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, PATH: "/usr/bin:/bin" } });

describe.each(["check", "deliver", "backup", "images", "restore", "rollback", "bench", "docs", "adopt", "ops"])("npm run %s", (name) => {
  test("--help prints the usage and exits 0 without running anything", () => {
    const r = cli(name, "--help");
    expect({ status: r.status, usage: r.stdout.startsWith("usage: ") }).toEqual({ status: 0, usage: true });
    expect(r.stdout).toMatch(new RegExp(`^example: (sudo )?npm run ${name === "docs" ? "docs:config" : name} `, "m"));
    expect(r.stderr.replace(/^compiling TypeScript.*\n/, "")).toBe("");
  });
  test("an unknown option exits 2 with the usage", () => {
    const r = cli(name, "--no-such-option");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--no-such-option");
    expect(r.stderr).toContain("usage: ");
  });
});

test.each([
  ["check", "../scripts/check"],
  ["deliver", "../scripts/deliver"],
  ["backup", "../scripts/backup"],
  ["images", "../scripts/images"],
  ["restore", "../scripts/restore"],
  ["rollback", "../scripts/rollback"],
  ["bench", "../bench/bench"],
  ["docs", "../scripts/docs"],
  ["adopt", "../scripts/adopt"],
  ["ops", "../scripts/ops"],
])("npm run %s: its usage names every flag it takes", async (_name, module) => {
  const { OPTIONS, USAGE } = (await import(module)) as { OPTIONS: Record<string, unknown>; USAGE: string };
  const flags = Object.keys(OPTIONS);
  expect(flags.length).toBeGreaterThan(0);
  expect(flags.filter((f) => !USAGE.includes(`--${f}`))).toEqual([]);
});

describe("scripts/run.js --prebuilt (what a deploy's image delivery runs)", () => {
  // A copy of run.js in an empty project: its compiled CLIs are older than a source.
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "copilotos-runjs-"));
    fs.mkdirSync(path.join(dir, "scripts"));
    fs.mkdirSync(path.join(dir, "bin", "cli", "scripts"), { recursive: true });
    fs.copyFileSync(path.join(ROOT, "scripts", "run.js"), path.join(dir, "scripts", "run.js"));
    fs.writeFileSync(path.join(dir, "bin", "cli", "scripts", "deliver.js"), 'exports.main = async () => { console.log("delivered"); return 0; };\n');
    const stamp = path.join(dir, "bin", "cli", ".build-stamp");
    fs.writeFileSync(stamp, "then\n");
    fs.utimesSync(stamp, new Date(Date.now() - 60000), new Date(Date.now() - 60000));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const run = (...args: string[]) => spawnSync(process.execPath, [path.join(dir, "scripts", "run.js"), ...args], { cwd: dir, encoding: "utf8" });

  test("refuses to compile when a source is newer than bin/, names the fix, and leaves bin/ as it was", () => {
    fs.writeFileSync(path.join(dir, "index.ts"), "export {};\n");
    const r = run("--prebuilt", "deliver");
    expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 1, stdout: "" });
    expect(r.stderr).toBe("deliver: the compiled CLIs in bin/ are older than the sources; run `npm run build` (npm run up does) and deploy again\n");
    expect(fs.readdirSync(path.join(dir, "bin", "cli", "scripts"))).toEqual(["deliver.js"]);
  });

  test("runs the compiled CLI when bin/ is fresh", () => {
    const r = run("--prebuilt", "deliver");
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: "delivered\n", stderr: "" });
  });
});

describe("what a dry run loads", () => {
  // check in a child process; at exit it reports which of the AWS SDKs and the closure serializer's
  // dependencies ended up loaded from disk.
  const loaded = (...args: string[]) => {
    const probe = [
      `process.argv = [process.argv[0], "run.js", ${args.map((a) => JSON.stringify(a)).join(", ")}];`,
      // A stand-in has no keys; the real module has many.
      "const has = (s) => Object.entries(require.cache).some(([f, m]) => f.includes(`/node_modules/${s}/`) && Object.keys(m.exports ?? {}).length > 0);",
      'process.on("exit", () => console.error("SDK " + ["@pulumi/aws", "@pulumi/tls", "typescript", "@npmcli/arborist"].filter(has).join(",")));',
      `require(${JSON.stringify(path.join(ROOT, "scripts", "run.js"))});`,
    ].join("\n");
    const r = spawnSync(process.execPath, ["-e", probe], { cwd: ROOT, encoding: "utf8" });
    expect(r.status).toBe(0);
    return /^SDK (.*)$/m.exec(r.stderr)?.[1];
  };
  test("a staging (ssh) stack loads neither @pulumi/aws nor @pulumi/tls, nor the TypeScript compiler or arborist", () => {
    expect(loaded("check", "staging")).toBe("");
  });
  test("an aws stack loads the AWS SDKs", () => {
    expect(loaded("check", "aws", "--stack-dir", path.join(ROOT, "test", "fixtures"))).toBe("@pulumi/aws,@pulumi/tls");
  });
});

test("the dry run's stand-ins load like modules and refuse every use, naming it", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { refusingExports } = require("../scripts/mockRuntime/dryRunStubs") as typeof import("../scripts/mockRuntime/dryRunStubs");
  const ts = refusingExports("typescript") as Record<string, unknown>;
  expect([ts.__esModule, ts.default, Object.keys(ts)]).toEqual([undefined, undefined, []]);
  expect(() => ts.createSourceFile).toThrow(
    "the offline dry run does not serialize functions, yet typescript.createSourceFile was used (scripts/mockRuntime/dryRunStubs.ts)",
  );
});

test("npm run bench -- alerts sums the suites' lines and keeps the longest detection; a suite that printed none makes ?", async () => {
  const { alertsLine } = await import("../bench/bench");
  const output = [
    "  ✓ a test",
    "alerts: scenarios=8 detected=8 resolved=8 max_detect_s=59.6 duplicates=0 false_alarms=0",
    "  webhook: firing HostDiskFull(firing)",
    "alerts: scenarios=2 detected=2 resolved=1 max_detect_s=84.2 duplicates=1 false_alarms=2",
  ].join("\n");
  expect(alertsLine(output)).toBe("alerts: scenarios=10 detected=10 resolved=9 max_detect_s=84.2 duplicates=1 false_alarms=2");
  expect(alertsLine(output.split("\n").slice(0, 2).join("\n"))).toBe("alerts: scenarios=? detected=? resolved=? max_detect_s=? duplicates=? false_alarms=?");
});

test("npm run bench -- swarm and swarm-ops each end with their own line of the one suite's two", async () => {
  const { lastLine } = await import("../bench/bench");
  const output = ["  ✓ a test", "swarm: nodes=3 requests=10", "swarm-ops: nodes=3 tls=yes", ""].join("\n");
  expect([lastLine(output, "swarm: "), lastLine(output, "swarm-ops: "), lastLine("  ✕ a test\n", "swarm: ")]).toEqual([
    "swarm: nodes=3 requests=10",
    "swarm-ops: nodes=3 tls=yes",
    undefined,
  ]);
});

test("npm run bench -- security makes its line of the suites' lines; a figure none printed is ?", async () => {
  const { securityLine } = await import("../bench/bench");
  const output = [
    "  ✓ a test",
    "tls: issued=yes renewed=yes renew_failed=0 requests=1553 new_cert_served=yes",
    "hardening: hardened=5/5 mongo_cache_fits=yes redis_maxmemory=yes",
    "firewall: closed=2/2 open=2/2 ssh_ok=yes lockout_refused=yes trial_reverted=yes after_restart=yes",
  ].join("\n");
  expect(securityLine(output)).toBe(
    "security: tls_renewed=yes renew_failed=0 firewall_closed=2/2 ssh_ok=yes hardened=5/5 mongo_cache_fits=yes redis_maxmemory=yes",
  );
  expect(securityLine("tls: renewed=no renew_failed=3")).toBe(
    "security: tls_renewed=no renew_failed=3 firewall_closed=? ssh_ok=? hardened=? mongo_cache_fits=? redis_maxmemory=?",
  );
});

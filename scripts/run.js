#!/usr/bin/env node
// Runs a project CLI from its compiled JavaScript in bin/. Loading the SDK through an on-the-fly
// TypeScript loader costs more than the dry run itself, so `npm run check` runs compiled code.
//
//   node scripts/run.js <cli> [args...]             compiles first when a source is newer than bin/
//   node scripts/run.js --prebuilt <cli> [args...]  never compiles: refuses when bin/ is stale
//   node scripts/run.js --build                     compiles the product CLIs now (npm run build)
//
// `pulumi up` runs the deliver CLI with --prebuilt: a deploy must not start the TypeScript compiler
// half-way (two image deliveries run at once), so `npm run up` builds before Pulumi starts.
// The benches (bench/) use the test rigs under test/support, so they compile separately from the
// product CLIs (scripts/): nothing a user's deploy runs is built from test code.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { execFileSync } = require("node:child_process");

const root = path.resolve(__dirname, "..");
const COMMON = ["index.ts", "components", "scripts", "policies", "tsconfig.json", "tsconfig.build.json"];
const TARGETS = {
  product: { tsconfig: "tsconfig.build.json", out: "bin/cli", sources: COMMON, entry: "scripts" },
  bench: { tsconfig: "tsconfig.bench.json", out: "bin/bench", sources: [...COMMON, "bench", "test/support", "tsconfig.bench.json"], entry: "bench" },
};

function newestMtime(p) {
  let st;
  try {
    st = fs.statSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return /\.(ts|json)$/.test(p) ? st.mtimeMs : 0;
  return Math.max(0, ...fs.readdirSync(p).map((e) => newestMtime(path.join(p, e))));
}

function isFresh(t) {
  const stamp = path.join(root, t.out, ".build-stamp");
  const built = fs.existsSync(stamp) ? fs.statSync(stamp).mtimeMs : 0;
  return Math.max(...t.sources.map((s) => newestMtime(path.join(root, s)))) <= built;
}

/** Compiles `t` into a fresh folder and swaps it in: a file left by a moved source never resolves, and a failed build leaves the last good one. */
function build(t) {
  process.stderr.write(`compiling TypeScript (${t.tsconfig})...\n`);
  const out = path.join(root, t.out);
  const next = `${out}.next-${process.pid}`;
  fs.rmSync(next, { recursive: true, force: true });
  execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(root, t.tsconfig), "--outDir", next], { stdio: "inherit", cwd: root });
  fs.writeFileSync(path.join(next, ".build-stamp"), new Date().toISOString() + "\n");
  fs.rmSync(out, { recursive: true, force: true });
  fs.renameSync(next, out);
}

/** Builds `t` unless fresh, one process at a time (CLIs started together wait for the one that builds). */
function ensureBuilt(t) {
  const lock = path.join(root, "bin", `.lock-${path.basename(t.out)}`);
  fs.mkdirSync(path.join(root, "bin"), { recursive: true });
  const deadline = Date.now() + 300000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (e) {
      if (e.code !== "EEXIST") throw e;
      // A lock older than the deadline was left by a killed build.
      if (Date.now() - fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs > 300000) fs.rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`another build holds ${lock}`, { cause: e });
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    if (!isFresh(t)) build(t);
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

const argv = process.argv.slice(2);
if (argv[0] === "--build") {
  ensureBuilt(TARGETS.product);
  process.exit(0);
}
const prebuilt = argv[0] === "--prebuilt";
const [script, ...args] = prebuilt ? argv.slice(1) : argv;
if (!script || !/^[a-z-]+$/.test(script)) {
  process.stderr.write("usage: node scripts/run.js [--prebuilt] <cli> [args...] | --build\n");
  process.exit(2);
}
const target = script === "bench" ? TARGETS.bench : TARGETS.product;
if (!isFresh(target)) {
  if (prebuilt) {
    process.stderr.write(`${script}: the compiled CLIs in bin/ are older than the sources; run \`npm run build\` (npm run up does) and deploy again\n`);
    process.exit(1);
  }
  ensureBuilt(target);
}
const cli = require(path.join(root, target.out, target.entry, `${script}.js`));
// Every CLI answers --help with its usage (exit 0) before it parses or runs anything.
if (args.includes("--help") || args.includes("-h")) {
  process.stdout.write(cli.USAGE || `usage: npm run ${script}\n`);
  process.exit(0);
}
cli.main(args).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    // A wrong option: say so with the usage (exit 2), like the CLIs that parse their own.
    if (e && typeof e.code === "string" && e.code.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`${e.message}\n${cli.USAGE || ""}`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`${script} failed: ${e && e.message ? e.message : e}\n`);
    process.exitCode = 1;
  },
);

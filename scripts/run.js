#!/usr/bin/env node
// Runs a project script from its compiled JavaScript in bin/, compiling first when any TypeScript
// source is newer than the last build. Loading the SDK through an on-the-fly TypeScript loader
// costs more than the dry run itself, so `npm run check` runs compiled code.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { execFileSync } = require("node:child_process");

const root = path.resolve(__dirname, "..");
const stamp = path.join(root, "bin", ".build-stamp");
const SOURCES = ["index.ts", "components", "scripts", "policies", "tsconfig.json", "tsconfig.build.json"];

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

function ensureBuilt() {
  const built = fs.existsSync(stamp) ? fs.statSync(stamp).mtimeMs : 0;
  if (Math.max(...SOURCES.map((s) => newestMtime(path.join(root, s)))) <= built) return;
  process.stderr.write("compiling TypeScript (sources changed since the last build)...\n");
  execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(root, "tsconfig.build.json")], {
    stdio: "inherit",
    cwd: root,
  });
  fs.writeFileSync(stamp, new Date().toISOString() + "\n");
}

const [script, ...args] = process.argv.slice(2);
if (!script || !/^[a-z-]+$/.test(script)) {
  process.stderr.write("usage: node scripts/run.js <script> [args...]\n");
  process.exit(2);
}
ensureBuilt();
const cli = require(path.join(root, "bin", "scripts", `${script}.js`));
// Every CLI answers --help with its usage (exit 0) before it parses or runs anything.
if (args.includes("--help") || args.includes("-h")) {
  process.stdout.write(cli.USAGE || `usage: npm run ${script}\n`);
  process.exit(0);
}
cli
  .main(args)
  .then(
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

#!/usr/bin/env node
// `npm test`: five jest processes at once, each a chain of projects on test hosts of their own
// (COPILOTOS_TEST_HOST=<n>: own namespace, addresses, engine, sshd and deploy user):
// - "e2e", the suites that share test host 0, one after another (its output streams live);
// - the unit tests;
// - the convergence matrix ("converge", host 1), then the host-level alerts ("monitoring-host",
//   host 7 with a small disk of its own);
// - the monitoring's alerts ("monitoring", host 6), then the local stack and the first deploys
//   ("local", host 2), then the recovery onto a new host ("recovery", test hosts 3, 4, 9 and 10);
// - the swarm suite (its own rig: three dockerds in their own namespaces), then the security
//   baseline ("security": ACME renewal and the host firewall, host 5).
// Most of the e2e time is waiting on health checks and request loops, so the processes beside it
// cost it little; the e2e suites, the matrix and the unit tests are the longest links, so the short
// suites follow the others.
// The e2e output streams live; each other process's output is printed as one block when it ends.
// The last line sums them all: "N passed, N failed, N skipped"; before it, every failure's digest.
//
//   node test/support/runSuites.js            both processes
//   node test/support/runSuites.js <args...>  one plain jest run with those args (e.g. a file)
"use strict";
const { spawn } = require("node:child_process");
const path = require("node:path");

const root = path.resolve(__dirname, "..", "..");
const jest = path.join(root, "node_modules", "jest", "bin", "jest.js");
const SUMMARY = /^(\d+) passed, (\d+) failed(?: \((\d+) test files? failed to run\))?, (\d+) skipped$/m;

function run(args, onLine, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [jest, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    let out = "";
    const take = (b) => {
      const s = b.toString();
      out += s;
      if (onLine) onLine(s);
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("close", (code) => resolve({ code: code ?? 1, out }));
  });
}

function summary(name, r) {
  const m = SUMMARY.exec(
    r.out
      .split("\n")
      .filter((l) => SUMMARY.test(l))
      .at(-1) ?? "",
  );
  if (!m) return { passed: 0, failed: 1, skipped: 0, note: `${name}: no test summary (exit ${r.code})` };
  return { passed: Number(m[1]), failed: Number(m[2]) + (r.code !== 0 && Number(m[2]) === 0 ? 1 : 0), skipped: Number(m[4]) };
}

async function main(argv) {
  if (argv.length) {
    const r = await run(argv, (s) => process.stdout.write(s));
    return r.code;
  }
  const started = Date.now();
  const beside = (name, args, env) =>
    run(args, undefined, env).then((r) => {
      process.stdout.write(`\n===== ${name} (${Math.round((Date.now() - started) / 1000)} s) =====\n${r.out}===== end of ${name} =====\n\n`);
      return r;
    });
  // The unit tests: a root-level process that gets the CPU the engines' containers (CPU groups of
  // their own) leave, so about 50 min in CI although 7.5 min alone; alone in their process.
  const side = beside("unit tests", ["--selectProjects", "unit", "--maxWorkers=1"]);
  // The convergence matrix (about 3200 s in CI), then the host alerts' suite (its own small disk).
  const matrix = beside("convergence matrix (test host 1)", ["--selectProjects", "converge", "--runInBand"], { COPILOTOS_TEST_HOST: "1" }).then(async (c) => [
    c,
    await beside("host alerts (test host 7)", ["--selectProjects", "monitoring-host", "--runInBand"], {
      COPILOTOS_TEST_HOST: "7",
      COPILOTOS_TEST_HOST_DISK_MB: "2048",
    }),
  ]);
  // The monitoring's alerts, then the local stack and the first deploys, then the recovery onto a new host.
  const alerts = beside("monitoring and alerts (test host 6)", ["--selectProjects", "monitoring", "--runInBand"], { COPILOTOS_TEST_HOST: "6" }).then(
    async (m) => [
      m,
      await beside("local stack and first deploys (test host 2)", ["--selectProjects", "local", "--runInBand"], { COPILOTOS_TEST_HOST: "2" }),
      await beside("recovery onto a new host (test hosts 3 and 4; the whole stack: 9 and 10)", ["--selectProjects", "recovery", "--runInBand"], {
        COPILOTOS_TEST_HOST: "3",
      }),
    ],
  );
  // The swarm suite (its own rig, the containers in a CPU group of three test hosts' weight; the
  // longest link, 2200 to 3000 s in CI), then the security baseline.
  const swarm = beside("swarm suite", ["--selectProjects", "swarm", "--runInBand"]).then(async (sw) => [
    sw,
    await beside("security baseline (test host 5)", ["--selectProjects", "security", "--runInBand"], { COPILOTOS_TEST_HOST: "5" }),
  ]);
  const e2e = await run(["--selectProjects", "e2e", "--runInBand"], (s) => process.stdout.write(s));
  const [unit, [converge, hostAlerts], [monitoring, local, recovery], [swarmRun, security]] = await Promise.all([side, matrix, alerts, swarm]);
  const others = [unit, local, recovery, security, converge, monitoring, hostAlerts, swarmRun];
  const parts = [
    summary("e2e", e2e),
    summary("unit", unit),
    summary("swarm", swarmRun),
    summary("local", local),
    summary("recovery", recovery),
    summary("security", security),
    summary("converge", converge),
    summary("monitoring", monitoring),
    summary("host alerts", hostAlerts),
  ];
  // Each process's failure digest (test/support/summaryReporter.js) again, last: the end of the output says why.
  const failures = [e2e, ...others].flatMap((r) => r.out.split("\n").filter((l) => l.startsWith("failed: ")));
  if (failures.length) process.stdout.write(`\n${failures.join("\n")}\n`);
  for (const p of parts) if (p.note) process.stdout.write(`${p.note}\n`);
  const sum = (k) => parts.reduce((n, p) => n + p[k], 0);
  process.stdout.write(
    `\ntest time: ${Math.round((Date.now() - started) / 1000)} s\n${sum("passed")} passed, ${sum("failed")} failed, ${sum("skipped")} skipped\n`,
  );
  return [e2e, ...others].every((r) => r.code === 0) ? 0 : 1;
}

main(process.argv.slice(2)).then((code) => process.exit(code));

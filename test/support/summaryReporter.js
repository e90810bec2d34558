// Prints one plain closing line, "N passed, N failed, N skipped", so a run that executed no test is
// visible. A test file that failed to run counts as one failure: its tests never ran.
// Before it, a short digest of each failure ("failed: " lines: where it failed and the first lines of
// its message), so the end of a long run's output says why it failed; runSuites.js repeats every
// process's digest at the very end of `npm test`.
const path = require("node:path");

/** Failures digested per run, and lines kept of each one's message. */
const MAX_FAILURES = 6;
// Ten: a load test's failure shows its first failed requests and the proxy's side of them.
const MAX_LINES = 10;
const WIDTH = 200;
// The colour codes jest puts in failure messages.
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

const clip = (s) => (s.length > WIDTH ? `${s.slice(0, WIDTH - 1)}…` : s);

/** `failed: ` lines for one failed test: its file and line in that file, its title, the message's first lines. */
function digest(file, title, message, root) {
  const lines = message.replace(ANSI, "").split("\n");
  const rel = path.relative(root, file);
  const frame = lines.map((l) => l.match(/\(([^()]+):(\d+):\d+\)$/) || l.match(/at ([^ ()]+):(\d+):\d+$/)).find((m) => m && path.resolve(root, m[1]) === file);
  // An assertion's first line, then what differed (a diff's changed lines, or Expected/Received); another error's first lines.
  const body = lines.filter((l) => l.trim() && !/^\s+at /.test(l));
  const differing = body.slice(1).filter((l) => /^\s*(Expected|Received)\b/.test(l) || (/^[-+] /.test(l) && !/^(- Expected|\+ Received) /.test(l)));
  const text = (/expect\(/.test(body[0] ?? "") ? [...body.slice(0, 1), ...differing] : body).slice(0, MAX_LINES);
  return [`failed: ${clip(`${rel}${frame ? `:${frame[2]}` : ""} › ${title}`)}`, ...text.map((l) => `failed:   ${clip(l.trim())}`)];
}

function failureDigest(results, root) {
  const failures = results.testResults.flatMap((file) => [
    ...(file.testExecError ? [[file.testFilePath, "the test file failed to run", file.testExecError.message || String(file.testExecError)]] : []),
    ...file.testResults.filter((t) => t.status === "failed").map((t) => [file.testFilePath, t.fullName || t.title, t.failureMessages.join("\n")]),
  ]);
  const shown = failures.slice(0, MAX_FAILURES).flatMap(([file, title, message]) => digest(file, title, message, root));
  if (failures.length > MAX_FAILURES) shown.push(`failed: … and ${failures.length - MAX_FAILURES} more (above)`);
  return shown;
}

class SummaryReporter {
  constructor(globalConfig) {
    this.root = globalConfig.rootDir;
  }

  onRunComplete(_contexts, results) {
    const { numPassedTests: passed, numFailedTests: failedTests, numPendingTests: skipped, numRuntimeErrorTestSuites: brokenFiles } = results;
    const failed = failedTests + brokenFiles;
    const note = brokenFiles ? ` (${brokenFiles} test file${brokenFiles === 1 ? "" : "s"} failed to run)` : "";
    const lines = failed ? failureDigest(results, this.root) : [];
    process.stdout.write(`${lines.length ? `\n${lines.join("\n")}\n` : ""}\n${passed} passed, ${failed} failed${note}, ${skipped} skipped\n`);
  }
}
module.exports = SummaryReporter;
module.exports.failureDigest = failureDigest;

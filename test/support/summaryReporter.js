// Prints one plain closing line, "N passed, N failed, N skipped", so a run that executed no test is
// visible. A test file that failed to run counts as one failure: its tests never ran.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const { numPassedTests: passed, numFailedTests: failedTests, numPendingTests: skipped, numRuntimeErrorTestSuites: brokenFiles } = results;
    const failed = failedTests + brokenFiles;
    const note = brokenFiles ? ` (${brokenFiles} test file${brokenFiles === 1 ? "" : "s"} failed to run)` : "";
    process.stdout.write(`\n${passed} passed, ${failed} failed${note}, ${skipped} skipped\n`);
  }
}
module.exports = SummaryReporter;

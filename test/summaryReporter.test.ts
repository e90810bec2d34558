/**
 * The failure digest the test reporter prints before its closing line (and runSuites.js repeats at
 * the end of `npm test`): where each failure is, and what differed, in a few lines.
 */
import * as path from "node:path";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { failureDigest } = require("./support/summaryReporter.js") as {
  failureDigest: (results: unknown, root: string) => string[];
};

const ROOT = "/repo";
const FILE = path.join(ROOT, "test/e2e/swarm.test.ts");
const ESC = String.fromCharCode(27);
const frame = (line: number) => `    at Object.<anonymous> (${FILE}:${line}:45)`;
const failed = (title: string, message: string) => ({ status: "failed", fullName: title, title, failureMessages: [message] });
const results = (tests: object[], testExecError?: object) => ({ testResults: [{ testFilePath: FILE, testExecError, testResults: tests }] });

test("an assertion: the file and line of the test, its title, the matcher and only the lines that differed (colours removed)", () => {
  const message = [
    `${ESC}[2mexpect(${ESC}[22m${ESC}[31mreceived${ESC}[39m${ESC}[2m).toEqual(${ESC}[22m${ESC}[32mexpected${ESC}[39m${ESC}[2m) // deep equality${ESC}[22m`,
    "",
    "- Expected  - 1",
    "+ Received  + 1",
    "",
    "  Array [",
    '    "node-1",',
    '-   "node-2",',
    '+   "node-3",',
    "  ]",
    "    at Object.toEqual (node_modules/expect/build/index.js:1:1)",
    frame(119),
  ].join("\n");
  expect(failureDigest(results([{ status: "passed", title: "ok", failureMessages: [] }, failed("the graph converges", message)]), ROOT)).toEqual([
    "failed: test/e2e/swarm.test.ts:119 › the graph converges",
    "failed:   expect(received).toEqual(expected) // deep equality",
    'failed:   -   "node-2",',
    'failed:   +   "node-3",',
  ]);
});

test("toBe: Expected and Received; another error: its first lines; a file that failed to run; at most six, then how many more", () => {
  const toBe = ["Error: expect(received).toBe(expected) // Object.is equality", "", 'Expected: "1 1"', 'Received: "1 0"', frame(598)].join("\n");
  const thrown = ["ApplyError: copilotos-api: service copilotos-swarm-api: the update was rolled back", "second line", frame(540)].join("\n");
  const many = Array.from({ length: 6 }, (_, i) => failed(`t${i}`, `Error: boom ${i}`));
  const digest = failureDigest(results([failed("restore", toBe), failed("rotation", thrown), ...many], { message: "Cannot find module 'x'" }), ROOT);
  expect(digest.slice(0, 10)).toEqual([
    "failed: test/e2e/swarm.test.ts › the test file failed to run",
    "failed:   Cannot find module 'x'",
    "failed: test/e2e/swarm.test.ts:598 › restore",
    "failed:   Error: expect(received).toBe(expected) // Object.is equality",
    'failed:   Expected: "1 1"',
    'failed:   Received: "1 0"',
    "failed: test/e2e/swarm.test.ts:540 › rotation",
    "failed:   ApplyError: copilotos-api: service copilotos-swarm-api: the update was rolled back",
    "failed:   second line",
    "failed: test/e2e/swarm.test.ts › t0",
  ]);
  expect(digest.filter((l) => !l.startsWith("failed:   "))).toHaveLength(7);
  expect(digest.at(-1)).toBe("failed: … and 3 more (above)");
});

test("a failure keeps its first 10 lines: the matcher and 9 that differed", () => {
  const diff = Array.from({ length: 12 }, (_, i) => `+     "sample ${i}",`);
  const message = ["expect(received).toEqual(expected) // deep equality", "", "- Expected  - 0", "+ Received  + 12", "", ...diff, frame(318)].join("\n");
  const digest = failureDigest(results([failed("rolling update", message)]), ROOT);
  expect(digest).toEqual([
    "failed: test/e2e/swarm.test.ts:318 › rolling update",
    "failed:   expect(received).toEqual(expected) // deep equality",
    ...diff.slice(0, 9).map((l) => `failed:   ${l.trim()}`),
  ]);
});

test("a long line is cut at 200 characters", () => {
  const [, line] = failureDigest(results([failed("long", `Error: ${"x".repeat(300)}`)]), ROOT);
  expect([line.length, line.endsWith("…")]).toEqual(["failed:   ".length + 200, true]);
});

/** @type {import('jest').Config} */
const common = { testEnvironment: "node", transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] } };

module.exports = {
  reporters: ["default", "<rootDir>/test/support/summaryReporter.js"],
  testTimeout: 60000,
  projects: [
    // Unit tests: pure renderers, the program under the mock runtime, policies in-process, CLIs
    // offline. No root, no Docker, no test host: `npm run test:unit` runs them on any machine.
    { ...common, displayName: "unit", testMatch: ["<rootDir>/test/*.test.ts"] },
    // Real-engine tests: the test host (a second dockerd behind sshd in a network namespace) is
    // started once for them, and only when one of them runs. They need root and the Debian
    // packages .ci/run installs.
    {
      ...common,
      displayName: "e2e",
      testMatch: ["<rootDir>/test/e2e/**/*.test.ts"],
      testPathIgnorePatterns: [
        "/node_modules/",
        "<rootDir>/test/e2e/swarm\\.test\\.ts$",
        "<rootDir>/test/e2e/converge\\.test\\.ts$",
        "<rootDir>/test/e2e/localStack\\.test\\.ts$",
        "<rootDir>/test/e2e/firstDeploy\\.test\\.ts$",
        "<rootDir>/test/e2e/recovery\\.test\\.ts$",
        "<rootDir>/test/e2e/recoveryStack\\.test\\.ts$",
        "<rootDir>/test/e2e/acme\\.test\\.ts$",
        "<rootDir>/test/e2e/firewall\\.test\\.ts$",
        "<rootDir>/test/e2e/osUpdates\\.test\\.ts$",
        "<rootDir>/test/e2e/monitoring\\.test\\.ts$",
        "<rootDir>/test/e2e/monitoringHost\\.test\\.ts$",
      ],
      globalSetup: "<rootDir>/test/support/globalSetup.ts",
      globalTeardown: "<rootDir>/test/support/globalTeardown.ts",
    },
    // The convergence matrix needs a whole test host for itself, so `npm test` gives it one of its
    // own (COPILOTOS_TEST_HOST=1, test/support/testHost.ts) and runs it beside the e2e suites.
    {
      ...common,
      displayName: "converge",
      testMatch: ["<rootDir>/test/e2e/converge.test.ts"],
      globalSetup: "<rootDir>/test/support/globalSetup.ts",
      globalTeardown: "<rootDir>/test/support/globalTeardown.ts",
    },
    // The local stack (the README's first command) and the first deploy's order fuzz: a third test
    // host (COPILOTOS_TEST_HOST=2), after the unit tests in their process.
    {
      ...common,
      displayName: "local",
      testMatch: ["<rootDir>/test/e2e/localStack.test.ts", "<rootDir>/test/e2e/firstDeploy.test.ts"],
      globalSetup: "<rootDir>/test/support/globalSetup.ts",
      globalTeardown: "<rootDir>/test/support/globalTeardown.ts",
    },
    // Recovery onto a new host: the first host (COPILOTOS_TEST_HOST=3) is wiped, the next one
    // (test host 4, started by the test) is the new host, an SFTP server in its own namespace the target;
    // then the whole stack's recovery by the documented path (test hosts 9 and 10).
    {
      ...common,
      displayName: "recovery",
      testMatch: ["<rootDir>/test/e2e/recovery.test.ts", "<rootDir>/test/e2e/recoveryStack.test.ts"],
      globalSetup: "<rootDir>/test/support/globalSetup.ts",
      globalTeardown: "<rootDir>/test/support/globalTeardown.ts",
    },
    // The security baseline on a host of its own (COPILOTOS_TEST_HOST=5): a certificate from pebble
    // renewed under load, and the host firewall (which restarts that host's engine).
    {
      ...common,
      displayName: "security",
      testMatch: ["<rootDir>/test/e2e/acme.test.ts", "<rootDir>/test/e2e/firewall.test.ts", "<rootDir>/test/e2e/osUpdates.test.ts"],
      globalSetup: "<rootDir>/test/support/globalSetup.ts",
      globalTeardown: "<rootDir>/test/support/globalTeardown.ts",
    },
    // The monitoring's alerts, each fault measured to its notification: a test host of its own
    // (COPILOTOS_TEST_HOST=6), beside the others (most of its time is waiting for intervals).
    {
      ...common,
      displayName: "monitoring",
      testMatch: ["<rootDir>/test/e2e/monitoring.test.ts"],
      globalSetup: "<rootDir>/test/support/globalSetup.ts",
      globalTeardown: "<rootDir>/test/support/globalTeardown.ts",
    },
    // The host-level alerts (a full disk, a certificate near expiry) on a host whose engine keeps its
    // data on a small file system of its own (COPILOTOS_TEST_HOST=7, COPILOTOS_TEST_HOST_DISK_MB=2048).
    {
      ...common,
      displayName: "monitoring-host",
      testMatch: ["<rootDir>/test/e2e/monitoringHost.test.ts"],
      globalSetup: "<rootDir>/test/support/globalSetup.ts",
      globalTeardown: "<rootDir>/test/support/globalTeardown.ts",
    },
    // The swarm suite brings its own rig (test/support/swarmRig.ts: three dockerds in their own
    // namespaces) and never touches the test host, so `npm test` runs it beside the e2e suites.
    { ...common, displayName: "swarm", testMatch: ["<rootDir>/test/e2e/swarm.test.ts"] },
  ],
};

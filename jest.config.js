/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
  testMatch: ["<rootDir>/test/**/*.test.ts"],
  reporters: ["default", "<rootDir>/test/support/summaryReporter.js"],
  testTimeout: 60000,
};

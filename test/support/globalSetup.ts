import { setupTestHost } from "./testHost";

/** Starts the real-engine test host once per run; tests that need it fail with its reason if it is missing. */
export default async function globalSetup(): Promise<void> {
  const state = await setupTestHost();
  if (!state.ok) process.stderr.write(`\nreal-engine test host unavailable: ${state.reason}\n`);
}

import { teardownTestHost } from "./testHost";

export default async function globalTeardown(): Promise<void> {
  await teardownTestHost();
}

import { teardownTestHost } from "../../scripts/lib/testHost";

export default async function globalTeardown(): Promise<void> {
  await teardownTestHost();
}

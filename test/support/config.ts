/** Raw config for parseConfig tests: a minimal valid one, and the problems a broken one is refused with. */
import { ConfigError, ConfigProblem, parseConfig } from "../../components/config";

/** The smallest config the schema accepts (a 40-character key, pinned app images). */
export const minimalConfig = () => ({ saptivaApiKey: "k".repeat(40), images: { api: "copilotos-api:1.2.3", web: "copilotos-web:1.2.3" } });

/** The problems `raw` is refused with; fails the test when it is accepted or refused otherwise. */
export function problemsOf(raw: Record<string, unknown>): ConfigProblem[] {
  try {
    parseConfig(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error("expected the config to be rejected");
}

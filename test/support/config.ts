/** Raw config for parseConfig tests: a minimal valid one, and the problems a broken one is refused with. */
import { ConfigError, ConfigProblem, parseConfig } from "../../components/config";

/** The smallest config the schema accepts (a 40-character key, pinned app images). */
export const minimalConfig = () => ({ saptivaApiKey: "k".repeat(40), images: { api: "copilotos-api:1.2.3", web: "copilotos-web:1.2.3" } });

/** A raw `host` of kind swarm: a manager node-1 (the data node) and a worker node-2, reached at a pinned key; `extra` overrides. */
export const swarmHost = (extra: Record<string, unknown> = {}) => ({
  kind: "swarm",
  address: "203.0.113.20",
  user: "deploy",
  hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC14sYWFiDHgTKJ0Qp2N7SZUdlgOt/qxwjm5T3A8C1kT",
  nodes: [{ name: "node-1", role: "manager" }, { name: "node-2" }],
  dataNode: "node-1",
  ...extra,
});

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

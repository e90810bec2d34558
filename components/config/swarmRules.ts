/**
 * What the swarm target refuses in the rest of the config (docs/swarm.md): each by its key, never
 * ignored. Backups and a password change run on the data node through the manager `host.address`
 * reaches, so both need the data node to be a manager.
 */
import type { z } from "zod";
import { dataNodeRole, type swarmHost } from "./host";

/** The parts of the parsed config the rules read. */
export interface SwarmRuleInput {
  host: z.output<typeof swarmHost>;
  delivery: { mode: string };
  tls?: { acme?: unknown };
  adopt?: unknown;
  api: { migrate?: string[] };
  backup: { enabled: boolean };
  mongo: { rotate?: string };
  ports: { mongo?: number; redis?: number };
}

const ON_THE_MANAGER = "reached at host.address (make it a manager and point host.address at it)";

export function swarmIssues(cfg: SwarmRuleInput): { path: string[]; message: string }[] {
  const host = cfg.host;
  const dataOnWorker = dataNodeRole(host) === "worker";
  const rules: [string[], boolean, string][] = [
    [["delivery", "mode"], cfg.delivery.mode !== "registry", 'must be "registry" on a swarm (every node pulls by digest)'],
    [
      ["tls", "acme"],
      cfg.tls?.acme !== undefined,
      "is not supported on a swarm (the renewal runs on one host): set tls.certificate and tls.key, which every edge proxy serves",
    ],
    [["adopt"], cfg.adopt !== undefined, "is not supported on a swarm (adopt onto one host first)"],
    [
      ["api", "migrate"],
      cfg.api.migrate !== undefined && /[\s'"\\]/.test(cfg.api.migrate[0] ?? ""),
      "must start with a program name without spaces, quotes or backslashes on a swarm (docker service create splits the job's --entrypoint like a shell)",
    ],
    [
      ["host", "dataNode"],
      cfg.backup.enabled && dataOnWorker,
      `must be a manager while backups are on: a swarm's backups run on the data node, ${ON_THE_MANAGER}, or set backup.enabled false`,
    ],
    [
      ["mongo", "rotate"],
      cfg.mongo.rotate !== undefined && dataOnWorker,
      `needs host.dataNode to be a manager: the password is changed inside Mongo's task on the data node, ${ON_THE_MANAGER}`,
    ],
    [["ports", "mongo"], cfg.ports.mongo !== undefined, "is not supported on a swarm (Mongo is reached on the overlay network only)"],
    [["ports", "redis"], cfg.ports.redis !== undefined, "is not supported on a swarm (Redis is reached on the overlay network only)"],
  ];
  return rules.filter(([, bad]) => bad).map(([path, , message]) => ({ path, message }));
}

import { ResourceValidationPolicy } from "@pulumi/policy";
import { serviceOf, validateContainer } from "../lib";

const RESTARTS = ["unless-stopped", "always", "on-failure"];
const DB_PORTS: Record<string, number> = { mongo: 27017, redis: 6379 };

/**
 * Seed 003/004's checklists: health checks, restarts, limits, bounded logs, no privileged, no exposed
 * DBs; and no privileges gained after start (no-new-privileges), every capability dropped but the few
 * a service names (cap_drop ALL), a read-only root. A container that never starts (a files writer) runs
 * nothing and is left out.
 */
export const containersHardened: ResourceValidationPolicy = {
  name: "containers-hardened",
  description:
    "Containers have a health check, a restart policy, a memory limit and log rotation; none is privileged or gains privileges (no-new-privileges), all drop every capability but their own, each runs on a read-only root; database ports are not on 0.0.0.0.",
  configSchema: { properties: {} },
  validateResource: validateContainer((p, args, report) => {
    if (!p.healthcheck?.tests?.length || p.healthcheck.tests[0] === "NONE") report(`${args.name}: no health check.`);
    if (!p.restart || !RESTARTS.includes(p.restart)) report(`${args.name}: restart policy is "${p.restart ?? "no"}"; use unless-stopped.`);
    if (!p.memory || p.memory <= 0) report(`${args.name}: no memory limit.`);
    const driver = p.logDriver ?? "json-file";
    if ((driver === "json-file" || driver === "local") && !p.logOpts?.["max-size"]) report(`${args.name}: ${driver} logs without max-size grow without bound.`);
    if (p.privileged) report(`${args.name}: runs privileged.`);
    if (!p.securityOpts?.some((o) => /^no-new-privileges(:true|=true)?$/.test(o)))
      report(`${args.name}: may gain privileges after start (no security option no-new-privileges).`);
    if (!p.capabilities?.drops?.includes("ALL"))
      report(`${args.name}: keeps Docker's default capabilities; drop ALL and add back only what the service needs.`);
    if (!p.readOnly)
      report(`${args.name}: its root file system is writable; run it read-only (tmpfs for what it writes, its files on volumes a writer fills).`);
    const service = serviceOf(p);
    const dbPort = service ? DB_PORTS[service] : undefined;
    for (const port of p.ports ?? []) {
      if (dbPort !== undefined && port.internal === dbPort && (port.ip ?? "0.0.0.0") === "0.0.0.0") {
        report(`${args.name}: database port ${dbPort} is published on 0.0.0.0:${port.external}; bind it to 127.0.0.1 or leave it unpublished.`);
      }
    }
  }),
};

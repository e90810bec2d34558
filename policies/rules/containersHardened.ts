import { ResourceValidationPolicy } from "@pulumi/policy";
import { serviceOf, validateContainer } from "../lib";

const RESTARTS = ["unless-stopped", "always", "on-failure"];
const DB_PORTS: Record<string, number> = { mongo: 27017, redis: 6379 };

/** Seed 003/004's checklists: health checks, restarts, limits, bounded logs, no privileged, no exposed DBs. */
export const containersHardened: ResourceValidationPolicy = {
  name: "containers-hardened",
  description: "Containers have a health check, a restart policy, a memory limit and log rotation; none is privileged; database ports are not on 0.0.0.0.",
  configSchema: { properties: {} },
  validateResource: validateContainer((p, args, report) => {
    if (!p.healthcheck?.tests?.length || p.healthcheck.tests[0] === "NONE") report(`${args.name}: no health check.`);
    if (!p.restart || !RESTARTS.includes(p.restart)) report(`${args.name}: restart policy is "${p.restart ?? "no"}"; use unless-stopped.`);
    if (!p.memory || p.memory <= 0) report(`${args.name}: no memory limit.`);
    const driver = p.logDriver ?? "json-file";
    if ((driver === "json-file" || driver === "local") && !p.logOpts?.["max-size"]) report(`${args.name}: ${driver} logs without max-size grow without bound.`);
    if (p.privileged) report(`${args.name}: runs privileged.`);
    const service = serviceOf(p);
    const dbPort = service ? DB_PORTS[service] : undefined;
    for (const port of p.ports ?? []) {
      if (dbPort !== undefined && port.internal === dbPort && (port.ip ?? "0.0.0.0") === "0.0.0.0") {
        report(`${args.name}: database port ${dbPort} is published on 0.0.0.0:${port.external}; bind it to 127.0.0.1 or leave it unpublished.`);
      }
    }
  }),
};

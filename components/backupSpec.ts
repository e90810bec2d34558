/**
 * The stack's backup spec from its config: one for `pulumi up`'s backups, the host's schedule and
 * the CLIs (`npm run backup`, `npm run restore`). Pure: no Pulumi, so the CLIs load fast.
 */
import type { ParsedConfig } from "./config";
import type { BackupSpec } from "./renderers/operations/backup";
import { offsiteSpecOf } from "./renderers/operations/offsite";
import { containerName, labelMap, StackIdentity, stackPrefix, volumeName } from "./renderers/names";
import { swarmServiceName } from "./renderers/swarm/services";

export interface BackupSpecInput {
  identity: StackIdentity;
  cfg: Pick<ParsedConfig, "backup" | "images" | "adopt"> & {
    host: { kind: "local" | "ssh" } | { kind: "aws"; region: string } | { kind: "swarm"; dataNode: string };
  };
}

/** Mongo's volume: the stack's own, or the adopted one (config `adopt.volumes.mongo`). */
export const mongoVolumeOf = (i: Pick<BackupSpecInput, "identity" | "cfg">): string => i.cfg.adopt?.volumes.mongo ?? volumeName(i.identity, "mongo");

/** The labels the stack's own Mongo volume carries (components/services/dataVolume.ts); none for an adopted one. */
export const mongoVolumeLabelsOf = (i: Pick<BackupSpecInput, "identity" | "cfg">): Record<string, string> | undefined =>
  i.cfg.adopt ? undefined : labelMap(i.identity, "mongo");

export function backupSpecOf(i: BackupSpecInput): BackupSpec {
  const b = i.cfg.backup;
  const prefix = stackPrefix(i.identity);
  return {
    container: containerName(i.identity, "mongo"),
    volume: mongoVolumeOf(i),
    // While adopting (config `adopt`), the compose project's Mongo is the one locked and archived.
    compose: i.cfg.adopt && { project: i.cfg.adopt.composeProject, service: i.cfg.adopt.services.mongo },
    dir: b.dir,
    prefix: `${prefix}-mongo`,
    keep: b.keep,
    tiers: { daily: b.daily, weekly: b.weekly, monthly: b.monthly },
    image: String(i.cfg.images.mongo),
    offsite: b.enabled ? offsiteSpecOf(b, String(i.cfg.images.restic), prefix, i.cfg.host.kind === "aws" ? i.cfg.host.region : undefined) : undefined,
    // On a swarm, Mongo is its service's task on the data node (the same volume name as on one host).
    swarm: i.cfg.host.kind === "swarm" ? { service: swarmServiceName(i.identity, "mongo"), node: i.cfg.host.dataNode } : undefined,
  };
}

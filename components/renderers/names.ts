/**
 * Names and labels of everything the stack creates on the Docker host. Pure.
 *
 * Every name carries project and stack, so `staging` and `prod` can share one host without the
 * COMPOSE_PROJECT_NAME clash of the post-mortem (`infra-redis` vs `copilotos-prod-redis`).
 */

export interface StackIdentity {
  /** Pulumi project name, e.g. `copilotos`. */
  project: string;
  /** Pulumi stack name, e.g. `staging`. */
  stack: string;
}

import { createHash } from "node:crypto";
import { shq } from "./shell";

export type Service = "mongo" | "redis" | "api" | "web" | "proxy";
/** The app services: stateless, replaced create-before-delete behind the proxy. */
export type AppService = "api" | "web";

export const LABEL_PROJECT = "copilotos.project";
export const LABEL_STACK = "copilotos.stack";
/** `docker ps|service ls` filters for the stack's objects: its project and stack labels, quoted. */
export const stackFilters = (id: StackIdentity): string =>
  `--filter ${shq(`label=${LABEL_PROJECT}=${id.project}`)} --filter ${shq(`label=${LABEL_STACK}=${id.stack}`)}`;
export const LABEL_SERVICE = "copilotos.service";

/** `copilotos-staging`: the stack's prefix and the name of its private network. */
export function stackPrefix(id: StackIdentity): string {
  return `${id.project}-${id.stack}`;
}

/** `copilotos-staging-mongo`. */
export function containerName(id: StackIdentity, service: Service): string {
  return `${stackPrefix(id)}-${service}`;
}

/** JSON with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** Length of the fingerprint in app container names. */
export const FINGERPRINT_LENGTH = 8;

/** First {@link FINGERPRINT_LENGTH} hex digits of the sha256 of a value's canonical JSON. */
export function fingerprint(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex").slice(0, FINGERPRINT_LENGTH);
}

/**
 * `copilotos-staging-api-1a2b3c4d`: an app container's name ends in 8 hex digits drawn anew
 * whenever its spec changes (components/services/appContainer.ts), so a replacement never has the
 * name of a container that may still run: not its predecessor's, and not that of one an earlier
 * failed update left for deletion (going back to a spec gets a new name, not the old one's).
 */
export function appContainerName(id: StackIdentity, service: AppService, suffix: string): string {
  if (!/^[0-9a-f]{8}$/.test(suffix)) throw new Error(`an app container's suffix is 8 hex digits, not ${JSON.stringify(suffix)}`);
  return `${containerName(id, service)}-${suffix}`;
}

/** `copilotos-staging-mongo-data`. */
export function volumeName(id: StackIdentity, service: Service): string {
  return `${stackPrefix(id)}-${service}-data`;
}

/** `copilotos-staging-proxy-routes`: the proxy's route files, kept when the proxy is replaced. */
export function routesVolumeName(id: StackIdentity): string {
  return `${stackPrefix(id)}-proxy-routes`;
}

/** The labels every container, volume and network of the stack carries. */
export function labelMap(id: StackIdentity, service?: Service): Record<string, string> {
  return {
    [LABEL_PROJECT]: id.project,
    [LABEL_STACK]: id.stack,
    ...(service ? { [LABEL_SERVICE]: service } : {}),
  };
}

/** Labels in the `[{ label, value }]` shape the Docker provider takes, sorted by label. */
export function dockerLabels(labels: Record<string, string>): { label: string; value: string }[] {
  return Object.keys(labels)
    .sort()
    .map((label) => ({ label, value: labels[label] }));
}

/** Labels as the docker CLI's `--label k=v` words, in the map's order. */
export const labelFlags = (labels: Record<string, string>): string[] => Object.entries(labels).flatMap(([k, v]) => ["--label", `${k}=${v}`]);

/** Backup file names a stack writes: `<prefix>-YYYYMMDDTHHMMSSZ.tar` (an extended regular expression). */
export const backupNamePattern = (prefix: string) => `^${prefix.replace(/[.]/g, "\\.")}-[0-9]{8}T[0-9]{6}Z\\.tar$`;

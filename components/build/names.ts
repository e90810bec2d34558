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

export type Service = "mongo" | "redis" | "api" | "web";

export const LABEL_PROJECT = "copilotos.project";
export const LABEL_STACK = "copilotos.stack";
export const LABEL_SERVICE = "copilotos.service";

/** `copilotos-staging`: the stack's prefix and the name of its private network. */
export function stackPrefix(id: StackIdentity): string {
  return `${id.project}-${id.stack}`;
}

/** `copilotos-staging-mongo`. */
export function containerName(id: StackIdentity, service: Service): string {
  return `${stackPrefix(id)}-${service}`;
}

/** `copilotos-staging-mongo-data`. */
export function volumeName(id: StackIdentity, service: Service): string {
  return `${stackPrefix(id)}-${service}-data`;
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

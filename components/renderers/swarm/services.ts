/**
 * The stack on a Docker Swarm, as plain docker.Service arguments: one builder for every service,
 * exact and pure (tests compare whole objects), generic over how values arrive (`T` is a string in
 * tests, a Pulumi Input in the program).
 *
 * Choices, each for a measured reason:
 * - `endpoint_mode: dnsrr` everywhere: the service name resolves to its tasks' addresses. It works
 *   with or without IPVS (which swarm's VIPs and ingress mesh need, and some kernels lack).
 * - The proxy runs on every edge node (global mode) and publishes the app ports in host mode, on
 *   that node only; it re-resolves the app services every few seconds (nginx's resolver with a
 *   short `valid`), so it follows tasks as they come and go.
 * - API and web update start-first and roll back on failure (`failure_action: rollback`); their
 *   health check is the app's readiness, so a never-ready image never takes traffic.
 * - Mongo and Redis are single tasks pinned to the data node, on local named volumes there, and
 *   update stop-first: two mongods must never open one volume.
 */
import { createHash } from "node:crypto";
import { ALIASES, CAPABILITIES, DEFAULT_LOGS, healthcheckOf, Limits, LogSettings, logOptions, SCRATCH, TMPFS } from "../services/containers";
import { dockerLabels, labelMap, Service, StackIdentity, stackPrefix, volumeName } from "../names";
import { engineAnswers, lines, shq, STRICT } from "../shell";

/** Node label the proxy's placement follows: the edge nodes carry `copilotos.edge=true`. */
export const EDGE_LABEL = "copilotos.edge";

/** The label the swarm puts on each task's container: its service's name. */
export const SWARM_SERVICE_LABEL = "com.docker.swarm.service.name";
/** A command printing the ID of a running task of swarm service `service` on this node (none: nothing). */
export const localTask = (service: string): string => `docker ps -q --filter ${shq(`label=${SWARM_SERVICE_LABEL}=${service}`)} | head -n 1`;

/** The swarm service of one of the stack's services: `copilotos-<stack>-<service>`. */
export const swarmServiceName = (id: StackIdentity, service: Service) => `${stackPrefix(id)}-${service}`;

/**
 * A Docker secret's name: the stack, the file the app reads it from, and 12 hex digits of the
 * value's sha256. Docker secrets are immutable, so a new value is a new secret, and every service
 * that reads it is updated to the new name (the old one goes only after that: a rollback still has it).
 */
export function swarmSecretName(id: StackIdentity, file: string, value: string): string {
  return `${stackPrefix(id)}-${file}-${createHash("sha256").update(value).digest("hex").slice(0, 12)}`;
}

/** A secret a task reads: from which Docker secret, as which file under /run/secrets. */
export interface SecretRef<T> {
  file: string;
  secretId: T;
  secretName: T;
  /** The file's mode in the task (owned by root). @default 0o444 */
  mode?: number;
}

export interface SwarmServiceParts<T> {
  identity: StackIdentity;
  service: Service;
  image: T;
  /** The stack's overlay network. */
  network: T;
  limits: Limits;
  logs?: LogSettings;
  env?: Record<string, T | string>;
  secrets?: SecretRef<T>[];
  /** API/web tasks; the data services and the proxy ignore it. @default 1 */
  replicas?: number;
  /** The API's port inside its tasks (config `api.containerPort`). @default SERVICE_PORTS.api */
  apiPort?: number;
  /** Node hostname of the data services. */
  dataNode: string;
  /** Seconds a new task is watched before the update goes on. */
  monitorSeconds: number;
  /** The proxy's published ports: in-container port → host port, on each edge node. @default none */
  hostPorts?: { target: number; published: number }[];
  /** The container's command, when not the image's. @default the image's */
  command?: string[];
}

const DATA: Service[] = ["mongo", "redis"];
const MOUNTS: Partial<Record<Service, string>> = { mongo: "/data/db", redis: "/data" };

/** What a stop-first or start-first update does, and how a failed one rolls back. */
export function updates(service: Service | "monitoring", monitorSeconds: number) {
  // Data services and the monitoring's: never two tasks on one volume. The proxy: never two on one node's host ports.
  const order = service === "api" || service === "web" ? "start-first" : "stop-first";
  const monitor = `${monitorSeconds}s`;
  return {
    updateConfig: { parallelism: 1, delay: "5s", order, failureAction: "rollback", monitor, maxFailureRatio: "0" },
    rollbackConfig: { parallelism: 1, delay: "0s", order, failureAction: "pause", monitor, maxFailureRatio: "0" },
  };
}

/** One service's docker.Service arguments. */
export function swarmService<T>(p: SwarmServiceParts<T>) {
  const h = healthcheckOf(p.service, p.apiPort);
  const logs = p.logs ?? DEFAULT_LOGS;
  const mount = MOUNTS[p.service];
  const constraints = DATA.includes(p.service) ? [`node.hostname == ${p.dataNode}`] : p.service === "proxy" ? [`node.labels.${EDGE_LABEL} == true`] : [];
  return {
    name: swarmServiceName(p.identity, p.service),
    labels: dockerLabels(labelMap(p.identity, p.service)),
    mode: p.service === "proxy" ? { global: true } : { replicated: { replicas: p.service === "api" || p.service === "web" ? (p.replicas ?? 1) : 1 } },
    taskSpec: {
      containerSpec: {
        image: p.image,
        ...(p.command ? { commands: p.command } : {}),
        env: p.env ?? {},
        labels: dockerLabels(labelMap(p.identity, p.service)),
        healthcheck: { tests: [...h.tests], interval: h.interval, timeout: h.timeout, retries: h.retries, startPeriod: h.startPeriod },
        secrets: (p.secrets ?? []).map((s) => ({ secretId: s.secretId, secretName: s.secretName, fileName: s.file, fileMode: s.mode ?? 0o444 })),
        // A read-only root, as on one host: here every service's files arrive as Docker secrets and
        // configs (mounts of their own), so none needs a writable root; memory or disk for what it writes.
        readOnly: true,
        mounts: [
          ...(mount ? [{ type: "volume", source: volumeName(p.identity, p.service), target: mount }] : []),
          // The task's own volumes, removed with its container (as Swarm removes it: with its volumes).
          ...SCRATCH[p.service].map((target) => ({ type: "volume", target })),
          ...TMPFS[p.service].map((t) => ({
            type: "tmpfs",
            target: t.path,
            tmpfsOptions: { sizeBytes: t.sizeMb * 1024 * 1024, ...(t.mode === undefined ? {} : { mode: t.mode }) },
          })),
        ],
        stopGracePeriod: DATA.includes(p.service) ? "60s" : "15s",
        // As on one host: every capability dropped but the service's own.
        capDrops: ["ALL"],
        capAdds: [...CAPABILITIES[p.service]],
      },
      networksAdvanceds: [{ name: p.network, aliases: p.service in ALIASES ? [ALIASES[p.service as keyof typeof ALIASES]] : [] }],
      placement: { constraints },
      resources: { limits: { memoryBytes: p.limits.memoryMb * 1024 * 1024, nanoCpus: Math.round(p.limits.cpus * 1e9) } },
      restartPolicy: { condition: "any", delay: "5s", window: "30s" },
      logDriver: { name: logs.driver, options: logOptions(logs) },
    },
    endpointSpec: {
      mode: "dnsrr",
      ports: (p.hostPorts ?? []).map((port) => ({ targetPort: port.target, publishedPort: port.published, publishMode: "host", protocol: "tcp" })),
    },
    ...updates(p.service, p.monitorSeconds),
  };
}

/** Redis's config (with `requirepass`) as a Docker secret file; Redis is started with it. */
export const REDIS_SECRET_CONF = "redis_conf";

/** A node as the config names it (components/config/host.ts). */
export interface SwarmNode {
  name: string;
  role: "manager" | "worker";
  edge: boolean;
  labels: Record<string, string>;
}

/**
 * Run on the manager before any service: checks it is a manager of a swarm that has every named
 * node, then sets each node's labels (the edge label the proxy's placement follows, and the
 * configured ones). Roles are checked, never changed: promoting a node is the operator's call.
 */
export function nodeLabelScript(id: StackIdentity, nodes: SwarmNode[]): string {
  return lines(
    STRICT,
    engineAnswers("swarm"),
    `[ "$(docker info --format '{{.Swarm.ControlAvailable}}')" = true ] || { echo ${shq(`swarm: this engine is not a swarm manager; host.address must name a manager of the swarm (docker swarm init, then docker swarm join on the others)`)} >&2; exit 1; }`,
    ...nodes.flatMap((n) => {
      const role = n.role === "manager" ? "manager" : "worker";
      const adds = Object.entries({ ...n.labels, [EDGE_LABEL]: String(n.edge) })
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `--label-add ${shq(`${k}=${v}`)}`)
        .join(" ");
      return [
        `role=$(docker node inspect --format '{{.Spec.Role}}' ${shq(n.name)} 2>/dev/null) || { echo ${shq(`swarm: no node ${n.name} in this swarm (docker node ls); host.nodes names each node by its hostname`)} >&2; exit 1; }`,
        `[ "$role" = ${role} ] || { echo "swarm: node ${n.name} is a $role, host.nodes says ${role}" >&2; exit 1; }`,
        `docker node update ${adds} ${shq(n.name)} >/dev/null`,
        `echo ${shq(`swarm: ${n.name} (${role}) labelled${n.edge ? ", edge" : ""}`)}`,
      ];
    }),
    `echo ${shq(`swarm: ${nodes.length} node(s) of ${stackPrefix(id)} ready`)}`,
  );
}

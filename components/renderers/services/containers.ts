/**
 * Container settings shared by every service, and each service's env list, secret files and health
 * check. Pure: exact values, no I/O, no Pulumi. Values may be plain or Pulumi inputs (`T`), so the
 * components pass secret outputs through unchanged.
 */

import { containerName, dockerLabels, labelMap, Service, StackIdentity } from "../names";
import { appSecretFile } from "./appContract";
import { PROXY_HEALTH, PROXY_PORTS } from "../proxy";

/** Where secret files are uploaded inside containers (the Docker secrets convention). */
export const SECRETS_DIR = "/run/secrets";
/** Mode of uploaded secret files: readable by the unprivileged user the images drop to, like Docker secrets. */
export const SECRET_FILE_MODE = "0444";
/** Where the Redis config file (which holds `requirepass`) is uploaded. */
export const REDIS_CONF = "/usr/local/etc/redis/redis.conf";

/** In-container ports of the services. */
/** Each service's port inside its container; the API's is the default of config `api.containerPort`. */
export const SERVICE_PORTS = { mongo: 27017, redis: 6379, api: 8001, web: 3000 } as const;
/**
 * Network aliases the services reach each other by (the seeds' compose service names). The apps
 * have none: during a swap two containers of one app run, so they are reached through the proxy.
 */
export const ALIASES = { mongo: "mongodb", redis: "redis", proxy: "proxy" } as const;

/** The API's readiness: 200 once it can reach and authenticate to Mongo, else 503 (routers/health.py). */
export const API_READY_PATH = "/api/health/ready";
/** Where the web's server side reaches the API: through the stack's proxy (two APIs may run during a swap). */
export const WEB_API_BASE_URL = `http://${ALIASES.proxy}:${PROXY_PORTS.api}`;

export function secretPath(name: string): string {
  return `${SECRETS_DIR}/${name}`;
}

export interface Upload<T> {
  file: string;
  content: T;
  permissions: string;
}

export function secretUpload<T>(name: string, content: T): Upload<T> {
  return { file: secretPath(name), content, permissions: SECRET_FILE_MODE };
}

/** `KEY=value` entries sorted by key: stable order keeps `pulumi preview` diffs quiet. */
export function envList(env: Record<string, string>): string[] {
  return Object.keys(env)
    .sort()
    .map((k) => `${k}=${env[k]}`);
}

export interface Limits {
  memoryMb: number;
  cpus: number;
}

/** The containers' log driver and, for the drivers that keep files on the host, their rotation (config `logs`). */
export interface LogSettings {
  driver: "json-file" | "local" | "journald" | "syslog" | "awslogs" | "none";
  maxSizeMb: number;
  maxFiles: number;
  /** awslogs: the stack's log group and its region (set from the host's config). */
  awslogs?: { group: string; region: string };
}

/** json-file logs, rotated: the default driver grows without bound. */
export const DEFAULT_LOGS: LogSettings = { driver: "json-file", maxSizeMb: 10, maxFiles: 3 };

/**
 * `--log-opt`s: rotation for the file drivers; journald and syslog rotate on the host's side.
 * awslogs: the stack's group, one stream per container (named after it), and non-blocking
 * delivery, so a CloudWatch outage drops log lines (beyond a 4 MiB buffer) instead of stalling the
 * app; `docker logs` still reads the engine's local copy (dual logging).
 */
export function logOptions(l: LogSettings): Record<string, string> {
  if (l.driver === "awslogs") {
    if (!l.awslogs) throw new Error("logs.driver awslogs needs the stack's log group and region");
    return { "awslogs-region": l.awslogs.region, "awslogs-group": l.awslogs.group, tag: "{{.Name}}", mode: "non-blocking", "max-buffer-size": "4m" };
  }
  return l.driver === "json-file" || l.driver === "local" ? { "max-size": `${l.maxSizeMb}m`, "max-file": String(l.maxFiles) } : {};
}

/** The stack's CloudWatch log group (logs.driver awslogs): `/copilotos/<stack>`. */
export const logGroupName = (project: string, stack: string): string => `/${project}/${stack}`;

/** A memory-backed writable folder on a read-only root file system. */
export interface Tmpfs {
  path: string;
  sizeMb: number;
  /** @default the kernel's (1777) */
  mode?: number;
}

/**
 * What each service writes outside its volumes, as memory: the rest of its root is read-only.
 * mongod its socket file (and the official entrypoint its temporary config at first init) in /tmp;
 * Redis nothing (only /data); the web the app's Next.js cache (apps/web's Dockerfile: WORKDIR /app)
 * and /tmp; the proxy its pid and temp files (nginx.conf puts them all in /tmp). The API's /tmp is
 * on disk instead ({@link SCRATCH}).
 */
export const TMPFS: Record<Service, Tmpfs[]> = {
  mongo: [{ path: "/tmp", sizeMb: 64 }],
  redis: [],
  api: [],
  web: [
    { path: "/tmp", sizeMb: 64 },
    { path: "/app/apps/web/.next/cache", sizeMb: 256, mode: 0o1777 },
  ],
  proxy: [{ path: "/tmp", sizeMb: 64 }],
};

/**
 * What a service writes too much of for memory, on disk: an anonymous volume at each path, the
 * container's own (Docker copies the image's folder in, mode 1777 kept, and removes it with the
 * container, as it did the writable root the app was built for). The API keeps uploaded documents in
 * /tmp (the app's FILES_ROOT default, /tmp/copilotos_documents: up to 10 MB each, kept 7 days, reaped
 * above 85% disk use) and writes its reports' and extractions' temporary files there.
 */
export const SCRATCH: Record<Service, string[]> = { mongo: [], redis: [], api: ["/tmp"], web: [], proxy: [] };

/** The provider's volume mounts for a service's {@link SCRATCH} folders: anonymous volumes. */
export const scratchVolumes = (service: Service): { containerPath: string }[] => SCRATCH[service].map((containerPath) => ({ containerPath }));

/** Docker's `--tmpfs` options (the provider's `tmpfs` input): never executable, no setuid. */
export function tmpfsOptions(list: Tmpfs[]): Record<string, string> {
  return Object.fromEntries(list.map((t) => [t.path, `rw,noexec,nosuid,size=${t.sizeMb}m${t.mode === undefined ? "" : `,mode=${t.mode.toString(8)}`}`]));
}

/**
 * Processes (and threads) each container may run: a fork bomb or a thread leak stops at its own
 * limit, not at the host's. mongod runs a thread per connection; the API's uvicorn and the web's
 * Node a few dozen; Redis and nginx a handful.
 */
export const PIDS_LIMITS: Record<Service, number> = { mongo: 2048, redis: 256, api: 1024, web: 1024, proxy: 256 };

/**
 * The Linux capabilities each service keeps; every other is dropped. The official mongo and redis
 * images start as root, chown their data folder (reading into the daemon's own 0700 folders) and drop
 * to their user with gosu: CHOWN, DAC_OVERRIDE, SETGID, SETUID. nginx's master chowns its temp folders
 * and starts its workers as another user: CHOWN, SETGID, SETUID (its ports inside are all above 1024).
 * The app images run as their own users (apps/backend's `USER api_user`, the web's) and need none.
 */
export const CAPABILITIES: Record<Service, readonly string[]> = {
  mongo: ["CHOWN", "DAC_OVERRIDE", "SETGID", "SETUID"],
  redis: ["CHOWN", "DAC_OVERRIDE", "SETGID", "SETUID"],
  proxy: ["CHOWN", "SETGID", "SETUID"],
  api: [],
  web: [],
};

/**
 * Restart policy, log driver and rotation, limits, and the privileges every container gets: none
 * gained after start (`no-new-privileges`: a setuid binary grants nothing), every capability dropped
 * but the service's own ({@link CAPABILITIES}), never privileged.
 */
export function hardening(limits: Limits, logs: LogSettings = DEFAULT_LOGS, service?: Service) {
  return {
    restart: "unless-stopped",
    logDriver: logs.driver,
    logOpts: logOptions(logs),
    memory: limits.memoryMb,
    cpus: String(limits.cpus),
    privileged: false,
    securityOpts: ["no-new-privileges:true"],
    capabilities: { drops: ["ALL"], adds: [...(service ? CAPABILITIES[service] : [])] },
  };
}

export interface PortBinding {
  internal: number;
  external: number;
  ip: string;
  protocol: "tcp";
}

/** A public port (all interfaces). */
export function publicPort(internal: number, external: number): PortBinding[] {
  return [{ internal, external, ip: "0.0.0.0", protocol: "tcp" }];
}

/** A database port: unpublished unless set, and then on loopback only. */
export function loopbackPort(internal: number, external: number | undefined): PortBinding[] {
  return external === undefined ? [] : [{ internal, external, ip: "127.0.0.1", protocol: "tcp" }];
}

export interface Healthcheck {
  tests: string[];
  interval: string;
  timeout: string;
  retries: number;
  startPeriod: string;
}

function healthcheck(shell: string, startPeriod: string): Healthcheck {
  return { tests: ["CMD-SHELL", shell], interval: "10s", timeout: "5s", retries: 5, startPeriod };
}

/**
 * Readiness, not liveness: `/api/health` answers 200 "degraded" while Mongo refuses the API;
 * `/api/health/ready` answers 503 then. curl is in the app's image (its own check uses it).
 */
export function apiHealthcheck(port: number): Healthcheck {
  return healthcheck(`curl -fsS -o /dev/null --max-time 4 http://127.0.0.1:${port}${API_READY_PATH}`, "40s");
}

export const HEALTHCHECKS = {
  /** `ping` needs no authentication. */
  mongo: healthcheck(`mongosh --quiet --eval "db.adminCommand('ping').ok" | grep -q 1`, "30s"),
  /** The password goes from its secret file into REDISCLI_AUTH: never on a command line. */
  redis: healthcheck(`REDISCLI_AUTH="$(cat ${SECRETS_DIR}/redis_password)" redis-cli ping | grep -q PONG`, "10s"),
  /** On the API's default port (config `api.containerPort`). */
  api: apiHealthcheck(SERVICE_PORTS.api),
  /** The web image's own check (busybox wget in node:alpine). */
  web: healthcheck(`wget -q --spider http://127.0.0.1:${SERVICE_PORTS.web}/`, "40s"),
  proxy: healthcheck(PROXY_HEALTH, "5s"),
} as const;

/** A service's health check; the API's on its port (config `api.containerPort`). */
export const healthcheckOf = (service: Service, apiPort?: number): Healthcheck =>
  service === "api" && apiPort !== undefined ? apiHealthcheck(apiPort) : HEALTHCHECKS[service];

export interface ServiceContainerParts<T> {
  identity: StackIdentity;
  service: Service;
  image: T;
  /** The stack's private network. */
  networkName: T;
  limits: Limits;
  /** Seconds `pulumi up` waits for the container to report healthy before failing. */
  healthTimeoutSeconds: number;
  /** Log driver and rotation (config `logs`). @default DEFAULT_LOGS (json-file, 10 MiB × 3) */
  logs?: LogSettings;
  /** The API's port inside its container (config `api.containerPort`). @default SERVICE_PORTS.api */
  apiPort?: number;
}

/**
 * What every service container has: stack-scoped name and labels, network alias, health check,
 * hardening, and a read-only root with memory for what it writes ({@link TMPFS}); its files come
 * from volumes of their own (components/renderers/services/files.ts).
 */
export function serviceContainer<T>(p: ServiceContainerParts<T>) {
  const tmpfs = TMPFS[p.service];
  return {
    name: containerName(p.identity, p.service),
    image: p.image,
    labels: dockerLabels(labelMap(p.identity, p.service)),
    networksAdvanced: [{ name: p.networkName, aliases: p.service in ALIASES ? [ALIASES[p.service as keyof typeof ALIASES]] : [] }],
    healthcheck: healthcheckOf(p.service, p.apiPort),
    wait: true,
    waitTimeout: p.healthTimeoutSeconds,
    ...hardening(p.limits, p.logs, p.service),
    readOnly: true,
    ...(tmpfs.length ? { tmpfs: tmpfsOptions(tmpfs) } : {}),
  };
}

// --- per service --------------------------------------------------------------------------------

/**
 * Secret file names under /run/secrets. The API's are the names its loader reads
 * (components/renderers/services/appContract.ts); Mongo's is the official image's `*_FILE` convention.
 */
export const SECRET_FILES = {
  mongoRootPassword: "mongo_root_password",
  mongodbPassword: appSecretFile("MONGODB_PASSWORD"),
  redisPassword: appSecretFile("REDIS_PASSWORD"),
  jwtSecretKey: appSecretFile("JWT_SECRET_KEY"),
  secretKey: appSecretFile("SECRET_KEY"),
  saptivaApiKey: appSecretFile("SAPTIVA_API_KEY"),
} as const;

/** Mongo's env: the official image reads `MONGO_INITDB_ROOT_PASSWORD_FILE` (only when the volume is empty). */
export function mongoEnv(p: { user: string; database: string }): string[] {
  return envList({
    MONGO_INITDB_DATABASE: p.database,
    MONGO_INITDB_ROOT_PASSWORD_FILE: secretPath(SECRET_FILES.mongoRootPassword),
    MONGO_INITDB_ROOT_USERNAME: p.user,
  });
}

/**
 * WiredTiger's cache for Mongo's memory limit: MongoDB's own rule (50% of RAM − 1 GiB, at least
 * 0.25 GB) applied to the container's limit, not the host's RAM, so mongod stays inside it instead of
 * the kernel's OOM killer deciding at the limit.
 */
export function wiredTigerCacheGb(memoryMb: number): number {
  return Math.max(0.25, Math.floor(((memoryMb - 1024) / 2 / 1024) * 100) / 100);
}

/** mongod with its cache sized (the official image's entrypoint adds --auth for the root user). */
export const mongoCommand = (cacheGb: number): string[] => ["mongod", "--wiredTigerCacheSizeGB", String(cacheGb)];

/** Redis's `maxmemory` for its limit: 75%, leaving room for the fork of an AOF rewrite and its own overhead. */
export const redisMaxMemoryMb = (memoryMb: number): number => Math.floor(memoryMb * 0.75);

/** What Redis does at `maxmemory` (config `redis.evictionPolicy`). */
export interface RedisMemory {
  maxMemoryMb: number;
  policy: string;
}

/** Redis config: the password lives here, quoted, not on the command line; `maxmemory` and its policy when given. */
export function redisConf(password: string, memory?: RedisMemory): string {
  const quoted = password.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
  const sized = memory ? [`maxmemory ${memory.maxMemoryMb}mb`, `maxmemory-policy ${memory.policy}`] : [];
  return [`requirepass "${quoted}"`, "appendonly yes", "dir /data", ...sized, ""].join("\n");
}

export const REDIS_COMMAND = ["redis-server", REDIS_CONF];

/** Redis's files: its config (with `requirepass`) and the bare password for the health check. */
export function redisUploads<T>(conf: T, password: T): Upload<T>[] {
  return [{ file: REDIS_CONF, content: conf, permissions: SECRET_FILE_MODE }, secretUpload(SECRET_FILES.redisPassword, password)];
}

/** Where the API finds Mongo and Redis: plain parts; the passwords are secret files. */
export interface ApiConnections {
  mongo: { user: string; host: string; port: number; database: string };
  redis: { host: string; port: number };
}

/** The database the root user is defined in (mongod's root users live in `admin`). */
export const MONGO_AUTH_SOURCE = "admin";

/**
 * Whom the API answers: the app's TrustedHostMiddleware refuses (400 "Invalid host header") a Host
 * not in `ALLOWED_HOSTS` (its default: localhost, 127.0.0.1, testserver), and its CORSMiddleware lets
 * only `CORS_ORIGINS` (its default: http://localhost:3000) call it from a browser (core/config.py,
 * main.py). The web page calls the API on its own port: another origin.
 */
export interface ApiAccess {
  allowedHosts: string[];
  corsOrigins: string[];
}

/**
 * The stack's own names: its public address (what browsers send as Host), `proxy` (the web's server
 * side reaches the API at http://proxy:<port>), localhost and 127.0.0.1 (the health check and the
 * gates); the web app's URLs as the origins. Either list `configured` (config `api.allowedHosts`,
 * `api.corsOrigins`) replaces the stack's own.
 */
export function apiAccessOf(publicAddresses: string[], webUrls: string[], configured: Partial<ApiAccess> = {}): ApiAccess {
  return {
    allowedHosts: configured.allowedHosts ?? [...new Set([...publicAddresses, ALIASES.proxy, "localhost", "127.0.0.1"])],
    corsOrigins: configured.corsOrigins ?? [...new Set(webUrls)],
  };
}

/**
 * The API's env, as its loader reads it: connection parts as plain values (it builds
 * `MONGODB_URL` and `REDIS_URL` from them and the secret files), `NODE_ENV=production` (it then
 * refuses to start without its critical secrets). `extra` (config `api.env`) comes last and wins,
 * so a hand-typed `MONGODB_URL` (which the app prefers) is visible to the policy pack.
 */
export function apiEnv(
  p: ApiConnections & {
    extra: Record<string, string>;
    /** @default SERVICE_PORTS.api */ port?: number;
    /** ALLOWED_HOSTS and CORS_ORIGINS, as JSON lists (the app reads JSON or commas). @default the app's own defaults */ access?: ApiAccess;
  },
): string[] {
  return envList({
    ...(p.access ? { ALLOWED_HOSTS: JSON.stringify(p.access.allowedHosts), CORS_ORIGINS: JSON.stringify(p.access.corsOrigins) } : {}),
    MONGODB_AUTH_SOURCE: MONGO_AUTH_SOURCE,
    MONGODB_DATABASE: p.mongo.database,
    MONGODB_HOST: p.mongo.host,
    MONGODB_PORT: String(p.mongo.port),
    MONGODB_USER: p.mongo.user,
    NODE_ENV: "production",
    PORT: String(p.port ?? SERVICE_PORTS.api),
    REDIS_DB: "0",
    REDIS_HOST: p.redis.host,
    REDIS_PORT: String(p.redis.port),
    ...p.extra,
  });
}

export interface ApiSecrets<T> {
  mongodbPassword: T;
  redisPassword: T;
  jwtSecretKey: T;
  secretKey: T;
  /** Unset: no `saptiva_api_key` file (the app reads the key as optional). */
  saptivaApiKey?: T;
}

/** The API's secrets as Docker-secret files with the names its loader reads. */
export function apiUploads<T>(s: ApiSecrets<T>): Upload<T>[] {
  return [
    secretUpload(SECRET_FILES.jwtSecretKey, s.jwtSecretKey),
    secretUpload(SECRET_FILES.mongodbPassword, s.mongodbPassword),
    secretUpload(SECRET_FILES.redisPassword, s.redisPassword),
    ...(s.saptivaApiKey === undefined ? [] : [secretUpload(SECRET_FILES.saptivaApiKey, s.saptivaApiKey)]),
    secretUpload(SECRET_FILES.secretKey, s.secretKey),
  ];
}

/** The web app's env: the API through the proxy on the stack network; `extra` (config `web.env`) wins. */
export function webEnv(p: { extra: Record<string, string> }): string[] {
  return envList({
    API_BASE_URL: WEB_API_BASE_URL,
    NODE_ENV: "production",
    PORT: String(SERVICE_PORTS.web),
    ...p.extra,
  });
}

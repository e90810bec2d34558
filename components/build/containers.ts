/**
 * Container settings shared by every service, and each service's env list, secret files and health
 * check. Pure: exact values, no I/O, no Pulumi. Values may be plain or Pulumi inputs (`T`), so the
 * components pass secret outputs through unchanged.
 */

import { containerName, dockerLabels, labelMap, Service, StackIdentity } from "./names";
import { PROXY_HEALTH, PROXY_PORTS } from "./proxy";

/** Where secret files are uploaded inside containers (the Docker secrets convention). */
export const SECRETS_DIR = "/run/secrets";
/** Mode of uploaded secret files: readable by the unprivileged user the images drop to, like Docker secrets. */
export const SECRET_FILE_MODE = "0444";
/** Where the Redis config file (which holds `requirepass`) is uploaded. */
export const REDIS_CONF = "/usr/local/etc/redis/redis.conf";

/** In-container ports of the services. */
export const SERVICE_PORTS = { mongo: 27017, redis: 6379, api: 8001, web: 3000 } as const;
/**
 * Network aliases the services reach each other by (the seeds' compose service names). The apps
 * have none: during a swap two containers of one app run, so they are reached through the proxy.
 */
export const ALIASES = { mongo: "mongodb", redis: "redis", proxy: "proxy" } as const;

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

/** json-file logs, rotated: the default driver grows without bound. */
export const LOG_OPTIONS = { "max-size": "10m", "max-file": "3" } as const;

/** Restart policy, log rotation and limits every container gets. */
export function hardening(limits: Limits) {
  return {
    restart: "unless-stopped",
    logDriver: "json-file",
    logOpts: { ...LOG_OPTIONS },
    memory: limits.memoryMb,
    cpus: String(limits.cpus),
    privileged: false,
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

export const HEALTHCHECKS = {
  /** `ping` needs no authentication. */
  mongo: healthcheck(`mongosh --quiet --eval "db.adminCommand('ping').ok" | grep -q 1`, "30s"),
  /** The password goes from its secret file into REDISCLI_AUTH: never on a command line. */
  redis: healthcheck(`REDISCLI_AUTH="$(cat ${SECRETS_DIR}/redis_password)" redis-cli ping | grep -q PONG`, "10s"),
  api: healthcheck(
    `python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${SERVICE_PORTS.api}/api/health', timeout=4)"`,
    "40s",
  ),
  web: healthcheck(
    `node -e "fetch('http://127.0.0.1:${SERVICE_PORTS.web}/').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"`,
    "40s",
  ),
  proxy: healthcheck(PROXY_HEALTH, "5s"),
} as const;

export interface ServiceContainerParts<T> {
  identity: StackIdentity;
  service: Service;
  image: T;
  /** The stack's private network. */
  networkName: T;
  limits: Limits;
  /** Seconds `pulumi up` waits for the container to report healthy before failing. */
  healthTimeoutSeconds: number;
}

/** What every service container has: stack-scoped name and labels, network alias, health check, hardening. */
export function serviceContainer<T>(p: ServiceContainerParts<T>) {
  return {
    name: containerName(p.identity, p.service),
    image: p.image,
    labels: dockerLabels(labelMap(p.identity, p.service)),
    networksAdvanced: [{ name: p.networkName, aliases: p.service in ALIASES ? [ALIASES[p.service as keyof typeof ALIASES]] : [] }],
    healthcheck: HEALTHCHECKS[p.service],
    wait: true,
    waitTimeout: p.healthTimeoutSeconds,
    ...hardening(p.limits),
  };
}

// --- per service --------------------------------------------------------------------------------

/** Secret file names. */
export const SECRET_FILES = {
  mongoRootPassword: "mongo_root_password",
  mongodbUrl: "mongodb_url",
  redisPassword: "redis_password",
  redisUrl: "redis_url",
  jwtSecretKey: "jwt_secret_key",
  secretKey: "secret_key",
  saptivaApiKey: "saptiva_api_key",
} as const;

/** Mongo's env: the official image reads `MONGO_INITDB_ROOT_PASSWORD_FILE` (only when the volume is empty). */
export function mongoEnv(p: { user: string; database: string }): string[] {
  return envList({
    MONGO_INITDB_DATABASE: p.database,
    MONGO_INITDB_ROOT_PASSWORD_FILE: secretPath(SECRET_FILES.mongoRootPassword),
    MONGO_INITDB_ROOT_USERNAME: p.user,
  });
}

/** Redis config: the password lives here, quoted, not on the command line. */
export function redisConf(password: string): string {
  const quoted = password.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
  return [`requirepass "${quoted}"`, "appendonly yes", "dir /data", ""].join("\n");
}

export const REDIS_COMMAND = ["redis-server", REDIS_CONF];

/** Redis's files: its config (with `requirepass`) and the bare password for the health check. */
export function redisUploads<T>(conf: T, password: T): Upload<T>[] {
  return [{ file: REDIS_CONF, content: conf, permissions: SECRET_FILE_MODE }, secretUpload(SECRET_FILES.redisPassword, password)];
}

/**
 * The API's env: every secret is a `*_FILE` path; `extra` (config `api.env`) comes last and wins,
 * so a hand-typed value is visible to the policy pack, which checks it against Mongo.
 */
export function apiEnv(p: { database: string; extra: Record<string, string> }): string[] {
  return envList({
    JWT_SECRET_KEY_FILE: secretPath(SECRET_FILES.jwtSecretKey),
    MONGODB_DATABASE: p.database,
    MONGODB_URL_FILE: secretPath(SECRET_FILES.mongodbUrl),
    PORT: String(SERVICE_PORTS.api),
    REDIS_URL_FILE: secretPath(SECRET_FILES.redisUrl),
    SAPTIVA_API_KEY_FILE: secretPath(SECRET_FILES.saptivaApiKey),
    SECRET_KEY_FILE: secretPath(SECRET_FILES.secretKey),
    ...p.extra,
  });
}

export interface ApiSecrets<T> {
  mongodbUrl: T;
  redisUrl: T;
  jwtSecretKey: T;
  secretKey: T;
  saptivaApiKey: T;
}

export function apiUploads<T>(s: ApiSecrets<T>): Upload<T>[] {
  return [
    secretUpload(SECRET_FILES.jwtSecretKey, s.jwtSecretKey),
    secretUpload(SECRET_FILES.mongodbUrl, s.mongodbUrl),
    secretUpload(SECRET_FILES.redisUrl, s.redisUrl),
    secretUpload(SECRET_FILES.saptivaApiKey, s.saptivaApiKey),
    secretUpload(SECRET_FILES.secretKey, s.secretKey),
  ];
}

/** The web app's env: the API through the proxy on the stack network; `extra` (config `web.env`) wins. */
export function webEnv(p: { extra: Record<string, string> }): string[] {
  return envList({
    API_BASE_URL: `http://${ALIASES.proxy}:${PROXY_PORTS.api}`,
    NODE_ENV: "production",
    PORT: String(SERVICE_PORTS.web),
    ...p.extra,
  });
}

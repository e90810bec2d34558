import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { AppSecretName, appSecretProblem } from "../renderers/services/appContract";
import { logGroupName } from "../renderers/services/containers";
import { ConfigError, toProblems } from "./errors";
import { adoptSchema } from "./adopt";
import { swarmIssues } from "./swarmRules";
import { apiSchema, backupSchema, logsSchema, offsiteCredentialIssues, redisSchema, stateBackendSchema, tlsSchema } from "./sections";
import { hostSchema } from "./host";
import { alertReceiverIssues, monitoringSchema } from "./monitoring";
import { imagesSchema } from "./images";
import { MIN_SECRET_LENGTH, NAMESPACE, NO_SAPTIVA_KEY, SecretKey } from "./keys";
import { headerValue } from "./syntax";
import { bool, envMap, integer, port, text, toNumber } from "./values";

export { ConfigError, type ConfigProblem } from "./errors";
export type { BuildSpec } from "./images";
export { MIN_SECRET_LENGTH, NAMESPACE, NO_SAPTIVA_KEY, SECRET_KEYS, type SecretKey } from "./keys";

const resources = (what: string, memoryMb: number, cpus: number) =>
  z
    .strictObject({
      memoryMb: integer(64, 1024 * 1024, "a whole number of MiB, at least 64")
        .default(memoryMb)
        .describe(`${what} memory limit (MiB)`),
      cpus: z
        .preprocess(toNumber, z.number({ error: "must be a number of CPUs" }).positive({ error: "must be > 0" }).max(256))
        .default(cpus)
        .describe(`${what} CPU limit`),
    })
    .prefault({});

/** A policy a Next.js app runs under (its inline bootstrap scripts need 'unsafe-inline'). */
export const DEFAULT_CSP =
  "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
  "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

// --- the schema --------------------------------------------------------------------------------

export const configSchema = z
  .strictObject({
    host: hostSchema,
    images: imagesSchema,
    delivery: z
      .strictObject({
        mode: z
          .enum(["registry", "transfer"], { error: 'must be "registry" or "transfer"' })
          .default("registry")
          .describe("`registry`: the host pulls, containers run the digest; `transfer`: images go from this machine over SSH"),
        keep: integer(1, 100, "a whole number from 1 to 100")
          .default(5)
          .describe("versions of each app image kept on the host (older ones pruned, never one in use): rollbacks without a pull"),
        compress: bool().default(false).describe("(transfer) gzip the stream"),
      })
      .prefault({}),
    backup: backupSchema,
    proxy: z
      .strictObject({
        contentSecurityPolicy: headerValue()
          .max(4096, { error: "must be at most 4096 characters" })
          .default(DEFAULT_CSP)
          .describe("`Content-Security-Policy` header (default: a policy for a Next.js app, in `components/config/index.ts`)"),
        hsts: bool().default(true).describe("send `Strict-Transport-Security` on HTTPS responses (with `tls`; never over plain HTTP)"),
        apiRateLimitPerSecond: integer(0, 100000, "a whole number from 0 to 100000").default(0).describe("per-client request rate on the API port (`0`: off)"),
        maxBodyMb: integer(1, 10240, "a whole number of MiB from 1 to 10240")
          .default(100)
          .describe("largest request body (uploads) the proxy passes on, in MiB (nginx's own default is 1)"),
        apiReadTimeoutSeconds: integer(10, 86400, "a whole number of seconds from 10 to 86400")
          .default(3600)
          .describe("how long an API response (an SSE chat stream) may stay silent before the proxy closes it; API responses are not buffered"),
        drainSeconds: integer(1, 600, "a whole number of seconds from 1 to 600")
          .default(15)
          .describe("how long a route switch waits for the old workers' requests"),
      })
      .prefault({}),
    preflight: z
      .strictObject({
        minFreeDiskMb: integer(0, 1 << 30, "a whole number of MiB")
          .default(2048)
          .describe("free space (MiB) the Docker root must have"),
      })
      .prefault({}),
    health: z
      .strictObject({
        intervalSeconds: integer(1, 60, "a whole number of seconds from 1 to 60")
          .default(2)
          .describe("poll interval of the health gates (their timeout is `healthTimeoutSeconds`)"),
      })
      .prefault({}),
    ports: z
      .strictObject({
        web: port().default(3000).describe("host port of the web app (published by the proxy on all interfaces)"),
        api: port().default(8001).describe("host port of the API (published by the proxy on all interfaces)"),
        mongo: port().optional().describe("unset: Mongo is not published; set: bound to 127.0.0.1 only"),
        redis: port().optional().describe("unset: Redis is not published; set: bound to 127.0.0.1 only"),
      })
      .prefault({}),
    secretLength: integer(MIN_SECRET_LENGTH, 1024, `a whole number of at least ${MIN_SECRET_LENGTH}`)
      .default(32)
      .describe("length of every generated secret; below 32 is rejected"),
    saptivaApiKey: text()
      .min(1, { error: "must not be empty" })
      .optional()
      .describe(
        "the API's SAPTIVA key (`va-ai-…`/`sk-…`, or at least 32 characters: the app's own check); unset: the API starts without it (the app reads it as optional) and its calls to SAPTIVA fail until one is set",
      ),
    mongoPassword: text()
      .optional()
      .describe("override of the generated Mongo root password (letters, digits, `- _ . ~`: the app puts it into its URL unencoded)"),
    redisPassword: text().optional().describe("override of the generated Redis password (letters, digits, `- _ . ~`, as above)"),
    jwtSecretKey: text().optional().describe("override of the generated JWT signing key"),
    secretKey: text().optional().describe("override of the generated app secret key"),
    offsiteSshKey: text("an OpenSSH private key")
      .optional()
      .describe("backup.offsite.sftp: the private key the host logs in to the SFTP server with (a secret)"),
    offsiteS3AccessKeyId: text().optional().describe("backup.offsite.s3: the access key ID (a secret)"),
    offsiteS3SecretAccessKey: text().optional().describe("backup.offsite.s3: the secret access key (a secret)"),
    offsiteRestPassword: text().optional().describe("backup.offsite.rest with a user: its password (a secret)"),
    alertWebhookUrl: text().optional().describe("monitoring: a webhook every alert is posted to, firing and resolved (a secret: such URLs carry tokens)"),
    alertSlackWebhookUrl: text().optional().describe("monitoring.alerts.slack: the Slack incoming webhook's URL (a secret)"),
    alertSmtpPassword: text().optional().describe("monitoring.alerts.email.username: the SMTP password (a secret)"),
    mongo: z
      .strictObject({
        user: text()
          .max(64, { error: "must be at most 64 characters" })
          .regex(/^[A-Za-z0-9_.-]+$/, { error: "may hold letters, digits, _ . - only" })
          .default("copilotos_user")
          .describe("Mongo root user and the API's `MONGODB_USER` (one value); changing it on existing data is refused"),
        database: text()
          .max(63, { error: "must be at most 63 characters (Mongo's limit)" })
          .regex(/^[A-Za-z0-9_-]+$/, { error: "may hold letters, digits, _ - only" })
          .default("copilotos")
          .describe("the API's database"),
        rotate: text().optional().describe("any new value rotates the generated Mongo password in place"),
        cacheGb: z
          .preprocess(toNumber, z.number({ error: "must be a number of GB" }).min(0.25, { error: "must be at least 0.25 (mongod's minimum)" }))
          .optional()
          .describe("WiredTiger's cache (GB); unset: 50% of (resources.mongo.memoryMb − 1 GiB), at least 0.25"),
      })
      .prefault({}),
    redis: redisSchema,
    api: apiSchema,
    web: z.strictObject({ env: envMap.describe("extra env for the web container (overrides managed variables)") }).prefault({}),
    resources: z
      .strictObject({
        mongo: resources("Mongo", 1024, 1),
        redis: resources("Redis", 512, 0.5),
        api: resources("API", 512, 0.5),
        web: resources("web", 512, 0.5),
      })
      .prefault({}),
    /** Credentials for a private registry the host pulls from (registry mode), e.g. ghcr.io. */
    registry: z
      .strictObject({
        address: text("the registry host, e.g. ghcr.io")
          .regex(/^[A-Za-z0-9.-]+(:\d+)?$/, { error: "must be a registry host name (and port), e.g. ghcr.io" })
          .describe("private registry the host pulls app images from (registry mode), e.g. `ghcr.io`; unset: public images only"),
        username: text("the registry user").describe("registry user"),
        password: text("the registry password or token").describe("registry password or token, given to the Docker provider as a secret"),
      })
      .optional(),
    healthTimeoutSeconds: integer(5, 3600, "a whole number of seconds from 5 to 3600")
      .default(120)
      .describe("how long `up` waits for each container to be healthy"),
    protectData: bool().default(false).describe("also `protect` the data volumes (prod sets `true`)"),
    logs: logsSchema,
    stateBackend: stateBackendSchema,
    tls: tlsSchema,
    monitoring: monitoringSchema,
    adopt: adoptSchema,
  })
  .superRefine((cfg, ctx) => {
    // What the app itself would refuse at start (components/renderers/services/appContract.ts), named by key.
    for (const [key, name] of Object.entries(APP_SECRET_OF_KEY) as [keyof typeof APP_SECRET_OF_KEY, AppSecretName][]) {
      const value = cfg[key];
      const problem = value === undefined ? undefined : appSecretProblem(name, value);
      if (problem) ctx.addIssue({ code: "custom", path: [key], message: `is ${problem}` });
    }
    if (cfg.backup.s3 && cfg.host.kind !== "aws") {
      ctx.addIssue({
        code: "custom",
        path: ["backup", "s3"],
        message: `needs host.kind "aws" (restic writes the stack's bucket with the instance's role); this host is "${cfg.host.kind}"`,
      });
    }
    if (cfg.backup.s3 && cfg.backup.offsite) {
      ctx.addIssue({
        code: "custom",
        path: ["backup", "s3"],
        message:
          "and backup.offsite both name an off-host restic repository, and a stack has one: set backup.s3 to false to keep backup.offsite, or remove backup.offsite",
      });
    }
    if (cfg.logs.driver === "awslogs" && cfg.host.kind !== "aws") {
      ctx.addIssue({
        code: "custom",
        path: ["logs", "driver"],
        message: `awslogs needs host.kind "aws" (the instance's role writes the stack's log group); this host is "${cfg.host.kind}": use journald or syslog and ship the logs from the host`,
      });
    }
    const host = cfg.host;
    if (host.kind === "swarm") for (const { path, message } of swarmIssues({ ...cfg, host })) ctx.addIssue({ code: "custom", path, message });
    // Mongo's password is fixed inside the adopted volume: the stack must use it, not generate one.
    if (cfg.adopt && cfg.mongoPassword === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["mongoPassword"],
        message: "is required with adopt: the adopted volume keeps the password Mongo was initialised with (npm run adopt copies it from the env file)",
      });
    }
    for (const { path, message } of offsiteCredentialIssues(cfg.backup.offsite, cfg)) ctx.addIssue({ code: "custom", path, message });
    for (const { path, message } of alertReceiverIssues(cfg.monitoring, cfg)) ctx.addIssue({ code: "custom", path, message });
    const acmePort = cfg.tls?.acme?.httpPort;
    if (acmePort !== undefined && [cfg.ports.web, cfg.ports.api, cfg.tls?.ports.web, cfg.tls?.ports.api].includes(acmePort))
      ctx.addIssue({
        code: "custom",
        path: ["tls", "acme", "httpPort"],
        message: `is ${acmePort}, a port the stack already publishes; HTTP-01 needs a port of its own (80)`,
      });
    for (const key of ["mongoPassword", "redisPassword", "jwtSecretKey", "secretKey"] as const) {
      const value = cfg[key];
      // An adopted Mongo password is what the volume holds; the app's own minimum still applies (above).
      if (key === "mongoPassword" && cfg.adopt) continue;
      if (value !== undefined && value.length < cfg.secretLength) {
        ctx.addIssue({ code: "custom", path: [key], message: `is shorter than secretLength (${cfg.secretLength} characters)` });
      }
    }
  });

/** Config keys of the secrets the API reads, and the name its loader reads each by. */
const APP_SECRET_OF_KEY = {
  saptivaApiKey: "SAPTIVA_API_KEY",
  mongoPassword: "MONGODB_PASSWORD",
  redisPassword: "REDIS_PASSWORD",
  jwtSecretKey: "JWT_SECRET_KEY",
  secretKey: "SECRET_KEY",
} as const;

export type ParsedConfig = z.output<typeof configSchema>;
export type HostSettings = ParsedConfig["host"];
type RemoteHost = Extract<HostSettings, { kind: "ssh" | "aws" | "swarm" }>;
/** A remote host's settings with its private key as a secret output. */
type WithSecretKey<H> = H extends RemoteHost ? Omit<H, "privateKey"> & { privateKey?: pulumi.Output<string> } : H;

// --- reading -----------------------------------------------------------------------------------

/** Turns `pulumi.runtime.allConfig()`-shaped input into the object the schema reads. */
export function rawFromAllConfig(all: Record<string, string>): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  const prefix = `${NAMESPACE}:`;
  for (const [fullKey, value] of Object.entries(all)) {
    if (!fullKey.startsWith(prefix)) continue;
    const key = fullKey.slice(prefix.length);
    const trimmed = value.trim();
    // Structured values (set with --path or written as YAML maps) arrive as JSON text.
    raw[key] = trimmed.startsWith("{") || trimmed.startsWith("[") ? safeJson(value) : value;
  }
  return raw;
}

function safeJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** Parses raw config; throws {@link ConfigError} naming every bad key. Pure. */
export function parseConfig(raw: Record<string, unknown>): ParsedConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(toProblems(configSchema, result.error, raw));
  return result.data;
}

/** The typed config components are built from; every secret is a Pulumi secret output. */
export type StackConfig = Omit<ParsedConfig, SecretKey | "host" | "registry" | "tls" | "logs"> & {
  project: string;
  stack: string;
  /** With awslogs: the stack's log group and region, from the host ({@link logGroupName}). */
  logs: ParsedConfig["logs"] & { awslogs?: { group: string; region: string } };
  host: WithSecretKey<HostSettings>;
  registry?: Omit<NonNullable<ParsedConfig["registry"]>, "password"> & { password: pulumi.Output<string> };
  /** Unset: the API runs without a SAPTIVA key ({@link NO_SAPTIVA_KEY}). */
  saptivaApiKey?: pulumi.Output<string>;
  /** HTTPS at the proxy: a certificate and its key (a secret), or `acme`. */
  tls?: Omit<NonNullable<ParsedConfig["tls"]>, "key"> & { key?: pulumi.Output<string> };
  /** Whether `api.env` / `web.env` hold a value set with `--secret` (the container's env is then a secret input). */
  secretEnv: { api: boolean; web: boolean };
} & { [K in SecretKey]?: pulumi.Output<string> };

/** Top-level keys that must be set with --secret: the key, the path it is set at, and how. */
const MUST_BE_SECRET = [
  ["tls", "tls.key", `--path --secret ${NAMESPACE}:tls.key "$(cat key.pem)"`],
  ["offsiteSshKey", "offsiteSshKey", `--secret ${NAMESPACE}:offsiteSshKey "$(cat backup_key)"`],
  ["offsiteS3SecretAccessKey", "offsiteS3SecretAccessKey", `--secret ${NAMESPACE}:offsiteS3SecretAccessKey <key>`],
  ["offsiteRestPassword", "offsiteRestPassword", `--secret ${NAMESPACE}:offsiteRestPassword <password>`],
  ["alertWebhookUrl", "alertWebhookUrl", `--secret ${NAMESPACE}:alertWebhookUrl <url>`],
  ["alertSlackWebhookUrl", "alertSlackWebhookUrl", `--secret ${NAMESPACE}:alertSlackWebhookUrl <url>`],
  ["alertSmtpPassword", "alertSmtpPassword", `--secret ${NAMESPACE}:alertSmtpPassword <password>`],
] as const;

/** Wraps the secret fields of a parsed config as Pulumi secrets. */
export function withSecrets(parsed: ParsedConfig, project: string, stack: string, isSecretKey: (key: string) => boolean): StackConfig {
  const secret = (v: string | undefined) => (v === undefined ? undefined : pulumi.secret(v));
  const host: WithSecretKey<HostSettings> = parsed.host.kind === "local" ? parsed.host : { ...parsed.host, privateKey: secret(parsed.host.privateKey) };
  // A key or credential in plain text would sit readable in Pulumi.<stack>.yaml and in every clone of the repo.
  // tls is there with acme too; only its key must be secret.
  const present = (key: (typeof MUST_BE_SECRET)[number][0]) => (key === "tls" ? parsed.tls?.key : parsed[key]) !== undefined;
  const plain = MUST_BE_SECRET.filter(([key]) => present(key) && !isSecretKey(key));
  if (plain.length) {
    throw new ConfigError(
      plain.map(([, path, fix]) => ({
        key: `${NAMESPACE}:${path}`,
        message: "is stored in plain text; a private key or credential must be set as a secret (it is encrypted in the stack's config then)",
        fix: `pulumi config set ${fix}`,
      })),
    );
  }
  return {
    ...parsed,
    project,
    stack,
    host,
    registry: parsed.registry && { ...parsed.registry, password: pulumi.secret(parsed.registry.password) },
    logs:
      parsed.logs.driver === "awslogs" && parsed.host.kind === "aws"
        ? { ...parsed.logs, awslogs: { group: logGroupName(project, stack), region: parsed.host.region } }
        : parsed.logs,
    saptivaApiKey: secret(parsed.saptivaApiKey),
    tls: parsed.tls && { ...parsed.tls, key: secret(parsed.tls.key) },
    secretEnv: { api: isSecretKey("api"), web: isSecretKey("web") },
    mongoPassword: secret(parsed.mongoPassword),
    redisPassword: secret(parsed.redisPassword),
    jwtSecretKey: secret(parsed.jwtSecretKey),
    secretKey: secret(parsed.secretKey),
    offsiteSshKey: secret(parsed.offsiteSshKey),
    offsiteS3AccessKeyId: secret(parsed.offsiteS3AccessKeyId),
    offsiteS3SecretAccessKey: secret(parsed.offsiteS3SecretAccessKey),
    offsiteRestPassword: secret(parsed.offsiteRestPassword),
    alertWebhookUrl: secret(parsed.alertWebhookUrl),
    alertSlackWebhookUrl: secret(parsed.alertSlackWebhookUrl),
    alertSmtpPassword: secret(parsed.alertSmtpPassword),
  };
}

/** Reads, validates and types the whole `copilotos:` config of the running stack, once. */
export function loadConfig(): StackConfig {
  const parsed = parseConfig(rawFromAllConfig(pulumi.runtime.allConfig()));
  if (parsed.saptivaApiKey === undefined) pulumi.log.warn(NO_SAPTIVA_KEY);
  return withSecrets(parsed, pulumi.getProject(), pulumi.getStack(), isRuntimeSecret);
}

/**
 * Whether a top-level key holds a secret (`pulumi config set --path --secret copilotos:api.env.X`
 * marks all of `copilotos:api` secret). The SDK's own check, which its Config class uses; should a
 * later SDK not have it, every such key counts as secret: encrypted state is the safe side.
 */
function isRuntimeSecret(key: string): boolean {
  const check = (pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean }).isConfigSecret;
  return check ? check(`${NAMESPACE}:${key}`) : true;
}

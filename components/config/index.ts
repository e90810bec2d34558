import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { AppSecretName, appSecretProblem } from "../renderers/appContract";
import { ConfigError, toProblems } from "./errors";
import { hostSchema } from "./host";
import { MIN_SECRET_LENGTH, NAMESPACE, SecretKey } from "./keys";
import { bool, envMap, imageRef, integer, port, text, toNumber } from "./values";

export { ConfigError, type ConfigProblem } from "./errors";
export { MIN_SECRET_LENGTH, NAMESPACE, SECRET_KEYS, type SecretKey } from "./keys";

const resources = (memoryMb: number, cpus: number) =>
  z
    .strictObject({
      memoryMb: integer(64, 1024 * 1024, "a whole number of MiB, at least 64").default(memoryMb),
      cpus: z.preprocess(toNumber, z.number({ error: "must be a number of CPUs" }).positive({ error: "must be > 0" }).max(256)).default(cpus),
    })
    .prefault({});

/** A policy a Next.js app runs under (its inline bootstrap scripts need 'unsafe-inline'). */
export const DEFAULT_CSP =
  "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
  "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

// --- the schema --------------------------------------------------------------------------------

/** An app image built from source by the program (instead of a reference). */
const buildSpec = z.strictObject({
  /** Build context folder, relative to the project. */
  context: text("the build context folder"),
  /** Dockerfile path inside the context. */
  dockerfile: text().default("Dockerfile"),
  target: text().optional(),
  args: envMap,
  /** Tag of the built image; unset: the short git SHA of the context. */
  version: text().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, { error: "must be a valid image tag" }).optional(),
  /** Repository of the built image (a registry path in registry mode). */
  repository: text().optional(),
});
export type BuildSpec = z.output<typeof buildSpec>;
const appImage = z.union([imageRef({ pinned: false }), buildSpec], {
  error: "must be an image reference (name:tag) or a build spec ({ context, dockerfile, target, args, version })",
});

export const configSchema = z
  .strictObject({
    host: hostSchema,
    images: z
      .strictObject({
        api: appImage,
        web: appImage,
        mongo: imageRef({ pinned: true }).default("mongo:7"),
        redis: imageRef({ pinned: true }).default("redis:7-alpine"),
        /** The reverse proxy that owns the published ports (nginx). */
        proxy: imageRef({ pinned: true }).default("nginx:1.27-alpine"),
      })
      // Parsed even when absent, so the error names images.api / images.web, not images.
      .prefault({} as { api: string; web: string }),
    delivery: z
      .strictObject({
        /** registry: the host pulls images by digest; transfer: images go from this machine over SSH. */
        mode: z.enum(["registry", "transfer"], { error: 'must be "registry" or "transfer"' }).default("registry"),
        /** Versions of each app image kept on the host (rollback without a registry). */
        keep: integer(1, 100, "a whole number from 1 to 100").default(5),
        /** gzip the transfer stream. */
        compress: bool().default(false),
      })
      .prefault({}),
    backup: z
      .strictObject({
        enabled: bool().default(true),
        /** Folder on the host; `~/` is the SSH user's home. */
        dir: text().default("~/copilotos-backups"),
        keep: integer(1, 1000, "a whole number from 1 to 1000").default(7),
        /** Also upload each verified backup to an S3 bucket the stack creates (aws hosts only). */
        s3: bool().default(false),
      })
      .prefault({}),
    proxy: z
      .strictObject({
        /** Content-Security-Policy sent with every response. */
        contentSecurityPolicy: text().default(DEFAULT_CSP),
        /** Send Strict-Transport-Security (browsers honour it once the site is served over HTTPS). */
        hsts: bool().default(true),
        /** Requests per second per client address on the API port; 0 turns rate limiting off. */
        apiRateLimitPerSecond: integer(0, 100000, "a whole number from 0 to 100000").default(0),
        /** Largest request body (uploads) the proxy passes on, in MiB (seed 004: 100M). */
        maxBodyMb: integer(1, 10240, "a whole number of MiB from 1 to 10240").default(100),
        /** Seconds an API response (an SSE chat stream) may stay silent before the proxy closes it. */
        apiReadTimeoutSeconds: integer(10, 86400, "a whole number of seconds from 10 to 86400").default(3600),
        /** Seconds a switch waits for the proxy's old workers to finish their requests. */
        drainSeconds: integer(1, 600, "a whole number of seconds from 1 to 600").default(15),
      })
      .prefault({}),
    preflight: z.strictObject({ minFreeDiskMb: integer(0, 1 << 30, "a whole number of MiB").default(2048) }).prefault({}),
    health: z.strictObject({ intervalSeconds: integer(1, 60, "a whole number of seconds from 1 to 60").default(2) }).prefault({}),
    ports: z
      .strictObject({
        web: port().default(3000),
        api: port().default(8001),
        mongo: port().optional(),
        redis: port().optional(),
      })
      .prefault({}),
    secretLength: integer(MIN_SECRET_LENGTH, 1024, `a whole number of at least ${MIN_SECRET_LENGTH}`).default(32),
    saptivaApiKey: z.string({ error: "is required: the API cannot start without it" }).min(1, { error: "must not be empty" }),
    mongoPassword: text().optional(),
    redisPassword: text().optional(),
    jwtSecretKey: text().optional(),
    secretKey: text().optional(),
    mongo: z
      .strictObject({
        /** Mongo's root user and the API's MONGODB_USER (one value; the app's and the seeds' default). */
        user: text().regex(/^[A-Za-z0-9_.-]+$/, { error: "may hold letters, digits, _ . - only" }).default("copilotos_user"),
        database: text().regex(/^[A-Za-z0-9_-]+$/, { error: "may hold letters, digits, _ - only" }).default("copilotos"),
        /** Any new value generates a new Mongo password and rotates it in place (no new volume). */
        rotate: text().optional(),
      })
      .prefault({}),
    api: z.strictObject({ env: envMap }).prefault({}),
    web: z.strictObject({ env: envMap }).prefault({}),
    resources: z
      .strictObject({
        mongo: resources(1024, 1),
        redis: resources(512, 0.5),
        api: resources(512, 0.5),
        web: resources(512, 0.5),
      })
      .prefault({}),
    /** Credentials for a private registry the host pulls from (registry mode), e.g. ghcr.io. */
    registry: z
      .strictObject({
        address: text("the registry host, e.g. ghcr.io").regex(/^[A-Za-z0-9.-]+(:\d+)?$/, { error: "must be a registry host name (and port), e.g. ghcr.io" }),
        username: text("the registry user"),
        password: text("the registry password or token"),
      })
      .optional(),
    healthTimeoutSeconds: integer(5, 3600, "a whole number of seconds from 5 to 3600").default(120),
    protectData: bool().default(false),
  })
  .superRefine((cfg, ctx) => {
    // What the app itself would refuse at start (components/renderers/appContract.ts), named by key.
    for (const [key, name] of Object.entries(APP_SECRET_OF_KEY) as [keyof typeof APP_SECRET_OF_KEY, AppSecretName][]) {
      const value = cfg[key];
      const problem = value === undefined ? undefined : appSecretProblem(name, value);
      if (problem) ctx.addIssue({ code: "custom", path: [key], message: `is ${problem}` });
    }
    if (cfg.backup.s3 && cfg.host.kind !== "aws") {
      ctx.addIssue({ code: "custom", path: ["backup", "s3"], message: `needs host.kind "aws" (the upload uses the instance's role); this host is "${cfg.host.kind}"` });
    }
    for (const key of ["mongoPassword", "redisPassword", "jwtSecretKey", "secretKey"] as const) {
      const value = cfg[key];
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
type RemoteHost = Extract<HostSettings, { kind: "ssh" | "aws" }>;
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
  if (!result.success) throw new ConfigError(toProblems(configSchema, result.error));
  return result.data;
}

/** The typed config components are built from; every secret is a Pulumi secret output. */
export type StackConfig = Omit<ParsedConfig, SecretKey | "host" | "registry"> & {
  project: string;
  stack: string;
  host: WithSecretKey<HostSettings>;
  registry?: Omit<NonNullable<ParsedConfig["registry"]>, "password"> & { password: pulumi.Output<string> };
  saptivaApiKey: pulumi.Output<string>;
} & { [K in Exclude<SecretKey, "saptivaApiKey">]?: pulumi.Output<string> };

/** Wraps the secret fields of a parsed config as Pulumi secrets. */
export function withSecrets(parsed: ParsedConfig, project: string, stack: string): StackConfig {
  const secret = (v: string | undefined) => (v === undefined ? undefined : pulumi.secret(v));
  const host: WithSecretKey<HostSettings> =
    parsed.host.kind === "local" ? parsed.host : { ...parsed.host, privateKey: secret(parsed.host.privateKey) };
  return {
    ...parsed,
    project,
    stack,
    host,
    registry: parsed.registry && { ...parsed.registry, password: pulumi.secret(parsed.registry.password) },
    saptivaApiKey: pulumi.secret(parsed.saptivaApiKey),
    mongoPassword: secret(parsed.mongoPassword),
    redisPassword: secret(parsed.redisPassword),
    jwtSecretKey: secret(parsed.jwtSecretKey),
    secretKey: secret(parsed.secretKey),
  };
}

/** Reads, validates and types the whole `copilotos:` config of the running stack, once. */
export function loadConfig(): StackConfig {
  const parsed = parseConfig(rawFromAllConfig(pulumi.runtime.allConfig()));
  return withSecrets(parsed, pulumi.getProject(), pulumi.getStack());
}

/** Config sections of the operations side (backups, the API's extras, logs, the state backend, HTTPS), parsed by the schema in index.ts. */
import { createPrivateKey, KeyObject, X509Certificate } from "node:crypto";
import { z } from "zod";
import { NOT_READ, OffsiteKey } from "./keys";
import { hostPath } from "./syntax";
import { bool, envMap, integer, jsonList, port, text } from "./values";

/** `copilotos:api`: extra env, and the migration command. */
export const apiSchema = z
  .strictObject({
    env: envMap.describe("extra env for the API container (overrides managed variables)"),
    containerPort: port()
      .default(8001)
      .describe(
        "the port the API listens on inside its container: 8001 for the `apps/api` revision the seeds deploy, 8000 for the app's current `apps/backend` (its Dockerfile's uvicorn --port)",
      ),
    allowedHosts: z
      .preprocess(
        jsonList,
        z.array(
          text().regex(/^(\*|(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[?[0-9A-Fa-f:.]+\]?)$/, {
            error: "must be a host name, an address, *.domain or *",
          }),
          { error: "must be a list of host names, e.g. [chat.example.com]" },
        ),
      )
      .optional()
      .describe(
        "the app's `ALLOWED_HOSTS` (it refuses any other Host header); unset: the stack's own names (its public address, `proxy`, localhost, 127.0.0.1)",
      ),
    corsOrigins: z
      .preprocess(
        jsonList,
        z.array(text().regex(/^(\*|https?:\/\/[A-Za-z0-9.:[\]-]+)$/, { error: "must be an origin such as https://chat.example.com, or *" }), {
          error: "must be a list of origins, e.g. [https://chat.example.com]",
        }),
      )
      .optional()
      .describe("the app's `CORS_ORIGINS` (the browser origins that may call the API); unset: the web app's own URL"),
    migrate: z
      .preprocess(
        jsonList,
        z
          .array(text().max(4096, { error: "must be at most 4096 characters" }), { error: "must be a list of words, e.g. [python, -m, scripts.migrate]" })
          .min(1, { error: "must name a command" }),
      )
      .optional()
      .describe("command run in a one-off container of the new API image before it gets traffic (the seeds' `make db-migrate`); a failure stops the update"),
  })
  .prefault({});

/** A cron field: numbers, `*`, ranges, steps and lists (no names: every cron reads these). */
const CRON_FIELD = "[0-9*][0-9*,/-]*";
const CRON = new RegExp(`^${CRON_FIELD}( +${CRON_FIELD}){4}$`);

/** A host name or IP address (no scheme, no port). */
const address = text("a host name or IP address").regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$|^\[?[0-9A-Fa-f:]+\]?$/, { error: "must be a host name or IP address" });

/** `copilotos:backup.offsite`: the restic repository off the host; its credentials are secret keys of their own. */
export const offsiteSchema = z
  .strictObject({
    sftp: z
      .strictObject({
        host: address.describe("the SFTP server's name or address"),
        port: port().default(22).describe("its SSH port"),
        user: text()
          .regex(/^[a-z_][a-z0-9_.-]*$/i, { error: "must be a user name" })
          .describe("the user the host logs in as (an SFTP-only account is enough)"),
        path: text("the repository's folder on the server")
          .regex(/^[A-Za-z0-9_./~-]+$/, { error: "must be a folder path (letters, digits, _ . / ~ -)" })
          .describe("the repository's folder on the server (one per stack)"),
        hostKey: text("the server's host key")
          .regex(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+=*$/, {
            error: "must be the server's public host key, `<type> <base64>` (ssh-keyscan prints it)",
          })
          .describe("the server's host key, `<type> <base64>`: pinned, never learned on first use"),
      })
      .optional()
      .describe("an SFTP server: `user@host:path`, its host key pinned; the private key in the secret `copilotos:offsiteSshKey`"),
    s3: z
      .strictObject({
        endpoint: text()
          .regex(/^https?:\/\/[A-Za-z0-9.:-]+\/?$/, { error: "must be an http(s) endpoint without a path, e.g. https://s3.eu-west-1.amazonaws.com" })
          .default("https://s3.amazonaws.com")
          .describe("the S3 endpoint (AWS's, or an S3-compatible store's)"),
        bucket: text()
          .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { error: "must be an S3 bucket name" })
          .describe("the bucket (made beforehand)"),
        prefix: text()
          .regex(/^[A-Za-z0-9_./-]*$/, { error: "must be a key prefix (letters, digits, _ . / -)" })
          .default("")
          .describe("the repository's key prefix in the bucket (one per stack)"),
      })
      .optional()
      .describe("S3 or an S3-compatible store; the keys in the secrets `copilotos:offsiteS3AccessKeyId` and `copilotos:offsiteS3SecretAccessKey`"),
    rest: z
      .strictObject({
        url: text()
          .regex(/^https?:\/\/[^\s@]+$/, {
            error: "must be an http(s) URL without credentials (the password is the secret copilotos:offsiteRestPassword)",
          })
          .describe("the repository's URL on the REST server"),
        user: text()
          .regex(/^[A-Za-z0-9_.-]+$/, { error: "must be a user name" })
          .optional()
          .describe("the REST server's user (its password: copilotos:offsiteRestPassword)"),
      })
      .optional()
      .describe("restic's REST server; with `user`, the password in the secret `copilotos:offsiteRestPassword`"),
    checkSubset: text()
      .regex(/^([1-9][0-9]?%|100%|[1-9][0-9]*\/[1-9][0-9]*)$/, { error: "must be a share such as 10% or 1/5" })
      .default("10%")
      .describe("share of the repository's data read back and verified after each backup (restic check --read-data-subset)"),
  })
  .refine((o) => [o.sftp, o.s3, o.rest].filter(Boolean).length === 1, { error: "must name exactly one target: sftp, s3 or rest" });

/** The off-host target's credentials that are missing or malformed: each names the key to set and how. */
export function offsiteCredentialIssues(
  o: z.output<typeof offsiteSchema> | undefined,
  keys: Partial<Record<OffsiteKey, string>>,
): { path: string[]; message: string }[] {
  const needs: [boolean, OffsiteKey, string][] = [
    [!!o?.sftp, "offsiteSshKey", 'is required with backup.offsite.sftp: pulumi config set --secret copilotos:offsiteSshKey "$(cat backup_key)"'],
    [!!o?.s3, "offsiteS3AccessKeyId", "is required with backup.offsite.s3: pulumi config set --secret copilotos:offsiteS3AccessKeyId <id>"],
    [!!o?.s3, "offsiteS3SecretAccessKey", "is required with backup.offsite.s3: pulumi config set --secret copilotos:offsiteS3SecretAccessKey <key>"],
    [!!o?.rest?.user, "offsiteRestPassword", "is required with backup.offsite.rest.user: pulumi config set --secret copilotos:offsiteRestPassword <password>"],
  ];
  const issues = needs.filter(([needed, key]) => needed && keys[key] === undefined).map(([, key, message]) => ({ path: [key], message }));
  const sshKey = keys.offsiteSshKey;
  if (sshKey !== undefined && sshKey !== NOT_READ && !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(sshKey)) {
    issues.push({ path: ["offsiteSshKey"], message: "must be a private key (PEM or OpenSSH text starting -----BEGIN … PRIVATE KEY-----)" });
  }
  return issues;
}

/** `copilotos:backup`: when Mongo is archived on the host, where, and which archives stay. */
export const backupSchema = z
  .strictObject({
    enabled: bool().default(true).describe("back Mongo up before every change to Mongo"),
    beforeAppUpdate: bool().default(true).describe("also back Mongo up before every API or web update (a new image or settings), before any migration"),
    schedule: text()
      .refine((v) => v === "off" || CRON.test(v.trim()), { error: 'must be a cron schedule of five fields (e.g. "30 3 * * *") or "off"' })
      .default("30 3 * * *")
      .describe("when the host backs Mongo up on its own (cron, in the host's time zone; installed by the stack); `off`: never"),
    dir: hostPath().default("~/copilotos-backups").describe("backup folder on the host (`~/` is the SSH user's home)"),
    keep: integer(1, 1000, "a whole number from 1 to 1000").default(7).describe("newest archives of this stack kept on the host, whatever their age"),
    daily: integer(0, 1000, "a whole number from 0 to 1000").default(7).describe("also keep the newest archive of each of the last N days"),
    weekly: integer(0, 1000, "a whole number from 0 to 1000").default(4).describe("… of each of the last N ISO weeks"),
    monthly: integer(0, 1000, "a whole number from 0 to 1000").default(12).describe("… of each of the last N months"),
    s3: bool()
      .default(false)
      .describe(
        "also keep each verified backup in an encrypted restic repository in an S3 bucket the stack creates, written with the instance's role (aws hosts only; instead of `offsite`)",
      ),
    offsite: offsiteSchema.optional().describe("also keep each verified backup off the host, in an encrypted restic repository (one of `sftp`, `s3`, `rest`)"),
  })
  .prefault({});

/**
 * `copilotos:redis`: what Redis does at its memory limit. The app keeps only caches with a TTL there
 * (core/redis_cache.py: setex everywhere) and degrades to uncached reads when Redis fails, so
 * `volatile-lru` (evict the least recently used key that has a TTL) is the default: a full Redis drops
 * old cache entries instead of refusing writes or being OOM-killed, and a key without a TTL is never lost.
 */
export const redisSchema = z
  .strictObject({
    maxmemoryMb: integer(16, 1024 * 1024, "a whole number of MiB, at least 16")
      .optional()
      .describe("Redis's `maxmemory` (MiB); unset: 75% of resources.redis.memoryMb"),
    evictionPolicy: z
      .enum(["volatile-lru", "allkeys-lru", "volatile-lfu", "allkeys-lfu", "volatile-ttl", "noeviction"], {
        error: "must be volatile-lru, allkeys-lru, volatile-lfu, allkeys-lfu, volatile-ttl or noeviction",
      })
      .default("volatile-lru")
      .describe("what Redis evicts at maxmemory (the app's Redis holds caches with a TTL: volatile-lru)"),
  })
  .prefault({});

/** The retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/** `copilotos:logs`: every container's log driver and rotation. */
export const logsSchema = z
  .strictObject({
    driver: z
      .enum(["json-file", "local", "journald", "syslog", "awslogs", "none"], { error: "must be json-file, local, journald, syslog, awslogs or none" })
      .default("json-file")
      .describe("Docker log driver of every container (journald/syslog: the host rotates; awslogs: CloudWatch Logs, aws hosts only)"),
    maxSizeMb: integer(1, 10240, "a whole number of MiB from 1 to 10240").default(10).describe("json-file/local: size of one log file (MiB)"),
    maxFiles: integer(1, 100, "a whole number from 1 to 100").default(3).describe("json-file/local: log files kept per container"),
    retentionDays: integer(1, 3653, "a whole number of days from 1 to 3653")
      .refine((d) => LOG_RETENTION_DAYS.includes(d), {
        error: `must be a number of days CloudWatch Logs keeps: ${LOG_RETENTION_DAYS.slice(0, -1).join(", ")} or ${LOG_RETENTION_DAYS.at(-1)}`,
      })
      .default(30)
      .describe("awslogs: days CloudWatch Logs keeps the stack's log group (one of the values it accepts)"),
  })
  .prefault({});

/** `copilotos:stateBackend`: whether `npm run preview|up` accept a local file backend. */
export const stateBackendSchema = z
  .enum(["any", "shared"], { error: 'must be "any" or "shared"' })
  .default("any")
  .describe("`shared`: `npm run preview|up` refuse a local file state backend (the secrets would live on one machine; prod sets it)");

const pem = (label: string, example: string) =>
  text(`PEM text (${example})`).refine((v) => v.includes(`-----BEGIN ${label}`), { error: `must be PEM text starting ${example}` });

/** Why `certificate` and `key` cannot serve HTTPS, or undefined. Never quotes the key. Exported for tests. */
export function tlsProblem(certificate: string, key: string, now = new Date()): { path: "certificate" | "key"; message: string } | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certificate);
  } catch {
    return { path: "certificate", message: "is not a readable X.509 certificate (PEM)" };
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    return { path: "key", message: "is not a readable, unencrypted private key (PEM)" };
  }
  const subject = cert.subject.replace(/\n/g, ", ");
  if (!cert.checkPrivateKey(privateKey))
    return { path: "key", message: `is not the private key of tls.certificate (${subject}); set the pair that belongs together` };
  const expires = new Date(cert.validTo);
  if (expires.getTime() <= now.getTime())
    return { path: "certificate", message: `(${subject}) expired on ${expires.toISOString()}; renew it (docs/operations.md, HTTPS)` };
  return undefined;
}

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** `tls.acme`: a certificate from an ACME CA (Let's Encrypt by default) for the stack's names, renewed on the host. */
const acmeSchema = z.strictObject({
  email: text("an e-mail address for the CA's expiry notices")
    .regex(/^[^@\s'"]+@[^@\s'"]+\.[^@\s'"]+$/, { error: "must be an e-mail address" })
    .describe("the account's e-mail address (the CA's expiry and policy notices)"),
  domains: z
    .preprocess(
      jsonList,
      z.array(text().regex(DOMAIN, { error: "must be a DNS name such as chat.example.com (lower case)" }), {
        error: "must be a list of DNS names, e.g. [chat.example.com]",
      }),
    )
    .refine((d) => d.length >= 1 && d.length <= 100, { error: "must name 1 to 100 DNS names" })
    .describe("the names on the certificate; each must resolve to the host (HTTP-01 reaches them on `httpPort`)"),
  directory: text()
    .regex(/^https:\/\/\S+$/, { error: "must be an https:// URL of an ACME directory" })
    .default("https://acme-v02.api.letsencrypt.org/directory")
    .describe("the ACME directory (Let's Encrypt's; its staging one while trying things)"),
  httpPort: port().default(80).describe("host port the proxy answers HTTP-01 challenges on (the CA connects to 80), redirecting anything else to HTTPS"),
  renewBeforeDays: integer(1, 60, "a whole number of days from 1 to 60").default(30).describe("renew when the certificate expires within this many days"),
  schedule: text()
    .refine((v) => CRON.test(v.trim()), { error: 'must be a cron schedule of five fields (e.g. "17 3,15 * * *")' })
    .default("17 3,15 * * *")
    .describe("when the host checks for renewal (cron, twice a day by default); the proxy reloads only when the certificate changed"),
});

/**
 * `copilotos:tls`: HTTPS at the proxy, from a certificate and key in config or from ACME. Set: each
 * app gets a TLS port, its plain port redirects there.
 */
export const tlsSchema = z
  .strictObject({
    certificate: pem("CERTIFICATE", "-----BEGIN CERTIFICATE-----")
      .optional()
      .describe(
        "certificate chain the proxy serves (PEM, leaf first), with `key`; or set `acme` instead. Setting `tls` turns HTTPS on: plain ports redirect, HSTS is sent over HTTPS only",
      ),
    key: pem("", "-----BEGIN PRIVATE KEY-----").optional().describe("the certificate's private key (PEM, unencrypted); set it with `--secret`"),
    acme: acmeSchema.optional(),
    ports: z
      .strictObject({
        web: port().default(443).describe("host port of the web app over HTTPS"),
        api: port().default(8443).describe("host port of the API over HTTPS"),
      })
      .prefault({}),
  })
  .superRefine((tls, ctx) => {
    if (tls.acme) {
      for (const k of ["certificate", "key"] as const)
        if (tls[k] !== undefined)
          ctx.addIssue({ code: "custom", path: [k], message: "is set with tls.acme too: the certificate comes from one of them; remove one" });
      return;
    }
    for (const k of ["certificate", "key"] as const)
      if (tls[k] === undefined) ctx.addIssue({ code: "custom", path: [k], message: "is required with tls (or set tls.acme for a certificate from ACME)" });
    // Text that is not PEM at all was already named by the field's own check.
    if (!tls.certificate?.includes("-----BEGIN ") || !tls.key?.includes("-----BEGIN ")) return;
    const problem = tlsProblem(tls.certificate, tls.key);
    if (problem) ctx.addIssue({ code: "custom", path: [problem.path], message: problem.message });
  })
  .optional();

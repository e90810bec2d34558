/** Names the config schema and its error messages share. */

/** The config namespace: every key is `copilotos:<key>`. */
export const NAMESPACE = "copilotos";

/** The off-host target's credentials (config `backup.offsite`), each a secret key of its own. */
export const OFFSITE_KEYS = ["offsiteSshKey", "offsiteS3AccessKeyId", "offsiteS3SecretAccessKey", "offsiteRestPassword"] as const;
export type OffsiteKey = (typeof OFFSITE_KEYS)[number];

/**
 * What the CLIs that never use the off-host credentials (pulumi up wrote them on the host) give for
 * them: set, so the config parses, but no value; the private-key check lets it by.
 */
export const NOT_READ = "(not read by this command)";

/** The alert receivers' URLs and password (config `monitoring.alerts`), each a secret key of its own. */
export const ALERT_KEYS = ["alertWebhookUrl", "alertSlackWebhookUrl", "alertSmtpPassword"] as const;
export type AlertKey = (typeof ALERT_KEYS)[number];

/** Config keys whose values are secrets: they leave `loadConfig` as Pulumi secret outputs. */
export const SECRET_KEYS = ["saptivaApiKey", "mongoPassword", "redisPassword", "jwtSecretKey", "secretKey", ...OFFSITE_KEYS, ...ALERT_KEYS] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

/** Nested config paths whose values are secrets (set with `pulumi config set --path --secret`). */
export const SECRET_PATHS = ["host.privateKey", "registry.password", "tls.key"] as const;

/** A config key path that holds a secret. */
export const isSecretPath = (path: string) => (SECRET_KEYS as readonly string[]).includes(path) || (SECRET_PATHS as readonly string[]).includes(path);

/** The smallest `secretLength` the project accepts. */
export const MIN_SECRET_LENGTH = 32;

/**
 * What a stack without `saptivaApiKey` gets: the app's `saptiva_api_key` is `get_secret("SAPTIVA_API_KEY",
 * required=False) or ""` (its core/config.py), so the API starts and answers its health checks; only
 * its calls to SAPTIVA (chat) fail until a key is set.
 */
export const NO_SAPTIVA_KEY =
  `${NAMESPACE}:saptivaApiKey is not set: the API starts without it (the app reads SAPTIVA_API_KEY as optional), ` +
  `but its chat calls to SAPTIVA fail until one is set: pulumi config set --secret ${NAMESPACE}:saptivaApiKey <your-saptiva-api-key>`;

/** Names the config schema and its error messages share. */

/** The config namespace: every key is `copilotos:<key>`. */
export const NAMESPACE = "copilotos";

/** Config keys whose values are secrets: they leave `loadConfig` as Pulumi secret outputs. */
export const SECRET_KEYS = ["saptivaApiKey", "mongoPassword", "redisPassword", "jwtSecretKey", "secretKey"] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

/** Nested config paths whose values are secrets (set with `pulumi config set --path --secret`). */
export const SECRET_PATHS = ["host.privateKey", "registry.password", "tls.key"] as const;

/** A config key path that holds a secret. */
export const isSecretPath = (path: string) => (SECRET_KEYS as readonly string[]).includes(path) || (SECRET_PATHS as readonly string[]).includes(path);

/** The smallest `secretLength` the project accepts. */
export const MIN_SECRET_LENGTH = 32;

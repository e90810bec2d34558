/** Names the config schema and its error messages share. */

/** The config namespace: every key is `copilotos:<key>`. */
export const NAMESPACE = "copilotos";

/** Config keys whose values are secrets: they leave `loadConfig` as Pulumi secret outputs. */
export const SECRET_KEYS = ["saptivaApiKey", "mongoPassword", "redisPassword", "jwtSecretKey", "secretKey"] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

/** The smallest `secretLength` the project accepts. */
export const MIN_SECRET_LENGTH = 32;

/**
 * What the copilotos-bridge API itself accepts, from its source (apps/api/src/core/secrets.py):
 * the secrets it refuses at start and why. Pure. The config schema and the policy pack both call
 * {@link appSecretProblem}, so `npm run check` refuses what the app would refuse, naming the key.
 *
 * - Its loader reads `/run/secrets/<NAME>` or `/run/secrets/<name>`, then env `<NAME>`, then
 *   `/etc/copilotos/secrets/<name>` (mode 0600/0400 only). No `*_FILE` variable.
 * - With `NODE_ENV=production` it stops at start when MONGODB_PASSWORD (< 12), JWT_SECRET_KEY or
 *   SECRET_KEY (< 32) is missing, too short or a weak value.
 * - REDIS_PASSWORD and SAPTIVA_API_KEY are optional there (minimum 8); a bad one is dropped with a
 *   warning (Redis then refuses the API, the Saptiva calls fail), so we refuse it here instead.
 * - A secret whose name holds `api_key` must start with `va-ai-`/`sk-` or be at least 32 long.
 * - It builds `mongodb://user:password@host:port/db?authSource=…` and `redis://:password@…`
 *   without URL-encoding, so a password must hold only characters a URL carries as they are.
 */

/** The secrets the API reads, by the name its loader asks for, with the minimum length it enforces. */
export const APP_SECRETS = {
  MONGODB_PASSWORD: { minLength: 12, inUrl: true },
  REDIS_PASSWORD: { minLength: 8, inUrl: true },
  JWT_SECRET_KEY: { minLength: 32, inUrl: false },
  SECRET_KEY: { minLength: 32, inUrl: false },
  SAPTIVA_API_KEY: { minLength: 8, inUrl: false },
} as const;
export type AppSecretName = keyof typeof APP_SECRETS;

/** Values the app's `_validate_secret` refuses (compared lower-cased). */
export const WEAK_VALUES = ["password", "123456", "admin", "secret", "test", "demo", "change_me", "changeme", "default", "temp", "temporary"];

/** Characters a password may hold when the app pastes it into a URL unencoded (RFC 3986 unreserved). */
export const URL_SAFE = /^[A-Za-z0-9._~-]+$/;

/** The app's file name for a secret: `/run/secrets/<name>`, lower case (its loader tries both cases). */
export const appSecretFile = (name: AppSecretName) => name.toLowerCase();

/**
 * Why the app would refuse `value` for `name`, as the end of a sentence that starts with the key
 * (`copilotos:mongoPassword is …`); undefined when it would accept it. Never quotes the value.
 */
export function appSecretProblem(name: AppSecretName, value: string): string | undefined {
  const rule = APP_SECRETS[name];
  if (value.trim() === "") return "empty; the app refuses an empty secret";
  if (value.length < rule.minLength) return `too short for the app (it needs at least ${rule.minLength} characters for ${name})`;
  if (WEAK_VALUES.includes(value.toLowerCase())) return `a weak default value the app refuses for ${name}`;
  if (name.toLowerCase().includes("api_key") && !(value.startsWith("va-ai-") || value.startsWith("sk-") || value.length >= 32)) {
    return `not in the app's API key format (it starts with va-ai- or sk-, or is at least 32 characters)`;
  }
  if (rule.inUrl && !URL_SAFE.test(value)) {
    return "holding characters the app would paste unencoded into its connection URL; use only letters, digits and - _ . ~";
  }
  return undefined;
}

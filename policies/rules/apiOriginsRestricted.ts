import { ResourceValidationPolicy } from "@pulumi/policy";
import { envOf, serviceOf, validateContainer } from "../lib";

/** The lists the app reads as JSON or commas (its core/config.py). */
function listOf(value: string | undefined): string[] {
  if (!value) return [];
  try {
    const parsed: unknown = JSON.parse(value);
    if (Array.isArray(parsed)) return parsed.map(String);
  } catch {
    // not JSON: commas
  }
  return value
    .split(",")
    .map((v) => v.trim())
    .filter(Boolean);
}

/**
 * The app's TrustedHostMiddleware and CORSMiddleware (main.py) take `ALLOWED_HOSTS` and
 * `CORS_ORIGINS`; `*` in either lets any Host header or any web page (with the user's credentials:
 * the app sets allow_credentials) through. The stack sets both to its own names unless config
 * `api.allowedHosts`/`api.corsOrigins` (or `api.env`) say otherwise. Advisory: a warning.
 */
export const apiOriginsRestricted: ResourceValidationPolicy = {
  name: "api-origins-restricted",
  description: "The API's ALLOWED_HOSTS and CORS_ORIGINS name hosts and origins, not `*` (any site could call the API with the user's credentials).",
  enforcementLevel: "advisory",
  configSchema: { properties: {} },
  validateResource: validateContainer((p, args, report) => {
    if (serviceOf(p) !== "api") return;
    const env = envOf(p);
    for (const name of ["ALLOWED_HOSTS", "CORS_ORIGINS"]) {
      if (listOf(env[name]).includes("*"))
        report(`${args.name}: ${name} holds "*"; name the stack's hosts and origins (config api.allowedHosts / api.corsOrigins).`);
    }
  }),
};

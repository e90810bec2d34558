import { StackValidationPolicy } from "@pulumi/policy";
import { APP_SECRETS, AppSecretName, appSecretProblem } from "../../components/renderers/services/appContract";
import { appSecretOf, envOf, isSecretName, RANDOM_PASSWORD, secretUploads, serviceOf, validateContainers } from "../lib";
import { SECRET } from "../swarmLib";

export interface SecretMinLengthConfig {
  minLength: number;
  /** Env names that look secret but are known not to be (as in no-plaintext-secrets-in-env). */
  allowNames: string[];
}

const APP_NAMES = Object.keys(APP_SECRETS) as AppSecretName[];

/** Each running container's secret files (its writer's included) and env; an API's secrets as the app checks them. */
const containerSecrets = validateContainers((p, args, report) => {
  const { minLength, allowNames } = args.getConfig<SecretMinLengthConfig>();
  if (serviceOf(p) === "api") {
    for (const name of APP_NAMES) {
      const found = appSecretOf(p, name);
      const problem = found && appSecretProblem(name, found.value);
      // A missing SAPTIVA key is saptiva-key-set's: the app starts without it.
      if (problem) report(`${args.name}: ${name} (${found.where}) is ${problem}.`);
    }
  }
  for (const u of secretUploads(p)) {
    if (u.content === undefined || u.file.endsWith("saptiva_api_key")) continue;
    if (u.content.length < minLength) report(`${args.name}: secret file ${u.file} holds ${u.content.length} characters; the minimum is ${minLength}.`);
  }
  for (const [name, value] of Object.entries(envOf(p))) {
    if (isSecretName(name) && !allowNames.includes(name) && !name.startsWith("SAPTIVA") && value.length < minLength) {
      report(`${args.name}: env ${name} holds ${value.length} characters; the minimum is ${minLength}.`);
    }
  }
});

/**
 * Secrets shorter than the minimum are guessable; the seeds' `openssl rand` lengths varied by hand.
 * An API's secrets must also pass the app's own checks (length, weak values, API key format, URL-safe
 * passwords: components/renderers/services/appContract.ts), or it refuses to start in production.
 */
export const secretMinLength: StackValidationPolicy = {
  name: "secret-min-length",
  description: "Generated and delivered secrets are at least minLength characters; the API's secrets pass the app's own checks at start.",
  configSchema: {
    properties: { minLength: { type: "integer", minimum: 1, default: 32 }, allowNames: { type: "array", items: { type: "string" }, default: [] } },
  },
  validateStack: (args, report) => {
    const { minLength } = args.getConfig<SecretMinLengthConfig>();
    for (const pw of args.resources.filter((r) => r.type === RANDOM_PASSWORD)) {
      const length = Number(pw.props.length);
      if (length < minLength) report(`RandomPassword ${pw.name} has length ${length}; the minimum is ${minLength}.`, pw.urn);
    }
    // A swarm's Docker secrets: a one-line value is a bare secret (a file with lines, redis.conf say, is not).
    for (const r of args.resources.filter((x) => x.type === SECRET && typeof x.props.data === "string")) {
      const value = Buffer.from(String(r.props.data), "base64").toString();
      if (value.includes("\n") || String(r.props.name).includes("saptiva_api_key")) continue;
      if (value.length < minLength)
        report(`${r.name}: Docker secret ${String(r.props.name)} holds ${value.length} characters; the minimum is ${minLength}.`, r.urn);
    }
    containerSecrets(args, report);
  },
};

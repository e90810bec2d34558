import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import * as random from "@pulumi/random";
import { APP_SECRETS, AppSecretName, appSecretProblem } from "../../components/renderers/services/appContract";
import { appSecretOf, envOf, isSecretName, secretUploads, serviceOf, validateContainer } from "../lib";
import { SECRET } from "../swarmLib";

export interface SecretMinLengthConfig {
  minLength: number;
  /** Env names that look secret but are known not to be (as in no-plaintext-secrets-in-env). */
  allowNames: string[];
}

const APP_NAMES = Object.keys(APP_SECRETS) as AppSecretName[];

/**
 * Secrets shorter than the minimum are guessable; the seeds' `openssl rand` lengths varied by hand.
 * An API's secrets must also pass the app's own checks (length, weak values, API key format, URL-safe
 * passwords: components/renderers/services/appContract.ts), or it refuses to start in production.
 */
export const secretMinLength: ResourceValidationPolicy = {
  name: "secret-min-length",
  description: "Generated and delivered secrets are at least minLength characters; the API's secrets pass the app's own checks at start.",
  configSchema: {
    properties: { minLength: { type: "integer", minimum: 1, default: 32 }, allowNames: { type: "array", items: { type: "string" }, default: [] } },
  },
  validateResource: [
    validateResourceOfType(random.RandomPassword, (pw, args, report) => {
      const { minLength } = args.getConfig<SecretMinLengthConfig>();
      if (pw.length < minLength) report(`RandomPassword ${args.name} has length ${pw.length}; the minimum is ${minLength}.`);
    }),
    // A swarm's Docker secrets: a one-line value is a bare secret (a file with lines, redis.conf say, is not).
    (args, report) => {
      if (args.type !== SECRET || typeof args.props.data !== "string") return;
      const { minLength } = args.getConfig<SecretMinLengthConfig>();
      const value = Buffer.from(args.props.data, "base64").toString();
      if (value.includes("\n") || String(args.props.name).includes("saptiva_api_key")) return;
      if (value.length < minLength)
        report(`${args.name}: Docker secret ${String(args.props.name)} holds ${value.length} characters; the minimum is ${minLength}.`);
    },
    validateContainer((p, args, report) => {
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
    }),
  ],
};

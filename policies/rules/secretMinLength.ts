import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import * as random from "@pulumi/random";
import { envOf, isSecretName, secretUploads, validateContainer } from "../lib";

export interface SecretMinLengthConfig {
  minLength: number;
}

/** Secrets shorter than the minimum are guessable; the seeds' `openssl rand` lengths varied by hand. */
export const secretMinLength: ResourceValidationPolicy = {
  name: "secret-min-length",
  description: "Generated and delivered secrets are at least minLength characters; the SAPTIVA API key is not empty.",
  configSchema: { properties: { minLength: { type: "integer", minimum: 1, default: 32 } } },
  validateResource: [
    validateResourceOfType(random.RandomPassword, (pw, args, report) => {
      const { minLength } = args.getConfig<SecretMinLengthConfig>();
      if (pw.length < minLength) report(`RandomPassword ${args.name} has length ${pw.length}; the minimum is ${minLength}.`);
    }),
    validateContainer((p, args, report) => {
      const { minLength } = args.getConfig<SecretMinLengthConfig>();
      for (const u of secretUploads(p)) {
        if (u.content === undefined) continue;
        const base = u.file.split("/").pop() ?? "";
        if (base === "saptiva_api_key") {
          if (u.content.trim() === "") report(`${args.name}: the SAPTIVA API key file ${u.file} is empty.`);
        } else if (!base.endsWith("_url") && u.content.length < minLength) {
          report(`${args.name}: secret file ${u.file} holds ${u.content.length} characters; the minimum is ${minLength}.`);
        }
      }
      for (const [name, value] of Object.entries(envOf(p))) {
        if (isSecretName(name) && !name.startsWith("SAPTIVA") && value.length < minLength) {
          report(`${args.name}: env ${name} holds ${value.length} characters; the minimum is ${minLength}.`);
        }
        if (name === "SAPTIVA_API_KEY" && value.trim() === "") report(`${args.name}: env SAPTIVA_API_KEY is empty.`);
      }
    }),
  ],
};

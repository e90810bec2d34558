import { ResourceValidationPolicy } from "@pulumi/policy";
import { envOf, hasUrlCredentials, isSecretName, validateContainer } from "../lib";

export interface NoPlaintextSecretsInEnvConfig {
  /** Env names that look secret but are known not to be (a public site key, say). */
  allowNames: string[];
}

/**
 * `docker inspect` prints env, and the state keeps it. In every container (the API's, the web's,
 * the databases'), a value under a secret-looking name (`*PASSWORD*`, `*SECRET*`, `*TOKEN*`,
 * `*_KEY`, `*CREDENTIAL*`) or a URL with credentials is a violation, unless its name is listed in
 * `allowNames`.
 */
export const noPlaintextSecretsInEnv: ResourceValidationPolicy = {
  name: "no-plaintext-secrets-in-env",
  description:
    "Secret-looking env entries (PASSWORD, SECRET, TOKEN, *_KEY, URLs with credentials) in any container are delivered as files, not env values; allowNames lists known non-secrets.",
  configSchema: { properties: { allowNames: { type: "array", items: { type: "string" }, default: [] } } },
  validateResource: validateContainer((p, args, report) => {
    const { allowNames } = args.getConfig<NoPlaintextSecretsInEnvConfig>();
    for (const [name, value] of Object.entries(envOf(p))) {
      if (value === "" || allowNames.includes(name)) continue;
      if (isSecretName(name))
        report(`${args.name}: env ${name} carries a secret value; deliver it as a file, or list ${name} in allowNames if it is not a secret.`);
      else if (hasUrlCredentials(value)) report(`${args.name}: env ${name} is a URL with credentials; deliver it as a file.`);
    }
  }),
};

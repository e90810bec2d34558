import { ResourceValidationPolicy } from "@pulumi/policy";
import { envOf, hasUrlCredentials, isSecretName, validateContainer } from "../lib";
import { SERVICE, serviceView } from "../swarmLib";

function checkEnv(env: Record<string, string>, resource: string, allowNames: string[], report: (message: string) => void): void {
  for (const [name, value] of Object.entries(env)) {
    if (value === "" || allowNames.includes(name)) continue;
    if (isSecretName(name))
      report(`${resource}: env ${name} carries a secret value; deliver it as a file, or list ${name} in allowNames if it is not a secret.`);
    else if (hasUrlCredentials(value)) report(`${resource}: env ${name} is a URL with credentials; deliver it as a file.`);
  }
}

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
    "Secret-looking env entries (PASSWORD, SECRET, TOKEN, *_KEY, URLs with credentials) in any container or swarm service are delivered as files, not env values; allowNames lists known non-secrets.",
  configSchema: { properties: { allowNames: { type: "array", items: { type: "string" }, default: [] } } },
  validateResource: [
    validateContainer((p, args, report) => checkEnv(envOf(p), args.name, args.getConfig<NoPlaintextSecretsInEnvConfig>().allowNames, report)),
    // A swarm service's env, on every task (a Docker secret carries secrets there).
    (args, report) => {
      if (args.type !== SERVICE) return;
      checkEnv(serviceView(args.props).env, args.name, args.getConfig<NoPlaintextSecretsInEnvConfig>().allowNames, report);
    },
  ],
};

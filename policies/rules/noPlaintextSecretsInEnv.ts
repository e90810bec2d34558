import { ResourceValidationPolicy } from "@pulumi/policy";
import { envOf, hasUrlCredentials, isSecretName, secretUploads, validateContainer } from "../lib";

/** `docker inspect` prints env. Where the stack delivers secrets as files, none may sit in env. */
export const noPlaintextSecretsInEnv: ResourceValidationPolicy = {
  name: "no-plaintext-secrets-in-env",
  description: "Secret-looking env entries (PASSWORD, SECRET, *_KEY, TOKEN, URLs with credentials) are delivered as files, not env values.",
  configSchema: { properties: {} },
  validateResource: validateContainer((p, args, report) => {
    const env = envOf(p);
    const deliversFiles = secretUploads(p).length > 0 || Object.keys(env).some((k) => k.endsWith("_FILE"));
    if (!deliversFiles) return;
    for (const [name, value] of Object.entries(env)) {
      if (value === "") continue;
      if (isSecretName(name)) report(`${args.name}: env ${name} carries a secret value; deliver it as a file (${name}_FILE).`);
      else if (hasUrlCredentials(value)) report(`${args.name}: env ${name} is a URL with credentials; deliver it as a file (${name}_FILE).`);
    }
  }),
};

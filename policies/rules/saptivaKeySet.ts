import { StackValidationPolicy } from "@pulumi/policy";
import { appSecretOf, serviceOf, validateContainers } from "../lib";

/**
 * The app reads SAPTIVA_API_KEY as optional (`get_secret(..., required=False) or ""`): without it the
 * API starts and passes its health checks, and every chat call to SAPTIVA fails. Mandatory by
 * default, so a staging or prod stack cannot go out without it; the `local` stack sets it advisory
 * (policies/config.local.json): a first run on one's own machine needs no key.
 */
export const saptivaKeySet: StackValidationPolicy = {
  name: "saptiva-key-set",
  description: "The API gets a SAPTIVA key (config saptivaApiKey) in a source the app reads; without one its chat calls fail.",
  configSchema: { properties: {} },
  validateStack: validateContainers((p, args, report) => {
    if (serviceOf(p) !== "api" || appSecretOf(p, "SAPTIVA_API_KEY")) return;
    report(`${args.name}: SAPTIVA_API_KEY is empty or missing in every source the app reads: pulumi config set --secret copilotos:saptivaApiKey <key>.`);
  }),
};

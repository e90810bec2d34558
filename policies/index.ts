// The CrossGuard entry point: `pulumi preview --policy-pack policies`. Constructing the pack starts
// the analyzer server the engine talks to, so the rules live in ./rules.ts for everyone else.
import { PolicyPack } from "@pulumi/policy";
import { PACK_ENFORCEMENT, PACK_NAME, rules } from "./rules";

new PolicyPack(PACK_NAME, { enforcementLevel: PACK_ENFORCEMENT, policies: rules });

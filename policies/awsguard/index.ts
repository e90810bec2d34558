// Pulumi's AWS best-practice pack for the aws host kind:
// `pulumi preview --policy-pack policies --policy-pack policies/awsguard`.
// Every awsguard policy is mandatory except the documented exceptions (./exceptions.ts).
import { AwsGuard, AwsGuardArgs } from "@pulumi/awsguard";
import { AWSGUARD_EXCEPTIONS } from "./exceptions";

const args: AwsGuardArgs = { all: "mandatory" };
for (const e of AWSGUARD_EXCEPTIONS) args[e.setting] = "disabled";
new AwsGuard("copilotos-awsguard", args);

import { ResourceValidationPolicy } from "@pulumi/policy";
import { covers, ingressOf, isOpenToWorld, portsOf } from "../awsLib";

export interface AwsSshRestrictedConfig {
  /** The SSH port of the hosts. */
  port: number;
}

/** An SSH port open to the internet is brute-forced within minutes; the deploy key is the only lock left. */
export const awsSshRestricted: ResourceValidationPolicy = {
  name: "aws-ssh-restricted",
  description: "No security group lets SSH in from 0.0.0.0/0 or ::/0 (mandatory in prod; staging's config makes it advisory).",
  configSchema: { properties: { port: { type: "integer", minimum: 1, maximum: 65535, default: 22 } } },
  validateResource: (args, report) => {
    const { port } = args.getConfig<AwsSshRestrictedConfig>();
    for (const i of ingressOf(args.type, args.props)) {
      if (covers(i, port) && isOpenToWorld(i)) {
        report(`${args.name}: ${portsOf(i)} (SSH ${port}) is open to ${i.cidrs.join(", ")}; list your deploy machines' CIDRs in host.sshCidrs.`);
      }
    }
  },
};

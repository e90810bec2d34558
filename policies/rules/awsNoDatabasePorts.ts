import { ResourceValidationPolicy } from "@pulumi/policy";
import { covers, ingressOf, portsOf } from "../awsLib";

export interface AwsNoDatabasePortsConfig {
  /** Ports no security group may let in. */
  ports: number[];
}

/** Mongo and Redis are reached on the stack's private network only; a security group never opens them. */
export const awsNoDatabasePorts: ResourceValidationPolicy = {
  name: "aws-no-database-ports",
  description: "No security group lets the database ports (Mongo 27017, Redis 6379) in, from anywhere; nor every port at once.",
  configSchema: { properties: { ports: { type: "array", items: { type: "integer" }, default: [27017, 6379] } } },
  validateResource: (args, report) => {
    const { ports } = args.getConfig<AwsNoDatabasePortsConfig>();
    for (const i of ingressOf(args.type, args.props)) {
      const opened = ports.filter((p) => covers(i, p));
      if (opened.length) report(`${args.name}: ${portsOf(i)} from ${i.cidrs.join(", ") || "a security group"} lets database port ${opened.join(", ")} in.`);
    }
  },
};

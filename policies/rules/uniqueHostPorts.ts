import { StackValidationPolicy } from "@pulumi/policy";
import { runningContainers, ContainerProps } from "../lib";
import { SERVICE, serviceView } from "../swarmLib";

export interface UniqueHostPortsConfig {
  /** Host ports used by other stacks or services on the same host (e.g. prod's, for staging). */
  reservedPorts: number[];
}

const ANY = "0.0.0.0";
const clash = (a: string, b: string) => a === b || a === ANY || b === ANY;

/** The post-mortem's "Bind for 0.0.0.0:6380 failed: port is already allocated". */
export const uniqueHostPorts: StackValidationPolicy = {
  name: "unique-host-ports",
  description:
    "No two containers bind the same host IP:port (0.0.0.0 clashes with every IP), no two swarm services publish the same port, and none takes a reserved port.",
  configSchema: {
    properties: { reservedPorts: { type: "array", items: { type: "integer", minimum: 1, maximum: 65535 }, default: [] } },
  },
  validateStack: (args, report) => {
    const { reservedPorts } = args.getConfig<UniqueHostPortsConfig>();
    const seen: { ip: string; port: number; protocol: string; owner: string }[] = [];
    for (const r of runningContainers(args.resources)) {
      for (const p of (r.props as ContainerProps).ports ?? []) {
        if (p.external === undefined) continue;
        const ip = p.ip ?? ANY;
        const protocol = p.protocol ?? "tcp";
        if (reservedPorts.includes(p.external)) report(`${r.name} binds ${ip}:${p.external}, a port reserved for another stack on this host.`, r.urn);
        const other = seen.find((s) => s.port === p.external && s.protocol === protocol && clash(s.ip, ip));
        if (other) report(`${r.name} binds ${ip}:${p.external}/${protocol}, which ${other.owner} already binds on ${other.ip}.`, r.urn);
        seen.push({ ip, port: p.external, protocol, owner: r.name });
      }
    }
    // A swarm: a published port is taken on every node a service's tasks may run on (host mode) or on all (ingress).
    const published = new Map<number, string>();
    for (const r of args.resources.filter((x) => x.type === SERVICE)) {
      for (const p of serviceView(r.props).ports) {
        if (reservedPorts.includes(p.published)) report(`${r.name} publishes ${p.published}, a port reserved for another stack.`, r.urn);
        const other = published.get(p.published);
        if (other) report(`${r.name} publishes ${p.published}, which ${other} already publishes on the swarm's nodes.`, r.urn);
        published.set(p.published, r.name);
      }
    }
  },
};

/** Shared reading of AWS resource props for the rules. Pure. */

export const SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup";
export const SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule";
export const INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
export const INSTANCE = "aws:ec2/instance:Instance";
export const EBS_VOLUME = "aws:ebs/volume:Volume";
export const BUCKET = "aws:s3/bucket:Bucket";

/** One way in through a security group, whichever resource declares it. */
export interface Ingress {
  protocol: string;
  fromPort: number;
  toPort: number;
  cidrs: string[];
}

const OPEN = ["0.0.0.0/0", "::/0"];
export const isOpenToWorld = (i: Ingress) => i.cidrs.some((c) => OPEN.includes(c));

/** Whether the rule lets `port`/tcp in (protocol -1 or "all" lets every port in). */
export function covers(i: Ingress, port: number): boolean {
  const p = i.protocol.toLowerCase();
  if (p === "-1" || p === "all") return true;
  return (p === "tcp" || p === "6") && i.fromPort <= port && port <= i.toPort;
}

type Props = Record<string, unknown>;
const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : typeof v === "string" ? [v] : []);

/** The ingress of a security group (inline rules), a SecurityGroupRule of type ingress, or a vpc ingress rule. */
export function ingressOf(type: string, props: Props): Ingress[] {
  const read = (r: Props, protocolKey: string, cidrs: string[]): Ingress => ({
    protocol: String(r[protocolKey] ?? "tcp"),
    fromPort: Number(r.fromPort ?? 0),
    toPort: Number(r.toPort ?? r.fromPort ?? 65535),
    cidrs,
  });
  if (type === SECURITY_GROUP) {
    return ((props.ingress as Props[] | undefined) ?? []).map((r) => read(r, "protocol", [...list(r.cidrBlocks), ...list(r.ipv6CidrBlocks)]));
  }
  if (type === SECURITY_GROUP_RULE && props.type === "ingress") return [read(props, "protocol", [...list(props.cidrBlocks), ...list(props.ipv6CidrBlocks)])];
  if (type === INGRESS_RULE) return [read(props, "ipProtocol", [...list(props.cidrIpv4), ...list(props.cidrIpv6)])];
  return [];
}

/** `ports 22` / `ports 0-65535` for messages. */
export const portsOf = (i: Ingress) =>
  i.protocol === "-1" || i.protocol === "all" ? "every port" : i.fromPort === i.toPort ? `port ${i.fromPort}` : `ports ${i.fromPort}-${i.toPort}`;

/**
 * What the mock runtime answers for values only a real provider knows: generated passwords and
 * keys, digests, IDs, addresses and data source results, made up deterministically from names.
 */
import { createHash, randomInt } from "node:crypto";

const PASSWORD_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/** A stand-in for a RandomPassword result, of the requested length and character set. */
export function fakePassword(inputs: Record<string, unknown>): string {
  const length = Number(inputs.length ?? 16);
  const chars = PASSWORD_CHARS + (inputs.special ? String(inputs.overrideSpecial ?? "!@#$%&*()-_=+[]{}<>:?") : "");
  return Array.from({ length }, () => chars[randomInt(chars.length)]).join("");
}

/** How the mock's stand-in for a generated private key begins (tests find it among the secrets by it). */
export const MOCK_PRIVATE_KEY_PREFIX = "mock-private-key (not a key):";

const hexOf = (name: string) => createHash("sha256").update(name).digest("hex");
/** A bucket's name is its ID. */
const bucketName = (name: string) => `${name}-${hexOf(name).slice(0, 8)}`;

/** IDs shaped like the real ones where a script reads them (an EBS volume's ID names its device). */
export function fakeId(type: string, name: string): string {
  const prefix: Record<string, string> = {
    "aws:ebs/volume:Volume": "vol-0",
    "aws:ec2/instance:Instance": "i-0",
    "aws:ec2/securityGroup:SecurityGroup": "sg-0",
    "aws:ec2/eip:Eip": "eipalloc-0",
  };
  if (type === "aws:s3/bucket:Bucket") return bucketName(name);
  return prefix[type] ? `${prefix[type]}${hexOf(name).slice(0, 16)}` : `${name}-id`;
}

/** Data sources, answered like the provider would (an AMI and a default subnet of the zone asked for). */
export function fakeInvoke(token: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const hex = hexOf(JSON.stringify(inputs));
  switch (token) {
    case "aws:ec2/getAmi:getAmi":
      return { id: `ami-0${hex.slice(0, 16)}`, name: "debian-12-amd64-20261101-2000", architecture: "x86_64" };
    case "aws:ec2/getSubnet:getSubnet":
      return { id: inputs.id ?? `subnet-0${hex.slice(0, 16)}`, vpcId: `vpc-0${hex.slice(16, 32)}`, availabilityZone: inputs.availabilityZone };
    default:
      return {};
  }
}

/** Outputs the real providers compute, made up deterministically (digests and IDs from the name). */
export function fakeOutputs(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const hex = hexOf(name);
  switch (type) {
    case "tls:index/privateKey:PrivateKey": {
      const body = Buffer.from(hex).toString("base64");
      return {
        publicKeyOpenssh: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5${body.slice(0, 48)}\n`,
        // Plainly not key material: a marker plus text made from the name, on two lines like the real thing.
        privateKeyOpenssh: `${MOCK_PRIVATE_KEY_PREFIX}\n${body}\n`,
      };
    }
    case "aws:ec2/eip:Eip":
      // TEST-NET-2: a documentation address, never a real host.
      return { publicIp: `198.51.100.${(parseInt(hex.slice(0, 2), 16) % 254) + 1}` };
    case "aws:s3/bucket:Bucket":
      return { bucket: bucketName(name), arn: `arn:aws:s3:::${bucketName(name)}` };
    case "aws:iam/role:Role":
    case "aws:iam/instanceProfile:InstanceProfile":
      return { name: `${name}-${hex.slice(0, 8)}`, arn: `arn:aws:iam::123456789012:role/${name}` };
    case "aws:cloudwatch/logGroup:LogGroup":
      return { arn: `arn:aws:logs:eu-west-1:123456789012:log-group:${String(inputs.name)}` };
    case "aws:sns/topic:Topic":
      return { arn: `arn:aws:sns:eu-west-1:123456789012:${name}-${hex.slice(0, 8)}` };
    case "aws:cloudwatch/metricAlarm:MetricAlarm":
      return { name: `${name}-${hex.slice(0, 8)}` };
    case "aws:ec2/keyPair:KeyPair":
      return { keyName: `${name}-${hex.slice(0, 8)}` };
    // A digest changes with the image asked for, as a real one does: a new tag is a new container.
    case "docker:index/remoteImage:RemoteImage": {
      const digest = hexOf(`${name}|${String(inputs.name)}`);
      return { imageId: `sha256:${digest}`, repoDigest: `${String(inputs.name).replace(/[:@].*$/, "")}@sha256:${digest}` };
    }
    case "docker:index/image:Image":
      return { repoDigest: `${String(inputs.imageName).replace(/:[^:/]*$/, "")}@sha256:${hexOf(`${name}|${String(inputs.imageName)}`)}` };
    case "command:local:Command":
    case "command:remote:Command":
      return { stdout: "", stderr: "" };
    default:
      return {};
  }
}

/** How the dry run shows a value only a real provider knows (a digest, an ID, an address). */
export const UNKNOWN = "[known after deploy]";
const DIGEST = /sha256:[0-9a-f]{64}/g;

/**
 * The made-up values of one resource, each with what the dry run prints instead: digests (the
 * repository before `@` stays), IDs and the other computed outputs, and an app container's name,
 * whose fingerprint covers its image digest.
 */
export function unknownsOf(
  type: string,
  id: string,
  inputs: Record<string, unknown>,
  outputs: Record<string, unknown>,
  known: Map<string, string>,
): [string, string][] {
  const found: [string, string][] = [[id, UNKNOWN]];
  for (const [key, value] of Object.entries(outputs)) {
    if (typeof value !== "string" || value === "" || key === "privateKeyOpenssh") continue;
    const digests = value.match(DIGEST);
    if (digests) found.push(...digests.map((d): [string, string] => [d, UNKNOWN]));
    else found.push([value.trim(), UNKNOWN]);
  }
  const image = inputs.image;
  const name = inputs.name;
  if (type === "docker:index/container:Container" && typeof image === "string" && typeof name === "string" && /-[0-9a-f]{8}$/.test(name)) {
    if ([...known.keys()].some((v) => image.includes(v))) found.push([name, name.replace(/[0-9a-f]{8}$/, UNKNOWN)]);
  }
  return found;
}

/** `text` with every made-up value replaced by what the dry run prints instead (longest first). */
export function markUnknowns(text: string, unknowns: Map<string, string>): string {
  let out = text;
  for (const value of [...unknowns.keys()].sort((a, b) => b.length - a.length)) out = out.split(value).join(unknowns.get(value)!);
  return out;
}

/** The IDs a data source stand-in made up (an AMI, a default subnet's VPC); what the config named stays. */
export function unknownsOfLookup(inputs: Record<string, unknown>, result: Record<string, unknown>): [string, string][] {
  const asked = new Set(Object.values(inputs));
  return Object.values(result)
    .filter((v): v is string => typeof v === "string" && /^[a-z]+-0[0-9a-f]{16}$/.test(v) && !asked.has(v))
    .map((v) => [v, UNKNOWN]);
}

/** Summaries of the AWS host's resources for the dry run's table. Pure. */
import type { RecordedResource } from "../mockRuntime/harness";

type Ingress = { fromPort: number; cidrBlocks?: string[]; ipv6CidrBlocks?: string[] }[];

/** Key inputs of an AWS resource (`i`: its inputs with secrets masked); undefined for other types. */
export function describeAws(r: RecordedResource, i: Record<string, unknown>): string[] | undefined {
  const kept = [...(r.opts.protect ? ["protect"] : []), ...(r.opts.retainOnDelete ? ["retainOnDelete"] : [])];
  switch (r.type) {
    case "aws:ec2/instance:Instance": {
      const md = i.metadataOptions as { httpTokens?: string } | undefined;
      return [
        `type=${i.instanceType}`,
        `ami=${i.ami}`,
        `zone=${i.availabilityZone}`,
        `imds=${md?.httpTokens === "required" ? "v2" : "v1"}`,
        `userData=${i.userData === "[secret]" ? "[secret]" : "(text)"}`,
      ];
    }
    case "aws:ec2/securityGroup:SecurityGroup":
      return [
        `in=${((i.ingress as Ingress | undefined) ?? []).map((g) => `${g.fromPort}<-${[...(g.cidrBlocks ?? []), ...(g.ipv6CidrBlocks ?? [])].join(",")}`).join(" ")}`,
      ];
    case "aws:ebs/volume:Volume":
      return [`size=${i.size}GiB`, `zone=${i.availabilityZone}`, `encrypted=${i.encrypted === true}`, ...kept];
    case "aws:ec2/volumeAttachment:VolumeAttachment":
      return [`device=${i.deviceName}`, `volume=${i.volumeId}`];
    case "aws:s3/bucket:Bucket":
      return kept;
    case "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration":
      return [
        // A prefix without an age (restic's repository) is kept: restic decides.
        `expire=${((i.rules as { filter: { prefix: string }; expiration: { days?: number } }[]) ?? []).map((x) => `${x.filter.prefix}${x.expiration.days ? `${x.expiration.days}d` : "never"}`).join(",")}`,
      ];
    case "aws:ec2/keyPair:KeyPair":
      return [`publicKey=${String(i.publicKey).split(" ").slice(0, 1)}`];
    default:
      return undefined;
  }
}

import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { BUCKET } from "../awsLib";

const PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock";
const ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration";
const VERSIONING = "aws:s3/bucketVersioning:BucketVersioning";
const LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration";
const BLOCKS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"] as const;

/** A companion resource configures `bucket` when it names it (resolved) or depends on it through its `bucket` input (preview). */
function configures(r: PolicyResource, bucket: PolicyResource): boolean {
  const named = r.props.bucket;
  if (named !== undefined && (named === bucket.props.bucket || named === bucket.props.id)) return true;
  return (r.propertyDependencies?.bucket ?? []).some((d) => d.urn === bucket.urn);
}

/** Backups hold every user's data: the bucket is never public, is encrypted and versioned, and expires old tiers. */
export const backupBucketPrivate: StackValidationPolicy = {
  name: "backup-bucket-private",
  description: "Every S3 bucket of the stack blocks public access (all four settings), is encrypted, has versioning enabled and lifecycle rules.",
  configSchema: { properties: {} },
  validateStack: (args, report) => {
    for (const bucket of args.resources.filter((r) => r.type === BUCKET)) {
      const of = (type: string) => args.resources.filter((r) => r.type === type && configures(r, bucket));
      const blocks = of(PUBLIC_ACCESS_BLOCK);
      if (!blocks.some((b) => BLOCKS.every((k) => b.props[k] === true))) {
        report(`${bucket.name}: public access is not fully blocked (need a BucketPublicAccessBlock with ${BLOCKS.join(", ")} all true).`, bucket.urn);
      }
      if (!of(ENCRYPTION).length) report(`${bucket.name}: no server-side encryption configuration.`, bucket.urn);
      const versioned = of(VERSIONING).some((v) => (v.props.versioningConfiguration as { status?: string } | undefined)?.status === "Enabled");
      if (!versioned) report(`${bucket.name}: versioning is not enabled; an overwritten or deleted backup could not be recovered.`, bucket.urn);
      if (!of(LIFECYCLE).length) report(`${bucket.name}: no lifecycle rules; backups would be kept (and paid for) forever.`, bucket.urn);
    }
  },
};

import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { BUCKET } from "../awsLib";

const PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock";
const ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration";
const VERSIONING = "aws:s3/bucketVersioning:BucketVersioning";
const LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration";
const LOGGING = "aws:s3/bucketLogging:BucketLogging";
const BLOCKS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"] as const;

/** A companion resource names `bucket` in its `key` input: by value (resolved) or through a dependency (preview). */
function names(r: PolicyResource, bucket: PolicyResource, key = "bucket"): boolean {
  const named = r.props[key];
  if (named !== undefined && (named === bucket.props.bucket || named === bucket.props.id)) return true;
  return (r.propertyDependencies?.[key] ?? []).some((d) => d.urn === bucket.urn);
}

/**
 * Backups hold every user's data: the bucket is never public, is encrypted and versioned, expires
 * old tiers, and logs who accessed it (a bucket that receives access logs does not log itself).
 */
export const backupBucketPrivate: StackValidationPolicy = {
  name: "backup-bucket-private",
  description:
    "Every S3 bucket of the stack blocks public access (all four settings), is encrypted, has versioning enabled and lifecycle rules, and has access logging unless it is the log target.",
  configSchema: { properties: {} },
  validateStack: (args, report) => {
    for (const bucket of args.resources.filter((r) => r.type === BUCKET)) {
      const of = (type: string) => args.resources.filter((r) => r.type === type && names(r, bucket));
      const blocks = of(PUBLIC_ACCESS_BLOCK);
      if (!blocks.some((b) => BLOCKS.every((k) => b.props[k] === true))) {
        report(`${bucket.name}: public access is not fully blocked (need a BucketPublicAccessBlock with ${BLOCKS.join(", ")} all true).`, bucket.urn);
      }
      if (!of(ENCRYPTION).length) report(`${bucket.name}: no server-side encryption configuration.`, bucket.urn);
      const versioned = of(VERSIONING).some((v) => (v.props.versioningConfiguration as { status?: string } | undefined)?.status === "Enabled");
      if (!versioned) report(`${bucket.name}: versioning is not enabled; an overwritten or deleted backup could not be recovered.`, bucket.urn);
      if (!of(LIFECYCLE).length) report(`${bucket.name}: no lifecycle rules; backups would be kept (and paid for) forever.`, bucket.urn);
      const logTarget = args.resources.some((r) => r.type === LOGGING && names(r, bucket, "targetBucket"));
      if (!logTarget && !of(LOGGING).length)
        report(`${bucket.name}: no access logging (aws.s3.BucketLogging); reads of backups would leave no trace.`, bucket.urn);
    }
  },
};

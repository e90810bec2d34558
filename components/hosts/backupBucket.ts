import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { lifecycleRules, tlsOnlyBucketPolicy } from "../renderers/aws";

export interface BackupBucketArgs {
  /** The AWS provider (its region) the bucket is created with. */
  provider: aws.Provider;
  /** Tags on the bucket. @default {} */
  tags?: Record<string, string>;
}

/**
 * Off-host Mongo backups: a private, versioned, encrypted S3 bucket that only accepts TLS, with
 * lifecycle rules for the daily, weekly and monthly tiers. The bucket is retained when the stack
 * is destroyed (it holds the backups you would restore from).
 */
export class BackupBucket extends pulumi.ComponentResource {
  public readonly bucketName: pulumi.Output<string>;
  public readonly bucketArn: pulumi.Output<string>;

  constructor(name: string, args: BackupBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:backup:BackupBucket", name, {}, opts);
    const child = { parent: this, provider: args.provider };
    const bucket = new aws.s3.Bucket(`${name}-bucket`, { forceDestroy: false, tags: args.tags ?? {} }, { ...child, retainOnDelete: true });
    const access = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      child,
    );
    const versioning = new aws.s3.BucketVersioning(`${name}-versioning`, { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } }, child);
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }] },
      child,
    );
    // Lifecycle rules on a versioned bucket need versioning set first.
    new aws.s3.BucketLifecycleConfiguration(`${name}-lifecycle`, { bucket: bucket.id, rules: lifecycleRules() }, { ...child, dependsOn: [versioning] });
    new aws.s3.BucketPolicy(`${name}-tls-only`, { bucket: bucket.id, policy: bucket.arn.apply(tlsOnlyBucketPolicy) }, { ...child, dependsOn: [access] });
    this.bucketName = bucket.bucket;
    this.bucketArn = bucket.arn;
    this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn });
  }
}

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ACCESS_LOG_PREFIX, accessLogBucketPolicy, accessLogLifecycleRules, lifecycleRules, tlsOnlyBucketPolicy } from "../renderers/hosts/aws";

export interface BackupBucketArgs {
  /** The AWS provider (its region) the bucket is created with. */
  provider: aws.Provider;
  /** Tags on the bucket. @default {} */
  tags?: Record<string, string>;
}

type Rules = aws.s3.BucketLifecycleConfigurationArgs["rules"];

/**
 * Off-host Mongo backups: a private, versioned, encrypted S3 bucket that only accepts TLS, with
 * lifecycle rules for the daily, weekly and monthly tiers, and server access logging into a second
 * private bucket (who read or wrote which backup, kept ACCESS_LOG_DAYS). Both buckets are retained
 * when the stack is destroyed: one holds the backups you would restore from, the other the audit trail.
 */
export class BackupBucket extends pulumi.ComponentResource {
  public readonly bucketName: pulumi.Output<string>;
  public readonly bucketArn: pulumi.Output<string>;
  /** The bucket the backup bucket's access logs go to. */
  public readonly accessLogBucketName: pulumi.Output<string>;

  constructor(name: string, args: BackupBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:backup:BackupBucket", name, {}, opts);
    const child = { parent: this, provider: args.provider };
    const tags = args.tags ?? {};

    /** A retained bucket with public access blocked, SSE-S3 encryption, versioning and lifecycle rules; `${prefix}-…` names. */
    const privateBucket = (prefix: string, rules: Rules) => {
      const bucket = new aws.s3.Bucket(`${prefix}-bucket`, { forceDestroy: false, tags }, { ...child, retainOnDelete: true });
      const access = new aws.s3.BucketPublicAccessBlock(
        `${prefix}-public-access`,
        { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
        child,
      );
      const versioning = new aws.s3.BucketVersioning(`${prefix}-versioning`, { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } }, child);
      // SSE-S3: the only encryption S3 server access logging can write into.
      new aws.s3.BucketServerSideEncryptionConfiguration(
        `${prefix}-encryption`,
        { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }] },
        child,
      );
      // Lifecycle rules on a versioned bucket need versioning set first.
      new aws.s3.BucketLifecycleConfiguration(`${prefix}-lifecycle`, { bucket: bucket.id, rules }, { ...child, dependsOn: [versioning] });
      return { bucket, access };
    };

    const backups = privateBucket(name, lifecycleRules());
    new aws.s3.BucketPolicy(
      `${name}-tls-only`,
      { bucket: backups.bucket.id, policy: backups.bucket.arn.apply(tlsOnlyBucketPolicy) },
      { ...child, dependsOn: [backups.access] },
    );

    const logs = privateBucket(`${name}-access-logs`, accessLogLifecycleRules());
    const logPolicy = new aws.s3.BucketPolicy(
      `${name}-access-logs-policy`,
      { bucket: logs.bucket.id, policy: pulumi.all([logs.bucket.arn, backups.bucket.arn]).apply(([log, source]) => accessLogBucketPolicy(log, source)) },
      { ...child, dependsOn: [logs.access] },
    );
    new aws.s3.BucketLogging(
      `${name}-access-logging`,
      { bucket: backups.bucket.id, targetBucket: logs.bucket.id, targetPrefix: ACCESS_LOG_PREFIX },
      { ...child, dependsOn: [logPolicy] },
    );

    this.bucketName = backups.bucket.bucket;
    this.bucketArn = backups.bucket.arn;
    this.accessLogBucketName = logs.bucket.bucket;
    this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn, accessLogBucketName: this.accessLogBucketName });
  }
}

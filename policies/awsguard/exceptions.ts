/**
 * The awsguard policies this stack does not pass, each with the reason and what checks the same
 * intent instead. The awsguard pack (./index.ts) disables exactly these; the tests run every
 * awsguard policy over the program's aws graph and require the violations to be exactly these,
 * so a new finding fails the build and an exception that stopped firing is noticed.
 */
export interface AwsguardException {
  /** awsguard's policy name, as it reports violations. */
  policy: string;
  /** The key of AwsGuardArgs that disables it. */
  setting: "ec2VolumeInUse" | "s3BucketLoggingEnabled";
  reason: string;
}

export const AWSGUARD_EXCEPTIONS: readonly AwsguardException[] = [
  {
    policy: "ec2-volume-inuse",
    setting: "ec2VolumeInUse",
    reason:
      "It wants the data disk inline on the instance (ebsBlockDevices) and deleted with it. The stack keeps Docker's data on a " +
      "separate aws.ebs.Volume with a VolumeAttachment, protected and retained, so replacing or terminating the instance keeps " +
      "every image and Mongo volume; aws-host-hardened checks that volume is encrypted and protected.",
  },
  {
    policy: "s3-bucket-logging-enabled",
    setting: "s3BucketLoggingEnabled",
    reason:
      "awsguard 0.3.1 reads only the inline `loggings` of @pulumi/aws 4's Bucket. With @pulumi/aws 7 access logging is a " +
      "separate aws.s3.BucketLogging, which it cannot see: it fires on the backup bucket (which is logged) and on the " +
      "access-log bucket (a log target does not log into itself). backup-bucket-private checks every bucket that is not a " +
      "log target has a BucketLogging.",
  },
];

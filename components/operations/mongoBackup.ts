import * as pulumi from "@pulumi/pulumi";
import { backupScript, BackupSpec } from "../renderers/operations/backup";
import { backupDoes } from "../renderers/operations/stepDescriptions";
import type { DockerHost } from "../hosts/dockerHost";
import { hostCommand } from "./hostCommand";

export interface MongoBackupArgs {
  host: DockerHost;
  /** Container, volume, folder, prefix, retention (components/renderers/operations/backup.ts). */
  spec: BackupSpec;
  /**
   * What the backup comes before: any change of these runs it (Mongo's image, settings and password
   * hash; or the apps' images and settings). Secrets only as hashes (hostCommand.ts secretHash).
   */
  triggers: pulumi.Input<unknown>[];
  /** What it comes before, for the step's description (e.g. `before a Mongo change`). */
  before: string;
  /** Also upload each verified backup to this S3 bucket (aws hosts, with the instance role). @default no upload */
  s3?: { bucket: pulumi.Input<string>; region: string };
}

/** The backup script, with the S3 upload when the bucket is known. */
export function backupScriptOf(spec: BackupSpec, s3?: MongoBackupArgs["s3"]): pulumi.Input<string> {
  return s3 ? pulumi.output(s3.bucket).apply((bucket) => backupScript({ ...spec, upload: { bucket, region: s3.region } })) : backupScript(spec);
}

/**
 * A verified archive of Mongo's volume, made on the host before a change (`triggers`). What
 * depends on it (Mongo's container, or the new API) waits: a failed backup stops the deploy before
 * anything it protects is touched.
 */
export class MongoBackup extends pulumi.ComponentResource {
  /** What the backup printed (file, size, sha256). */
  public readonly stdout: pulumi.Output<string>;

  constructor(name: string, args: MongoBackupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:db:MongoBackup", name, {}, opts);
    const cmd = hostCommand(
      `${name}-run`,
      {
        host: args.host,
        script: backupScriptOf(args.spec, args.s3),
        does: args.s3 ? pulumi.output(args.s3.bucket).apply((b) => backupDoes(args.spec, args.before, b)) : backupDoes(args.spec, args.before),
        triggers: args.triggers,
      },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.stdout = cmd.stdout;
    this.registerOutputs({ stdout: this.stdout });
  }
}

import * as pulumi from "@pulumi/pulumi";
import { backupScript, BackupSpec } from "../renderers/backup";
import type { DockerHost } from "../hosts/dockerHost";
import { hostCommand, secretHash } from "./hostCommand";

export interface MongoBackupArgs {
  host: DockerHost;
  /** Container, volume, folder, prefix, retention (components/renderers/backup.ts). */
  spec: BackupSpec;
  /** Mongo's image: a new one is a change to back up before. */
  image: pulumi.Input<string>;
  /** Mongo's settings (user, database, limits...): a change to back up before. */
  settings: Record<string, unknown>;
  /** Mongo's password: rotating it is a change to back up before (only its hash reaches the trigger). */
  password: pulumi.Input<string>;
  /** Also upload each verified backup to this S3 bucket (aws hosts, with the instance role). @default no upload */
  s3?: { bucket: pulumi.Input<string>; region: string };
}

/**
 * A verified archive of Mongo's volume, made on the host before every change to Mongo (image,
 * settings, password). The Mongo container depends on it, so a failed backup stops the deploy
 * before Mongo is touched.
 */
export class MongoBackup extends pulumi.ComponentResource {
  /** What the backup printed (file, size, sha256). */
  public readonly stdout: pulumi.Output<string>;

  constructor(name: string, args: MongoBackupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:db:MongoBackup", name, {}, opts);
    const s3 = args.s3;
    const script = s3
      ? pulumi.output(s3.bucket).apply((bucket) => backupScript({ ...args.spec, upload: { bucket, region: s3.region } }))
      : backupScript(args.spec);
    const cmd = hostCommand(
      `${name}-run`,
      { host: args.host, script, triggers: [args.image, JSON.stringify(args.settings), secretHash(args.password)] },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.stdout = cmd.stdout;
    this.registerOutputs({ stdout: this.stdout });
  }
}

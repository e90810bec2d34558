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
        script: backupScript(args.spec),
        does: backupDoes(args.spec, args.before),
        triggers: args.triggers,
      },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.stdout = cmd.stdout;
    this.registerOutputs({ stdout: this.stdout });
  }
}

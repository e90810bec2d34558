import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { DockerHost } from "../hosts/dockerHost";
import { offsiteFilesInput, offsiteFilesRemoveScript, offsiteFilesScript, OffsiteSpec } from "../renderers/operations/offsite";
import { offsiteDoes } from "../renderers/operations/stepDescriptions";
import { hostCommand } from "./hostCommand";

export interface OffsiteRepositoryArgs {
  host: DockerHost;
  /** Target, folder on the host, restic image and retention (components/renderers/operations/offsite.ts). */
  spec: OffsiteSpec;
  /** The target's credentials, secrets: the SFTP key, the S3 key pair or the REST password (none for backup.s3: the instance role). @default none */
  credentials: {
    sshKey?: pulumi.Input<string>;
    s3AccessKeyId?: pulumi.Input<string>;
    s3SecretAccessKey?: pulumi.Input<string>;
    restPassword?: pulumi.Input<string>;
  };
  /** The stack's bucket, for a repository of `backup.s3` (its target names none until the bucket exists). @default none */
  bucket?: pulumi.Input<string>;
  /** Length of the generated repository password. @default 48 */
  passwordLength?: number;
}

/**
 * The restic repository off the host that every backup also writes to: its password generated
 * once by @pulumi/random and kept in the stack's encrypted state (without it the snapshots cannot be
 * read: export it once, docs/operations.md), and the password and the target's credentials written
 * on the host as private files (stdin, never a command line) for the backups, the schedule and the
 * restore CLI. Deleting it removes the files; the repository and its snapshots stay where they are.
 */
export class OffsiteRepository extends pulumi.ComponentResource {
  /** The repository's password (a secret output). */
  public readonly password: pulumi.Output<string>;
  /** What restic writes to, without credentials (`sftp:user@host:/path`). */
  public readonly spec: OffsiteSpec;
  /** The step that writes the files: backups wait for it. */
  public readonly ready: pulumi.Resource;

  constructor(name: string, args: OffsiteRepositoryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:backup:OffsiteRepository", name, {}, opts);
    const generated = new random.RandomPassword(`${name}-password`, { length: args.passwordLength ?? 48, special: false }, { parent: this });
    this.password = pulumi.secret(generated.result);
    this.spec = args.spec;
    const c = args.credentials;
    const input = pulumi.secret(
      pulumi
        .all([generated.result, c.sshKey, c.s3AccessKeyId, c.s3SecretAccessKey, c.restPassword, args.bucket])
        .apply(([password, sshKey, id, key, restPassword, bucket]) =>
          offsiteFilesInput(args.spec.target.kind === "aws" ? { ...args.spec.target, bucket } : args.spec.target, {
            password,
            sshKey,
            s3: id !== undefined && key !== undefined ? { accessKeyId: id, secretAccessKey: key } : undefined,
            restPassword,
          }),
        ),
    );
    this.ready = hostCommand(
      `${name}-files`,
      {
        host: args.host,
        script: offsiteFilesScript(args.spec),
        does: offsiteDoes(args.spec),
        // No trigger: new credentials (a changed secret stdin) update the files in place. A trigger would
        // replace the step, and the old step's removal, which the engine runs last, would delete the new files.
        triggers: [],
        stdin: input,
        remove: offsiteFilesRemoveScript(args.spec),
      },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.registerOutputs({ password: this.password });
  }
}

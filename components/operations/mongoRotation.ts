import * as pulumi from "@pulumi/pulumi";
import { rotationScript, RotationSpec } from "../renderers/operations/rotation";
import { rotationDoes } from "../renderers/operations/stepDescriptions";
import type { DockerHost } from "../hosts/dockerHost";
import { hostCommand, secretHash } from "./hostCommand";

export interface MongoRotationArgs {
  host: DockerHost;
  /** The Mongo container and its volume (components/renderers/operations/rotation.ts). */
  spec: RotationSpec;
  /** The password Mongo must have after this step (a secret; it travels on stdin only). */
  password: pulumi.Input<string>;
  /**
   * Mongo's image, on the host before this step runs: with it, data there but no Mongo running (a new
   * host after a restore onto it) gets the password through a throwaway mongod instead of failing the step.
   * @default none (refused)
   */
  image?: pulumi.Input<string>;
}

/**
 * Changes the Mongo user's password inside the running mongod (`db.changeUserPassword`) when the
 * stack's Mongo password changes, so the data volume keeps its data and needs no re-init. The
 * Mongo container (with the new password file) and then the API depend on it: if the change
 * fails, neither is touched. A changed `mongo.user` on existing data is refused here. With an
 * image (one host), data but no running Mongo is given the password by a throwaway mongod.
 */
export class MongoRotation extends pulumi.ComponentResource {
  /** What the step printed (no secret: only the user name). */
  public readonly stdout: pulumi.Output<string>;

  constructor(name: string, args: MongoRotationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:db:MongoRotation", name, {}, opts);
    const cmd = hostCommand(
      `${name}-change`,
      {
        host: args.host,
        script: pulumi.output(args.image).apply((image) => rotationScript({ ...args.spec, ...(image ? { image } : {}) })),
        does: rotationDoes(args.spec),
        triggers: [secretHash(args.password), args.spec.user],
        stdin: pulumi.secret(args.password),
      },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.stdout = cmd.stdout;
    this.registerOutputs({ stdout: this.stdout });
  }
}

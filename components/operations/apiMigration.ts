import * as pulumi from "@pulumi/pulumi";
import type { DockerHost } from "../hosts/dockerHost";
import { migrateScript } from "../renderers/operations/migrate";
import { migrateDoes } from "../renderers/operations/stepDescriptions";
import { hostCommand } from "./hostCommand";

export interface ApiMigrationArgs {
  host: DockerHost;
  /** The new API container (not yet routed to). */
  container: pulumi.Input<string>;
  /** Its ID: a new API container runs the migration again. */
  containerId: pulumi.Input<string>;
  /** The command (config `api.migrate`), e.g. `["python", "-m", "scripts.migrate"]`. */
  command: string[];
}

/**
 * The seeds' `make db-migrate`, in `pulumi up`: after the backup, in a one-off container of the new
 * API's image, before the new API's ready gate and route switch. A failure stops the update with
 * the old API serving.
 */
export class ApiMigration extends pulumi.ComponentResource {
  /** What the migration printed. */
  public readonly stdout: pulumi.Output<string>;

  constructor(name: string, args: ApiMigrationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:app:ApiMigration", name, {}, opts);
    const cmd = hostCommand(
      `${name}-run`,
      {
        host: args.host,
        script: pulumi.output(args.container).apply((container) => migrateScript({ container, command: args.command })),
        does: pulumi.output(args.container).apply((container) => migrateDoes(container, args.command)),
        triggers: [args.containerId],
      },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.stdout = cmd.stdout;
    this.registerOutputs({ stdout: this.stdout });
  }
}

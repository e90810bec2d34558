import * as pulumi from "@pulumi/pulumi";
import type { DockerHost } from "../hosts/dockerHost";
import { swarmMigrateDoes } from "../renderers/operations/stepDescriptions";
import { swarmMigrateScript, SwarmMigrateSpec } from "../renderers/swarm/migrate";
import { hostCommand } from "./hostCommand";

export interface SwarmMigrationArgs {
  host: DockerHost;
  /** The new API image (by digest), its env, network and secrets, and the command (config `api.migrate`). */
  spec: pulumi.Input<SwarmMigrateSpec>;
}

/**
 * The seeds' `make db-migrate` on a swarm, in `pulumi up`: a one-off task (replicated job) of the
 * new API image on the stack's network, through the manager, after the backup and before the API's
 * rolling update, which waits for it. A new image or command runs it again; a failure stops the
 * update with the old API serving (components/renderers/swarm/migrate.ts).
 */
export class SwarmMigration extends pulumi.ComponentResource {
  /** What the migration printed. */
  public readonly stdout: pulumi.Output<string>;

  constructor(name: string, args: SwarmMigrationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:swarm:SwarmMigration", name, {}, opts);
    const spec = pulumi.output(args.spec);
    const cmd = hostCommand(
      `${name}-run`,
      {
        host: args.host,
        script: spec.apply((s) => swarmMigrateScript(s as SwarmMigrateSpec)),
        does: spec.apply((s) => swarmMigrateDoes(s.command, s.network)),
        triggers: [spec.image, spec.command.apply((c) => JSON.stringify(c))],
      },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.stdout = cmd.stdout;
    this.registerOutputs({ stdout: this.stdout });
  }
}

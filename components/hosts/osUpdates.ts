import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config";
import { hostCommand } from "../operations/hostCommand";
import { osUpdatesScript, OsUpdatesSpec } from "../renderers/hosts/osUpdates";
import { osUpdatesDoes } from "../renderers/operations/stepDescriptions";
import type { DockerHost } from "./dockerHost";

export interface OsUpdatesArgs {
  /** An ssh host (an aws host gets the same at first boot, in its user data). */
  host: DockerHost;
  /** The reboot policy (config `host.osUpdates`). */
  spec: OsUpdatesSpec;
}

/**
 * Unattended security upgrades on an ssh host: the step installs and configures Debian's
 * unattended-upgrades when it can become root (passwordless sudo), and afterwards only checks that the
 * files still say what config says. A new reboot policy is an update that writes them again. Deleting
 * it (`host.osUpdates.enabled: false`) leaves the host's upgrades as they are.
 */
export class OsUpdates extends pulumi.ComponentResource {
  public readonly stdout: pulumi.Output<string>;

  constructor(name: string, args: OsUpdatesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:host:OsUpdates", name, {}, opts);
    const cmd = hostCommand(
      `${name}-configure`,
      { host: args.host, script: osUpdatesScript(args.spec), does: osUpdatesDoes(args.spec), triggers: [] },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.stdout = cmd.stdout;
    this.registerOutputs({ stdout: this.stdout });
  }
}

/** The OS updates step of an ssh host whose `host.osUpdates.enabled` is on (the default); none for other hosts. */
export function osUpdatesOf(
  parent: pulumi.Resource,
  name: string,
  host: DockerHost,
  cfg: Pick<StackConfig, "host">,
  after: pulumi.Resource[],
): OsUpdates | undefined {
  if (cfg.host.kind !== "ssh" || !cfg.host.osUpdates.enabled) return undefined;
  return new OsUpdates(name, { host, spec: cfg.host.osUpdates }, { parent, dependsOn: after });
}

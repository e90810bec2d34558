import * as pulumi from "@pulumi/pulumi";
import { preflightScript, PreflightSpec } from "../renderers/operations/preflight";
import { preflightDoes, swarmPreflightDoes } from "../renderers/operations/stepDescriptions";
import { swarmPreflightScript, SwarmPreflightSpec } from "../renderers/swarm/preflight";
import type { DockerHost } from "../hosts/dockerHost";
import { hostCommand } from "./hostCommand";

export interface PreflightArgs {
  host: DockerHost;
  /**
   * What the script checks: ports, names, free space (components/renderers/operations/preflight.ts);
   * on a swarm also the nodes, through the manager (components/renderers/swarm/preflight.ts).
   */
  spec: PreflightSpec | SwarmPreflightSpec;
  /** The images about to be deployed (refs or build specs): a new one re-runs the checks. @default [] */
  images?: pulumi.Input<string>[];
}

/**
 * Read-only checks on the host before anything of the stack is created or changed; every
 * container, volume and network depends on it. It re-runs when what it checks changes (the script
 * embeds the ports and names) or the images do, not on every `up`.
 */
export class Preflight extends pulumi.ComponentResource {
  /** What the checks printed. */
  public readonly stdout: pulumi.Output<string>;

  constructor(name: string, args: PreflightArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:host:Preflight", name, {}, opts);
    const spec = args.spec;
    const [script, does] = "nodes" in spec ? [swarmPreflightScript(spec), swarmPreflightDoes(spec)] : [preflightScript(spec), preflightDoes(spec)];
    const cmd = hostCommand(
      `${name}-check`,
      { host: args.host, script, does, triggers: [script, ...(args.images ?? [])] },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.stdout = cmd.stdout;
    this.registerOutputs({ stdout: this.stdout });
  }
}

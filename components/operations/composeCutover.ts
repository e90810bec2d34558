import * as pulumi from "@pulumi/pulumi";
import { AdoptSpec, cutoverScript } from "../renderers/operations/adopt";
import { cutoverDoes } from "../renderers/operations/stepDescriptions";
import type { DockerHost } from "../hosts/dockerHost";
import { hostCommand } from "./hostCommand";

export interface ComposeCutoverArgs {
  host: DockerHost;
  /** The stack, the compose project and its service names (components/renderers/operations/adopt.ts). */
  spec: AdoptSpec;
  /** Config `adopt.attempt`: a new value runs the cut-over again (after a hand-back). */
  attempt: string;
}

/**
 * The cut-over from a running compose deployment: after the backup, pre-flight and the images,
 * before the stack's Mongo, Redis and proxy are created, compose's containers are stopped (apps
 * first, then Redis and Mongo with a clean shutdown), never removed. The gates hand back to compose
 * if the stack does not become healthy (renderers/operations/health.ts); the last gate ends the cut-over.
 */
export class ComposeCutover extends pulumi.ComponentResource {
  /** What the cut-over printed (the containers it stopped). */
  public readonly stdout: pulumi.Output<string>;

  constructor(name: string, args: ComposeCutoverArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:host:ComposeCutover", name, {}, opts);
    const script = cutoverScript(args.spec);
    const cmd = hostCommand(
      `${name}-stop`,
      { host: args.host, script, does: cutoverDoes(args.spec), triggers: [script, args.attempt] },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.stdout = cmd.stdout;
    this.registerOutputs({ stdout: this.stdout });
  }
}

import * as pulumi from "@pulumi/pulumi";
import type { AdoptSpec } from "../renderers/operations/adopt";
import { readyGateScript, ReadySpec } from "../renderers/operations/health";
import { readyDoes } from "../renderers/operations/stepDescriptions";
import type { DockerHost } from "../hosts/dockerHost";
import { hostCommand, maskingStdin } from "./hostCommand";

export interface ContainerReadyArgs {
  host: DockerHost;
  /** Timeout and poll interval (components/renderers/operations/health.ts). */
  spec: Omit<ReadySpec, "container">;
  /** The new app container. */
  container: pulumi.Input<string>;
  /** Its ID: a new container runs the gate again. */
  containerId: pulumi.Input<string>;
  /** Values masked in the log printed on failure (sent on stdin). @default [] */
  secrets?: pulumi.Input<string>[];
  /** Adopting a compose deployment: hand back on failure; `attempt` re-runs the gate. @default none */
  adopt?: { spec: AdoptSpec; attempt: string };
}

/**
 * Waits for a new app container's own health check (the app's readiness) before its route is
 * switched. On failure it names the cause it can tell from the log (Mongo refused the API's
 * credentials, a missing secret, Redis refused) and the fix; the route is left as it was.
 */
export class ContainerReady extends pulumi.ComponentResource {
  public readonly stdout: pulumi.Output<string>;

  constructor(name: string, args: ContainerReadyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:app:ContainerReady", name, {}, opts);
    const stdin = maskingStdin(args.secrets ?? []);
    const cmd = hostCommand(
      `${name}-wait`,
      {
        host: args.host,
        script: pulumi.output(args.container).apply((container) => readyGateScript({ ...args.spec, container, adopt: args.adopt?.spec })),
        does: pulumi.output(args.container).apply((container) => readyDoes(container, args.spec.timeoutSeconds)),
        triggers: [args.containerId, ...(args.adopt ? [args.adopt.attempt] : [])],
        stdin,
      },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.stdout = cmd.stdout;
    this.registerOutputs({ stdout: this.stdout });
  }
}

import * as pulumi from "@pulumi/pulumi";
import type { AdoptSpec } from "../renderers/operations/adopt";
import { GateRoute, healthGateScript, HealthGateSpec } from "../renderers/operations/health";
import { gateDoes } from "../renderers/operations/stepDescriptions";
import type { DockerHost } from "../hosts/dockerHost";
import { hostCommand, maskingStdin } from "./hostCommand";

export interface HealthGateArgs {
  host: DockerHost;
  /** URL on the host, timeout and interval (components/renderers/operations/health.ts). */
  spec: Omit<HealthGateSpec, "container" | "revert">;
  /** The container whose logs are printed on failure. */
  container: pulumi.Input<string>;
  /** The container's ID: a new container re-runs the gate. */
  containerId: pulumi.Input<string>;
  /** Values masked in the logs printed on failure (sent on stdin). @default [] */
  secrets?: pulumi.Input<string>[];
  /**
   * The route this gate checks: made to lead to the container before polling (a re-run after a
   * failed gate tests this container, not the one the failure put back), and on failure put back
   * to the previous container. @default none (no route check, no revert)
   */
  revert?: Omit<GateRoute, "proxy"> & { proxy: pulumi.Input<string> };
  /** Adopting a compose deployment: hand back on failure (and with `finishes`, end the cut-over on success); `attempt` re-runs the gate. @default none */
  adopt?: { spec: AdoptSpec; attempt: string; finishes?: boolean };
}

/**
 * Waits until the app answers 200 through the host (the proxy) after its route was switched to a
 * new container; if it never does, the route goes back to the previous container and the update fails.
 */
export class HealthGate extends pulumi.ComponentResource {
  public readonly stdout: pulumi.Output<string>;

  constructor(name: string, args: HealthGateArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:app:HealthGate", name, {}, opts);
    const stdin = maskingStdin(args.secrets ?? []);
    const cmd = hostCommand(
      `${name}-wait`,
      {
        host: args.host,
        script: pulumi.all([args.container, args.revert?.proxy]).apply(([container, proxy]) =>
          healthGateScript({
            ...args.spec,
            container,
            ...(proxy && args.revert ? { revert: { ...args.revert, proxy } } : {}),
            ...(args.adopt ? { adopt: { spec: args.adopt.spec, finishes: args.adopt.finishes } } : {}),
          }),
        ),
        does: pulumi.output(args.container).apply((container) => gateDoes(args.spec, container, args.revert)),
        triggers: [args.containerId, ...(args.adopt ? [args.adopt.attempt] : [])],
        stdin,
      },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.stdout = cmd.stdout;
    this.registerOutputs({ stdout: this.stdout });
  }
}

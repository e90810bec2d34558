import * as pulumi from "@pulumi/pulumi";
import type { DockerHost } from "../hosts/dockerHost";
import { pidsLimitsScript } from "../renderers/operations/pidsLimits";
import { PIDS_LIMITS } from "../renderers/services/containers";
import { MONITORING_PIDS_LIMITS } from "../renderers/monitoring/containers";
import { hostCommand } from "./hostCommand";

export interface PidsLimitsArgs {
  host: DockerHost;
  /** Each service's (or monitoring part's) container name (an app's changes with each new container). */
  containers: Record<string, pulumi.Input<string>>;
  /** The limit of each, by the same key. @default PIDS_LIMITS and MONITORING_PIDS_LIMITS */
  limits?: Record<string, number>;
}

/**
 * Each container's pids limit, set on the host once the containers exist (the Docker provider cannot
 * set it). A new container changes the script (it names the containers), an update that sets the
 * limits again; a container runs without its limit only between its start and this step.
 */
export class PidsLimits extends pulumi.ComponentResource {
  public readonly stdout: pulumi.Output<string>;

  constructor(name: string, args: PidsLimitsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:host:PidsLimits", name, {}, opts);
    const limits: Record<string, number> = args.limits ?? { ...PIDS_LIMITS, ...MONITORING_PIDS_LIMITS };
    const services = Object.keys(args.containers);
    const script = pulumi
      .all(services.map((s) => args.containers[s]))
      .apply((names) => pidsLimitsScript(services.map((s, i): [string, string, number] => [s, names[i], limits[s]])));
    const cmd = hostCommand(
      `${name}-set`,
      { host: args.host, script, does: `pids limits: ${services.map((s) => `${s} ${limits[s]}`).join(", ")}`, triggers: [] },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.stdout = cmd.stdout;
    this.registerOutputs({ stdout: this.stdout });
  }
}

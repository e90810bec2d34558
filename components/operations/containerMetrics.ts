import * as pulumi from "@pulumi/pulumi";
import type { DockerHost } from "../hosts/dockerHost";
import { METRICS_SCHEDULE } from "../renderers/monitoring/hostMetrics";
import { installScheduleScript, removeScheduleScript } from "../renderers/operations/backupSchedule";
import { containerMetricsDoes } from "../renderers/operations/stepDescriptions";
import type { StackIdentity } from "../renderers/names";
import { hostCommand } from "./hostCommand";

export interface ContainerMetricsArgs {
  host: DockerHost;
  identity: StackIdentity;
  /** The job (components/renderers/monitoring/hostMetrics.ts, or swarmMetrics.ts on a swarm). */
  job: pulumi.Input<string>;
  /** Where it copies its metrics, for the step's description: the node exporter's container or task. */
  into: pulumi.Input<string>;
}

/**
 * The stack's containers' health and restarts for its monitoring (ContainerUnhealthy,
 * ContainerCrashLooping; on a swarm its services' tasks and nodes, NodeDown): a job in the deploy
 * user's crontab, installed after the node exporter and removed with the monitoring. A new job is an update that
 * installs again (never a replacement: the old one's delete would remove the new line).
 */
export class ContainerMetrics extends pulumi.ComponentResource {
  /** What the install printed: the schedule, the job file and its log. */
  public readonly stdout: pulumi.Output<string>;

  constructor(name: string, args: ContainerMetricsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:monitoring:ContainerMetrics", name, {}, opts);
    const cmd = hostCommand(
      `${name}-install`,
      {
        host: args.host,
        script: pulumi.output(args.job).apply((job) => installScheduleScript({ identity: args.identity, schedule: METRICS_SCHEDULE, job, task: "metrics" })),
        does: pulumi.output(args.into).apply((into) => containerMetricsDoes(METRICS_SCHEDULE, into)),
        triggers: [],
        remove: removeScheduleScript(args.identity, "metrics"),
      },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.stdout = cmd.stdout;
    this.registerOutputs({ stdout: this.stdout });
  }
}

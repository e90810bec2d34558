import * as pulumi from "@pulumi/pulumi";
import type { DockerHost } from "../hosts/dockerHost";
import { containerMetricsJob, METRICS_SCHEDULE } from "../renderers/monitoring/hostMetrics";
import { installScheduleScript, removeScheduleScript } from "../renderers/operations/backupSchedule";
import { containerMetricsDoes } from "../renderers/operations/stepDescriptions";
import type { StackIdentity } from "../renderers/names";
import { hostCommand } from "./hostCommand";

export interface ContainerMetricsArgs {
  host: DockerHost;
  identity: StackIdentity;
  /** The node exporter's container: the job copies its file into its textfile folder. */
  nodeExporter: pulumi.Input<string>;
}

/**
 * The stack's containers' health and restarts for its monitoring (ContainerUnhealthy,
 * ContainerCrashLooping): a job in the deploy user's crontab (components/renderers/monitoring/hostMetrics.ts),
 * installed after the node exporter and removed with the monitoring. A new job is an update that
 * installs again (never a replacement: the old one's delete would remove the new line).
 */
export class ContainerMetrics extends pulumi.ComponentResource {
  /** What the install printed: the schedule, the job file and its log. */
  public readonly stdout: pulumi.Output<string>;

  constructor(name: string, args: ContainerMetricsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:monitoring:ContainerMetrics", name, {}, opts);
    const nodeExporter = pulumi.output(args.nodeExporter);
    const cmd = hostCommand(
      `${name}-install`,
      {
        host: args.host,
        script: nodeExporter.apply((n) =>
          installScheduleScript({ identity: args.identity, schedule: METRICS_SCHEDULE, job: containerMetricsJob(args.identity, n), task: "metrics" }),
        ),
        does: nodeExporter.apply((n) => containerMetricsDoes(METRICS_SCHEDULE, n)),
        triggers: [],
        remove: removeScheduleScript(args.identity, "metrics"),
      },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.stdout = cmd.stdout;
    this.registerOutputs({ stdout: this.stdout });
  }
}

import * as pulumi from "@pulumi/pulumi";
import { backupScript, type BackupSpec } from "../renderers/operations/backup";
import { installScheduleScript, removeScheduleScript, scheduledJob } from "../renderers/operations/backupSchedule";
import type { StackIdentity } from "../renderers/names";
import { scheduleDoes } from "../renderers/operations/stepDescriptions";
import type { DockerHost } from "../hosts/dockerHost";
import { hostCommand } from "./hostCommand";
import { scheduleStartLines } from "../renderers/monitoring/hostMetrics";

export interface BackupScheduleArgs {
  host: DockerHost;
  identity: StackIdentity;
  /** Five cron fields, in the host's time zone (config `backup.schedule`). */
  schedule: string;
  /** The same backup (and retention) a deploy runs (components/renderers/operations/backup.ts). */
  spec: BackupSpec;
  /** Record each scheduled backup's result for the stack's monitoring (BackupFailed, BackupMissing). @default false */
  metrics?: boolean;
}

/**
 * Mongo backed up on a schedule by the host itself, between deploys: the stack installs the job
 * and its crontab line (components/renderers/operations/backupSchedule.ts) and removes them when it is
 * destroyed or the schedule is turned off; the archives stay. A new schedule or backup script
 * is an update that installs again (never a replacement: the old one's delete would remove the new line).
 */
export class BackupSchedule extends pulumi.ComponentResource {
  /** What the install printed: the schedule, the job file and its log. */
  public readonly stdout: pulumi.Output<string>;

  constructor(name: string, args: BackupScheduleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:db:BackupSchedule", name, {}, opts);
    const script = installScheduleScript({
      identity: args.identity,
      schedule: args.schedule,
      job: scheduledJob(backupScript(args.spec), args.metrics ? args.identity : undefined),
      setup: args.metrics ? scheduleStartLines(args.identity) : undefined,
    });
    const cmd = hostCommand(
      `${name}-install`,
      // No trigger: a new schedule or job is an update (the install replaces the stack's tagged line). As a
      // trigger it was a replacement, whose old resource's delete ran at the end and removed the new line.
      { host: args.host, script, does: scheduleDoes(args.schedule, args.spec), triggers: [], remove: removeScheduleScript(args.identity) },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.stdout = cmd.stdout;
    this.registerOutputs({ stdout: this.stdout });
  }
}

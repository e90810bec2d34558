import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AlarmSettings, instanceAlarms, webhookProtocol } from "../renderers/hosts/awsAlarms";

export interface AwsAlarmsArgs {
  /** The AWS provider of the host's region. */
  provider: aws.Provider;
  region: string;
  instanceId: pulumi.Input<string>;
  /** CPU threshold and minutes (config `host.alarms`). */
  settings: AlarmSettings;
  /** The stack's alert email (config `monitoring.alerts.email.to`). @default none */
  email?: string;
  /** The stack's alert webhook (`copilotos:alertWebhookUrl`, a secret). @default none */
  webhookUrl?: pulumi.Input<string>;
  /** Tags on every resource. @default {} */
  tags?: Record<string, string>;
}

/**
 * An AWS host's CloudWatch alarms (components/renderers/hosts/awsAlarms.ts: system status with
 * recovery, instance status with reboot, CPU) and the SNS topic (encrypted with the account's SNS
 * key) that delivers them to the stack's alert email and webhook.
 */
export class AwsAlarms extends pulumi.ComponentResource {
  public readonly topicArn: pulumi.Output<string>;
  /** The alarms' names, system first. */
  public readonly alarmNames: pulumi.Output<string>[];

  constructor(name: string, args: AwsAlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:host:AwsAlarms", name, {}, opts);
    const child = { parent: this, provider: args.provider };
    const tags = args.tags ?? {};
    const topic = new aws.sns.Topic(`${name}-topic`, { kmsMasterKeyId: "alias/aws/sns", tags }, child);
    if (args.email) new aws.sns.TopicSubscription(`${name}-email`, { topic: topic.arn, protocol: "email", endpoint: args.email }, child);
    if (args.webhookUrl !== undefined) {
      // The URL is a secret: so are the subscription's endpoint and the protocol read from it.
      const url = pulumi.secret(args.webhookUrl);
      new aws.sns.TopicSubscription(`${name}-webhook`, { topic: topic.arn, protocol: url.apply(webhookProtocol), endpoint: url }, child);
    }
    const alarms = instanceAlarms<pulumi.Input<string>>({ region: args.region, instanceId: args.instanceId, topicArn: topic.arn, settings: args.settings });
    this.alarmNames = alarms.map(
      ({ key, description, ...alarm }) => new aws.cloudwatch.MetricAlarm(`${name}-${key}`, { ...alarm, alarmDescription: description, tags }, child).name,
    );
    this.topicArn = topic.arn;
    this.registerOutputs({ topicArn: this.topicArn, alarmNames: this.alarmNames });
  }
}

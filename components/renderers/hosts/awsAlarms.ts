/**
 * An AWS host's CloudWatch alarms and where they go, as plain values: what the stack's own
 * monitoring cannot see from inside the instance (the instance or its hardware failing, a CPU
 * pinned), each alarm with its EC2 action and the SNS topic that tells the stack's receivers. Pure.
 */

/** The alarms' settings (config `host.alarms`). */
export interface AlarmSettings {
  /** CPUUtilization (average) above this percentage… */
  cpuPercent: number;
  /** …for this many minutes (1-minute periods: the instance has detailed monitoring). */
  cpuMinutes: number;
}

/** The parts of an `aws.cloudwatch.MetricAlarm` the stack sets; `T` is a string in tests, a Pulumi Input in the program. */
export interface InstanceAlarm<T> {
  /** The resource name's suffix and the alarm's name's. */
  key: "system" | "instance" | "cpu";
  description: string;
  metricName: string;
  namespace: "AWS/EC2";
  statistic: "Maximum" | "Average";
  period: number;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  threshold: number;
  comparisonOperator: "GreaterThanOrEqualToThreshold" | "GreaterThanThreshold";
  dimensions: { InstanceId: T };
  /** A status check with no data is not a failure (a stopped instance has none). */
  treatMissingData: "missing" | "notBreaching";
  alarmActions: T[];
  okActions: T[];
}

/**
 * The host's alarms: the system status check recovers the instance onto healthy hardware (same
 * ID, addresses and EBS volumes: the data volume comes back with it), the instance status check
 * reboots it, a CPU pinned past `cpuPercent` for `cpuMinutes` notifies only. Every alarm tells the
 * topic when it fires and when it is OK again.
 */
export function instanceAlarms<T>(p: { region: string; instanceId: T; topicArn: T; settings: AlarmSettings }): InstanceAlarm<T>[] {
  const base = { namespace: "AWS/EC2" as const, dimensions: { InstanceId: p.instanceId }, okActions: [p.topicArn] };
  return [
    {
      ...base,
      key: "system",
      description:
        "The instance's system status check failed for 2 minutes (AWS hardware or network): EC2 recovers it onto other hardware, same ID, addresses and volumes.",
      metricName: "StatusCheckFailed_System",
      statistic: "Maximum",
      period: 60,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      threshold: 1,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "missing",
      alarmActions: [`arn:aws:automate:${p.region}:ec2:recover` as T, p.topicArn],
    },
    {
      ...base,
      key: "instance",
      description: "The instance's own status check failed for 3 minutes (its kernel, memory or network setup): EC2 reboots it; Docker starts the stack again.",
      metricName: "StatusCheckFailed_Instance",
      statistic: "Maximum",
      period: 60,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      threshold: 1,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "missing",
      alarmActions: [`arn:aws:automate:${p.region}:ec2:reboot` as T, p.topicArn],
    },
    {
      ...base,
      key: "cpu",
      description: `The instance's CPU was above ${p.settings.cpuPercent}% for ${p.settings.cpuMinutes} minutes: npm run ops -- <stack> status, then docker stats on the host.`,
      metricName: "CPUUtilization",
      statistic: "Average",
      period: 60,
      evaluationPeriods: p.settings.cpuMinutes,
      datapointsToAlarm: p.settings.cpuMinutes,
      threshold: p.settings.cpuPercent,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
      alarmActions: [p.topicArn],
    },
  ];
}

/**
 * SNS's protocol for the stack's webhook (`copilotos:alertWebhookUrl`): `https` or `http`, from its
 * scheme. SNS asks every endpoint to confirm first: the alert email's recipient clicks the link
 * once; a webhook must answer SNS's `SubscriptionConfirmation` (an Alertmanager-style receiver does
 * not: its owner confirms once with the URL SNS posted). Slack is not an SNS protocol.
 */
export const webhookProtocol = (url: string): "https" | "http" => (url.startsWith("https://") ? "https" : "http");

/**
 * An aws host's CloudWatch alarms (components/renderers/hosts/awsAlarms.ts, components/hosts/awsAlarms.ts):
 * the alarms exactly, with their EC2 actions; in the program (mock runtime) the encrypted topic,
 * the email and webhook subscriptions from the stack's alert settings (the webhook's URL secret),
 * the alarms on the instance; none with `host.alarms.enabled=false`.
 */
import * as path from "node:path";
import { instanceAlarms, webhookProtocol } from "../components/renderers/hosts/awsAlarms";
import type { ProgramRun, RecordedResource } from "../scripts/mockRuntime/harness";
import { ofType, runStack } from "./support/program";

const FIXTURES = path.join(__dirname, "fixtures");
const ALARMS = "copilotos-host-aws-alarms";
const HOOK = "https://hooks.example.com/alerts/T0KEN-in-the-path";
const ORDER = ["system", "instance", "cpu"].map((k) => `${ALARMS}-${k}`);
const TOPIC_ARN = new RegExp(`^arn:aws:sns:eu-west-1:123456789012:${ALARMS}-topic-[0-9a-f]{8}$`);

test("three alarms: system status recovers, instance status reboots, CPU notifies; each tells the topic when it fires and when it is OK", () => {
  const alarms = instanceAlarms({ region: "eu-west-1", instanceId: "i-0abc", topicArn: "arn:topic", settings: { cpuPercent: 90, cpuMinutes: 15 } });
  const common = { namespace: "AWS/EC2", dimensions: { InstanceId: "i-0abc" }, okActions: ["arn:topic"], period: 60 };
  expect(alarms).toEqual([
    {
      ...common,
      key: "system",
      description:
        "The instance's system status check failed for 2 minutes (AWS hardware or network): EC2 recovers it onto other hardware, same ID, addresses and volumes.",
      metricName: "StatusCheckFailed_System",
      statistic: "Maximum",
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      threshold: 1,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "missing",
      alarmActions: ["arn:aws:automate:eu-west-1:ec2:recover", "arn:topic"],
    },
    {
      ...common,
      key: "instance",
      description: "The instance's own status check failed for 3 minutes (its kernel, memory or network setup): EC2 reboots it; Docker starts the stack again.",
      metricName: "StatusCheckFailed_Instance",
      statistic: "Maximum",
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      threshold: 1,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "missing",
      alarmActions: ["arn:aws:automate:eu-west-1:ec2:reboot", "arn:topic"],
    },
    {
      ...common,
      key: "cpu",
      description: "The instance's CPU was above 90% for 15 minutes: npm run ops -- <stack> status, then docker stats on the host.",
      metricName: "CPUUtilization",
      statistic: "Average",
      evaluationPeriods: 15,
      datapointsToAlarm: 15,
      threshold: 90,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
      alarmActions: ["arn:topic"],
    },
  ]);
  expect([webhookProtocol("https://x.example/h"), webhookProtocol("http://10.0.0.1:9000/h")]).toEqual(["https", "http"]);
});

describe("in the program, on the aws fixture with an alert email and webhook", () => {
  let run: ProgramRun;
  const named = (name: string): RecordedResource => run.resources.find((r) => r.name === name)!;
  beforeAll(async () => {
    run = await runStack(
      "aws",
      [
        "copilotos:monitoring.alerts.email.to=ops@example.com",
        "copilotos:monitoring.alerts.email.from=alerts@example.com",
        "copilotos:monitoring.alerts.email.smarthost=smtp.example.com:587",
        "copilotos:host.alarms.cpuPercent=80",
      ],
      [`copilotos:alertWebhookUrl=${HOOK}`, "copilotos:alertSmtpPassword=smtp-secret-value"],
      FIXTURES,
    );
  });

  test("an encrypted topic, mailed and posted to; the webhook's URL (and the protocol read from it) secret", () => {
    const topic = named(`${ALARMS}-topic`);
    expect([topic.type, topic.inputs.kmsMasterKeyId, topic.opts.parent]).toEqual(["aws:sns/topic:Topic", "alias/aws/sns", ALARMS]);
    const subs = ofType(run, "aws:sns/topicSubscription:TopicSubscription")
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((s) => [s.name, s.inputs.protocol, s.inputs.endpoint, s.secretPaths.sort()]);
    expect(subs).toEqual([
      [`${ALARMS}-email`, "email", "ops@example.com", []],
      [`${ALARMS}-webhook`, "https", HOOK, ["endpoint", "protocol"]],
    ]);
    for (const s of ofType(run, "aws:sns/topicSubscription:TopicSubscription")) expect(s.inputs.topic).toMatch(TOPIC_ARN);
    expect(JSON.stringify(run.outputs)).not.toContain("T0KEN");
  });

  test("the alarms watch the instance through the region's provider, with the configured CPU threshold", () => {
    const alarms = ofType(run, "aws:cloudwatch/metricAlarm:MetricAlarm").sort((a, b) => ORDER.indexOf(a.name) - ORDER.indexOf(b.name));
    const instanceId = run.resources.find((r) => r.name === "copilotos-host-aws-instance")!.id;
    expect(alarms.map((a) => [a.name, a.inputs.metricName, (a.inputs.dimensions as { InstanceId: string }).InstanceId, a.inputs.threshold])).toEqual([
      [`${ALARMS}-system`, "StatusCheckFailed_System", instanceId, 1],
      [`${ALARMS}-instance`, "StatusCheckFailed_Instance", instanceId, 1],
      [`${ALARMS}-cpu`, "CPUUtilization", instanceId, 80],
    ]);
    const topicArn = ofType(run, "aws:sns/topicSubscription:TopicSubscription")[0].inputs.topic;
    for (const a of alarms) {
      expect([a.name, a.opts.parent, a.deps.includes("copilotos-host-aws-aws")]).toEqual([a.name, ALARMS, true]);
      expect([a.name, a.inputs.okActions]).toEqual([a.name, [topicArn]]);
    }
    expect(alarms.map((a) => a.inputs.alarmActions)).toEqual([
      ["arn:aws:automate:eu-west-1:ec2:recover", topicArn],
      ["arn:aws:automate:eu-west-1:ec2:reboot", topicArn],
      [topicArn],
    ]);
  });
});

test("host.alarms.enabled=false: no topic, no alarm", async () => {
  const run = await runStack("aws", ["copilotos:host.alarms.enabled=false"], [], FIXTURES);
  expect(run.resources.filter((r) => r.type.startsWith("aws:sns") || r.type.startsWith("aws:cloudwatch"))).toEqual([]);
});

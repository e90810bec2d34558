/**
 * `logs.driver: awslogs` on an aws host: the containers' logs in the stack's CloudWatch log group,
 * kept `logs.retentionDays`, written with the instance role (nothing else): config errors that name
 * the key, the exact log options, and in the program (mock runtime) the group, the role's policy,
 * the profile on the instance, every container on it, and no container before the group exists.
 */
import * as path from "node:path";
import { ConfigError, parseConfig } from "../components/config";
import { logsRolePolicy } from "../components/renderers/hosts/aws";
import { logOptions } from "../components/renderers/services/containers";
import type { ProgramRun, RecordedResource } from "../scripts/mockRuntime/harness";
import { AWS_HOST, CONTAINER, HOST_KEY, ofType, runStack } from "./support/program";

const FIXTURES = path.join(__dirname, "fixtures");
const HOST = "copilotos-host-aws";
const GROUP_ARN = "arn:aws:logs:eu-west-1:123456789012:log-group:/copilotos/aws";

const problems = (raw: Record<string, unknown>) => {
  try {
    parseConfig({ saptivaApiKey: "k".repeat(40), images: { api: "a:1", web: "w:1" }, ...raw });
  } catch (e) {
    return (e as ConfigError).problems.map((p) => `${p.key}: ${p.message}`);
  }
  return [];
};

test("awslogs needs an aws host; the retention is one CloudWatch accepts", () => {
  expect(problems({ host: { kind: "ssh", address: "h", user: "u", hostKey: HOST_KEY }, logs: { driver: "awslogs" } })).toEqual([
    'copilotos:logs.driver: awslogs needs host.kind "aws" (the instance\'s role writes the stack\'s log group); this host is "ssh": use journald or syslog and ship the logs from the host',
  ]);
  expect(problems({ host: AWS_HOST, logs: { driver: "awslogs", retentionDays: 31 } })).toEqual([
    "copilotos:logs.retentionDays: must be a number of days CloudWatch Logs keeps: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653",
  ]);
  expect(problems({ host: AWS_HOST, logs: { driver: "awslogs", retentionDays: "90" } })).toEqual([]);
});

test("the containers' log options: the group, a stream per container, never blocking the app", () => {
  expect(logOptions({ driver: "awslogs", maxSizeMb: 10, maxFiles: 3, awslogs: { group: "/copilotos/prod", region: "eu-west-1" } })).toEqual({
    "awslogs-region": "eu-west-1",
    "awslogs-group": "/copilotos/prod",
    tag: "{{.Name}}",
    mode: "non-blocking",
    "max-buffer-size": "4m",
  });
  expect(() => logOptions({ driver: "awslogs", maxSizeMb: 10, maxFiles: 3 })).toThrow("logs.driver awslogs needs the stack's log group and region");
  expect(JSON.parse(logsRolePolicy(GROUP_ARN))).toEqual({
    Version: "2012-10-17",
    Statement: [{ Sid: "CopilotosLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${GROUP_ARN}:log-stream:*` }],
  });
});

describe("in the program: the aws fixture without S3 backups, logs to CloudWatch kept 90 days", () => {
  let run: ProgramRun;
  const named = (name: string): RecordedResource => run.resources.find((r) => r.name === name)!;
  beforeAll(async () => {
    run = await runStack("aws", ["copilotos:backup.s3=false", "copilotos:logs.driver=awslogs", "copilotos:logs.retentionDays=90"], [], FIXTURES);
  });

  test("the stack's log group, a role that may only write its streams, the role on the instance; no backup bucket", () => {
    const group = named(`${HOST}-logs`);
    expect([group.type, group.inputs.name, group.inputs.retentionInDays]).toEqual(["aws:cloudwatch/logGroup:LogGroup", "/copilotos/aws", 90]);
    expect(named(`${HOST}-logs-access`).inputs.policy).toBe(logsRolePolicy(GROUP_ARN));
    // The profile's name as the provider reports it (the mocks: its resource name and 8 hex digits).
    expect(named(`${HOST}-instance`).inputs.iamInstanceProfile).toMatch(new RegExp(`^${HOST}-profile-[0-9a-f]{8}$`));
    expect(run.resources.filter((r) => r.type.startsWith("aws:s3") || r.name === `${HOST}-backup-access`)).toEqual([]);
  });

  test("every container logs there, a stream per container; none starts before the group and the role's right to write", () => {
    // A files writer never runs: it has no logs to send.
    const containers = ofType(run, CONTAINER).filter((c) => c.inputs.start !== false);
    expect(containers.length).toBeGreaterThan(4);
    for (const c of containers) {
      expect([c.name, c.inputs.logDriver, c.inputs.logOpts]).toEqual([
        c.name,
        "awslogs",
        { "awslogs-region": "eu-west-1", "awslogs-group": "/copilotos/aws", tag: "{{.Name}}", mode: "non-blocking", "max-buffer-size": "4m" },
      ]);
    }
    expect(named(`${HOST}-ready`).deps).toEqual(expect.arrayContaining([`${HOST}-logs`, `${HOST}-logs-access`]));
  });
});

import * as path from "node:path";
import { evaluate, GraphResource, toGraph } from "../policies/evaluate";
import { AWSGUARD_EXCEPTIONS } from "../policies/awsguard/exceptions";
import { awsguardPolicies } from "../policies/awsguard/policies";
import { runStack } from "./support/program";

// Pulumi's own AWS pack, run in-process over the aws fixture's graph the way the engine would run
// `--policy-pack policies/awsguard`: every policy mandatory (what the pack's index.ts sets).
const fixtures = path.join(__dirname, "fixtures");
const awsGraph = async () => toGraph((await runStack("aws", [], [], fixtures)).resources);
const ALL = { all: "mandatory" } as never;
const disabled = Object.fromEntries(AWSGUARD_EXCEPTIONS.map((e) => [e.policy, "disabled"]));

test("awsguard's policies are all read from the package (26 in 0.3.1)", () => {
  const names = awsguardPolicies().map((p) => p.name);
  expect(names).toHaveLength(26);
  expect(names).toEqual(expect.arrayContaining(["ec2-instance-detailed-monitoring-enabled", "s3-bucket-logging-enabled", "encrypted-volumes"]));
});

describe("awsguard over the program's aws graph", () => {
  let graph: GraphResource[];
  beforeAll(async () => {
    graph = await awsGraph();
  });

  test("fires only the documented exceptions, each on the resource the reason names", () => {
    const vs = evaluate(graph, ALL, awsguardPolicies());
    expect(vs.map((v) => [v.rule, v.resource]).sort()).toEqual([
      ["ec2-volume-inuse", "copilotos-host-aws-instance"],
      ["s3-bucket-logging-enabled", "copilotos-host-aws-backups-access-logs-bucket"],
      ["s3-bucket-logging-enabled", "copilotos-host-aws-backups-bucket"],
    ]);
    expect(new Set(vs.map((v) => v.rule))).toEqual(new Set(AWSGUARD_EXCEPTIONS.map((e) => e.policy)));
  });

  test("runs clean with the pack's exceptions disabled", () => {
    expect(evaluate(graph, { all: "mandatory", ...disabled } as never, awsguardPolicies())).toEqual([]);
  });

  test("the host has detailed monitoring, and the backup bucket logs access into the log bucket", () => {
    const of = (type: string) => graph.filter((r) => r.type === type);
    expect(of("aws:ec2/instance:Instance").map((r) => r.props.monitoring)).toEqual([true]);
    const [logging] = of("aws:s3/bucketLogging:BucketLogging");
    expect(logging.props).toMatchObject({ targetPrefix: "backups/" });
    const buckets = new Map(of("aws:s3/bucket:Bucket").map((b) => [b.id, b.name]));
    expect([buckets.get(String(logging.props.bucket)), buckets.get(String(logging.props.targetBucket))]).toEqual([
      "copilotos-host-aws-backups-bucket",
      "copilotos-host-aws-backups-access-logs-bucket",
    ]);
  });

  test("taking detailed monitoring away fires awsguard's rule", () => {
    const without = graph.map((r) => (r.type === "aws:ec2/instance:Instance" ? { ...r, props: { ...r.props, monitoring: false } } : r));
    const vs = evaluate(without, { all: "mandatory", ...disabled } as never, awsguardPolicies());
    expect(vs.map((v) => v.rule)).toEqual(["ec2-instance-detailed-monitoring-enabled"]);
  });

  test("every exception gives a reason and names what checks its intent instead", () => {
    for (const e of AWSGUARD_EXCEPTIONS) expect(e.reason).toMatch(/aws-host-hardened|backup-bucket-private/);
  });
});

import * as fs from "node:fs";
import * as path from "node:path";
import { evaluate, GraphResource, toGraph, Violation } from "../policies/evaluate";
import { app, backupBucket, ebsVolume, instance, securityGroup, ssh } from "./support/policy";
import { runStack } from "./support/program";

const rulesOf = (vs: Violation[]) => [...new Set(vs.map((v) => v.rule))].sort();
const packConfig = (stack: string) =>
  JSON.parse(fs.readFileSync(path.join(__dirname, "..", "policies", `config.${stack}.json`), "utf8")) as Record<string, never>;
const awsFixture = (): GraphResource[] => [securityGroup([ssh(["203.0.113.7/32"]), app(3000), app(8001)]), instance(), ebsVolume(), ...backupBucket()];

test("the passing AWS fixture passes every rule", () => {
  expect(evaluate(awsFixture())).toEqual([]);
});

describe("aws-ssh-restricted", () => {
  test.each([["0.0.0.0/0"], ["::/0"]])("SSH from %s fires, naming the group and the CIDR", (cidr) => {
    const vs = evaluate([securityGroup([ssh([cidr]), app(3000)])]);
    expect(vs).toEqual([expect.objectContaining({ rule: "aws-ssh-restricted", level: "mandatory", resource: "sg" })]);
    expect(vs[0].message).toContain(cidr);
  });
  test("a port range or an all-traffic rule that includes 22 from anywhere fires; 2222 does not", () => {
    expect(rulesOf(evaluate([securityGroup([{ protocol: "tcp", fromPort: 20, toPort: 30, cidrBlocks: ["0.0.0.0/0"] }])]))).toEqual(["aws-ssh-restricted"]);
    expect(rulesOf(evaluate([securityGroup([{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }])]))).toEqual([
      "aws-no-database-ports",
      "aws-ssh-restricted",
    ]);
    expect(evaluate([securityGroup([{ protocol: "tcp", fromPort: 2222, toPort: 2222, cidrBlocks: ["0.0.0.0/0"] }])])).toEqual([]);
  });
  test("a separate SecurityGroupRule or vpc ingress rule is read too", () => {
    const rule = {
      type: "aws:ec2/securityGroupRule:SecurityGroupRule",
      name: "r",
      urn: "urn:r",
      props: { type: "ingress", protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] },
    };
    const vpcRule = {
      type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
      name: "v",
      urn: "urn:v",
      props: { ipProtocol: "tcp", fromPort: 22, toPort: 22, cidrIpv6: "::/0" },
    };
    expect(evaluate([rule, vpcRule]).map((v) => v.resource)).toEqual(["r", "v"]);
  });
  test("mandatory with prod's policy config, advisory with staging's", () => {
    const open = [securityGroup([ssh(["0.0.0.0/0"])])];
    expect(evaluate(open, packConfig("prod"))[0].level).toBe("mandatory");
    expect(evaluate(open, packConfig("staging"))[0].level).toBe("advisory");
  });
});

describe("aws-no-database-ports", () => {
  test.each([[27017], [6379]])("port %i fires even from a private CIDR", (port) => {
    const vs = evaluate([securityGroup([{ protocol: "tcp", fromPort: port, toPort: port, cidrBlocks: ["10.0.0.0/8"] }])]);
    expect(vs).toEqual([expect.objectContaining({ rule: "aws-no-database-ports", resource: "sg" })]);
    expect(vs[0].message).toContain(String(port));
  });
});

describe("aws-host-hardened", () => {
  test.each([
    ["IMDSv1 allowed", [instance({ metadataOptions: { httpTokens: "optional", httpPutResponseHopLimit: 1 } })], "IMDSv1"],
    ["hop limit 2", [instance({ metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 2 } })], "hop limit 2"],
    ["unencrypted root disk", [instance({ rootBlockDevice: { encrypted: false } })], "root disk"],
    ["unencrypted data volume", [ebsVolume({ encrypted: false })], "not encrypted"],
    ["unprotected data volume", [ebsVolume({ encrypted: true }, { retainOnDelete: true })], "not protected"],
  ])("%s fires", (_n, resources, part) => {
    const vs = evaluate(resources);
    expect(vs).toHaveLength(1);
    expect(vs[0]).toMatchObject({ rule: "aws-host-hardened" });
    expect(vs[0].message).toContain(part);
  });
});

describe("backup-bucket-private", () => {
  test.each([
    ["a public access setting off", { publicAccess: { restrictPublicBuckets: false } }, "public access"],
    ["no public access block", { publicAccess: null }, "public access"],
    ["no encryption", { encryption: null }, "encryption"],
    ["versioning suspended", { versioning: { versioningConfiguration: { status: "Suspended" } } }, "versioning"],
    ["no lifecycle", { lifecycle: null }, "lifecycle"],
    ["no access logging", { logging: null }, "access logging"],
  ])("%s fires, naming the bucket", (_n, change, part) => {
    const vs = evaluate(backupBucket(change));
    expect(vs).toEqual([expect.objectContaining({ rule: "backup-bucket-private", resource: "backups" })]);
    expect(vs[0].message).toContain(part);
  });
  test("settings of another bucket do not count", () => {
    const [bucket] = backupBucket();
    const others = backupBucket().slice(1);
    expect(evaluate([bucket, ...others]).map((v) => v.message)).toHaveLength(5);
  });
  test("a bucket that receives another bucket's access logs needs no logging of its own; any other bucket does", () => {
    const [source, ...settings] = backupBucket();
    const [target, ...targetSettings] = backupBucket({ logging: null });
    const logging = settings.find((r) => r.type === "aws:s3/bucketLogging:BucketLogging")!;
    const into = (id: string) => [source, ...settings.filter((r) => r !== logging), { ...logging, props: { ...logging.props, targetBucket: id } }];
    expect(evaluate([...into(target.id!), target, ...targetSettings])).toEqual([]);
    const vs = evaluate([...into("elsewhere"), target, ...targetSettings]);
    expect(vs.map((v) => [v.resource, v.message.includes("access logging")])).toEqual([[target.name, true]]);
  });
});

describe("the pack over the real program's aws graph", () => {
  const graph = async (stack: "prod" | "staging", config: string[] = []) => {
    const run = await runStack("aws", config, [], path.join(__dirname, "fixtures"));
    return evaluate(toGraph(run.resources), packConfig(stack));
  };
  test("passes cleanly under prod's config", async () => {
    expect(await graph("prod")).toEqual([]);
  });
  test("host.sshCidrs 0.0.0.0/0 fails only aws-ssh-restricted, mandatory in prod", async () => {
    const vs = await graph("prod", ["copilotos:host.sshCidrs[0]=0.0.0.0/0"]);
    expect(vs).toEqual([expect.objectContaining({ rule: "aws-ssh-restricted", level: "mandatory" })]);
  });
});

/**
 * host.kind "aws" in the program's graph (mock runtime, with the AMI and subnet lookups answered
 * by the mocks): what is created, with which inputs and options, in which order, what is secret,
 * and that the rest of the stack uses the instance exactly like an ssh host.
 */
import * as path from "node:path";
import { backupScript } from "../components/renderers/operations/backup";
import { backupRolePolicy, ingressRules, lifecycleRules, readyScript, userData } from "../components/renderers/hosts/aws";
import type { ProgramRun, RecordedResource } from "../scripts/mockRuntime/harness";
import { MOCK_PRIVATE_KEY_PREFIX } from "../scripts/mockRuntime/mockValues";
import { offsiteFilesOf, runStack } from "./support/program";
import { describedScript } from "../components/renderers/shell";
import { describeAws } from "../scripts/dryRun/describeAws";

const FIXTURES = path.join(__dirname, "fixtures");
const named = (run: ProgramRun, name: string): RecordedResource => {
  const r = run.resources.find((x) => x.name === name);
  if (!r) throw new Error(`no resource ${name}`);
  return r;
};
const HOST = "copilotos-host-aws";

describe("an aws host with off-host backups", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runStack("aws", [], [], FIXTURES);
  });

  test("the AMI is looked up by owner and name filter, the subnet as the zone's default", () => {
    expect(run.invokes).toEqual(
      expect.arrayContaining([
        {
          token: "aws:ec2/getAmi:getAmi",
          inputs: {
            mostRecent: true,
            owners: ["136693071363"],
            filters: [
              { name: "name", values: ["debian-12-amd64-*"] },
              { name: "architecture", values: ["x86_64"] },
              { name: "virtualization-type", values: ["hvm"] },
              { name: "root-device-type", values: ["ebs"] },
            ],
          },
        },
        { token: "aws:ec2/getSubnet:getSubnet", inputs: { availabilityZone: "eu-west-1b", defaultForAz: true } },
      ]),
    );
    const instance = named(run, `${HOST}-instance`);
    expect(instance.inputs.ami).toMatch(/^ami-0[0-9a-f]{16}$/);
    expect(instance.inputs.subnetId).toMatch(/^subnet-0/);
    expect(named(run, `${HOST}-sg`).inputs.vpcId).toMatch(/^vpc-0/);
    expect(instance.opts.parent).toBe(HOST);
  });

  test("a configured subnet is looked up by ID in the zone", async () => {
    const other = await runStack("aws", ["copilotos:host.subnetId=subnet-0abc123"], [], FIXTURES);
    expect(other.invokes.filter((i) => i.token === "aws:ec2/getSubnet:getSubnet").map((i) => i.inputs)).toEqual([
      { id: "subnet-0abc123", availabilityZone: "eu-west-1b" },
    ]);
    expect(named(other, `${HOST}-instance`).inputs.subnetId).toBe("subnet-0abc123");
  });

  test("the security group lets SSH in from sshCidrs and the app ports from appCidrs, and no database port", async () => {
    const sg = named(run, `${HOST}-sg`);
    // The fixture's tls.acme: the HTTPS ports, and 80 for the CA's HTTP-01 challenge.
    const appPorts = { web: 3000, api: 8001, webHttps: 443, apiHttps: 8443, acmeHttp: 80 };
    expect(sg.inputs.ingress).toEqual(ingressRules({ sshCidrs: ["203.0.113.7/32"], appCidrs: ["0.0.0.0/0", "::/0"], appPorts }));
    expect((sg.inputs.ingress as { fromPort: number }[]).map((r) => r.fromPort)).toEqual([22, 3000, 8001, 443, 8443, 80]);
    // Publishing Mongo on the host (127.0.0.1) still opens nothing in the group.
    const withMongo = await runStack("aws", ["copilotos:ports.mongo=27017"], [], FIXTURES);
    expect((named(withMongo, `${HOST}-sg`).inputs.ingress as { fromPort: number }[]).map((r) => r.fromPort)).toEqual([22, 3000, 8001, 443, 8443, 80]);
  });

  test("the instance: IMDSv2 with one hop, encrypted root disk, key pair, instance profile; a new AMI does not replace it", () => {
    const instance = named(run, `${HOST}-instance`);
    expect(instance.inputs).toMatchObject({
      instanceType: "t3.small",
      availabilityZone: "eu-west-1b",
      keyName: expect.stringMatching(new RegExp(`^${HOST}-key-`)),
      iamInstanceProfile: expect.stringMatching(new RegExp(`^${HOST}-profile-`)),
      metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
      rootBlockDevice: { volumeSize: 20, volumeType: "gp3", encrypted: true, deleteOnTermination: true },
      userDataReplaceOnChange: true,
    });
    expect(instance.opts.ignoreChanges).toEqual(["ami"]);
    expect(named(run, `${HOST}-key`).inputs.publicKey).toMatch(/^ssh-ed25519 AAAA\S+ deploy@ci$/);
  });

  test("user data installs the generated host key and the setup script for this data volume, and is secret", () => {
    const instance = named(run, `${HOST}-instance`);
    const volumeId = named(run, `${HOST}-data`).id;
    const key = run.resources.find((r) => r.type === "tls:index/privateKey:PrivateKey")!;
    expect(key.inputs).toEqual({ algorithm: "ED25519" });
    expect(instance.secretPaths).toContain("userData");
    const text = instance.inputs.userData as string;
    const privateKey = [...run.secretValues].find((s) => s.startsWith(MOCK_PRIVATE_KEY_PREFIX))!;
    const publicKey = (named(run, `${HOST}-ready`).inputs.connection as { hostKey: string }).hostKey;
    expect(text).toBe(
      userData({
        hostKey: { privateKey, publicKey },
        volumeId,
        user: "admin",
        awsCli: true,
        attachWaitSeconds: 600,
        // host.osUpdates' defaults: unattended security upgrades from the first boot, no automatic reboot.
        osUpdates: { reboot: "never", rebootTime: "04:00" },
      }),
    );
    expect(text).toContain(`nvme-Amazon_Elastic_Block_Store_${volumeId.replace("-", "")}`);
  });

  test("the data volume is encrypted, protected and retained; its attachment is replaced delete-first", () => {
    const volume = named(run, `${HOST}-data`);
    expect(volume.inputs).toMatchObject({ availabilityZone: "eu-west-1b", size: 30, type: "gp3", encrypted: true });
    expect(volume.opts).toMatchObject({ protect: true, retainOnDelete: true });
    const attachment = named(run, `${HOST}-data-attachment`);
    expect(attachment.inputs).toEqual({
      deviceName: "/dev/sdf",
      volumeId: volume.id,
      instanceId: named(run, `${HOST}-instance`).id,
      stopInstanceBeforeDetaching: true,
    });
    expect(attachment.opts.deleteBeforeReplace).toBe(true);
  });

  test("the stack reaches the instance as an ssh host: Elastic IP, pinned generated host key, after the ready check", () => {
    const ip = (run.outputs.dockerHost.value as string).replace(/^ssh:\/\/admin@(.*):22$/, "$1");
    expect(ip).toMatch(/^198\.51\.100\.\d+$/);
    const ready = named(run, `${HOST}-ready`);
    expect(ready.inputs.create).toBe(describedScript("ready: the instance booted, its data volume mounted, Docker answers", readyScript()));
    const conn = ready.inputs.connection as Record<string, unknown>;
    expect(conn).toMatchObject({
      host: ip,
      port: 22,
      user: "admin",
      hostKey: expect.stringMatching(/^ssh-ed25519 \S+$/),
      perDialTimeout: 10,
      dialErrorLimit: 60,
    });
    expect(ready.opts.dependsOn).toEqual([`${HOST}-data-attachment`, `${HOST}-ip`]);
    const preflight = named(run, "copilotos-preflight-check");
    expect(preflight.opts.dependsOn).toEqual([`${HOST}-ready`]);
    expect(preflight.inputs.connection).toMatchObject({ host: ip, user: "admin", hostKey: conn.hostKey, dialErrorLimit: 3 });
    const provider = run.resources.find((r) => r.type === "pulumi:providers:docker" && r.name === "copilotos-host-docker")!;
    expect(provider.inputs.host).toBe(`ssh://admin@${ip}:22`);
    // The web's URL is the certificate's name (tls.acme); the instance is reached by its Elastic IP.
    expect(run.outputs.webUrl).toEqual({ value: "https://chat.example.com", isSecret: false });
    expect(run.outputs.sshHost).toEqual({ value: { address: ip, port: 22, user: "admin", hostKey: conn.hostKey }, isSecret: false });
  });

  test("the backup bucket: private, encrypted, versioned, lifecycle (restic/ kept, the older tiers expiring), retained; the role may use only its restic/ objects", () => {
    const bucket = named(run, `${HOST}-backups-bucket`);
    expect(bucket.opts.retainOnDelete).toBe(true);
    expect(bucket.inputs.forceDestroy).toBe(false);
    expect(named(run, `${HOST}-backups-public-access`).inputs).toEqual({
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    expect(named(run, `${HOST}-backups-versioning`).inputs).toEqual({ bucket: bucket.id, versioningConfiguration: { status: "Enabled" } });
    const lifecycle = named(run, `${HOST}-backups-lifecycle`);
    expect(lifecycle.inputs.rules).toEqual(lifecycleRules());
    expect((lifecycle.inputs.rules as { filter: { prefix: string }; expiration: unknown }[]).map((r) => [r.filter.prefix, r.expiration])).toEqual([
      ["restic/", { expiredObjectDeleteMarker: true }],
      ["daily/", { days: 30 }],
      ["weekly/", { days: 84 }],
      ["monthly/", { days: 365 }],
    ]);
    expect(lifecycle.opts.dependsOn).toEqual([`${HOST}-backups-versioning`]);
    // npm run check's line for it.
    expect(describeAws(lifecycle, lifecycle.inputs)).toEqual(["expire=restic/never,daily/30d,weekly/84d,monthly/365d"]);
    expect(named(run, `${HOST}-backup-access`).inputs.policy).toBe(backupRolePolicy(`arn:aws:s3:::${bucket.id}`));
  });

  test("every backup goes into a restic repository in that bucket, through the instance role: its files name the bucket and hold no credential", () => {
    const bucket = named(run, `${HOST}-backups-bucket`).id;
    const files = named(run, "copilotos-offsite-files");
    expect(files.secretPaths).toContain("stdin");
    const decoded = offsiteFilesOf(run);
    expect(Object.keys(decoded)).toEqual(["password", "repository"]);
    expect(decoded.repository).toBe(`s3:https://s3.eu-west-1.amazonaws.com/${bucket}/restic`);
    expect(decoded.password).toHaveLength(48);
    expect(run.outputs.backupRepositoryPassword).toEqual({ value: decoded.password, isSecret: true });
    const spec = {
      container: "copilotos-aws-mongo",
      volume: "copilotos-aws-mongo-data",
      dir: "~/copilotos-backups",
      prefix: "copilotos-aws-mongo",
      keep: 7,
      tiers: { daily: 7, weekly: 4, monthly: 12 },
      image: "mongo:7.0",
      offsite: {
        target: { kind: "aws" as const, region: "eu-west-1" },
        secretsDir: "~/.copilotos/offsite/copilotos-aws",
        image: "restic/restic:0.18.0@sha256:4cf4a61ef9786f4de53e9de8c8f5c040f33830eb0a10bf3d614410ee2fcb6120",
        retention: { keep: 7, daily: 7, weekly: 4, monthly: 12 },
        checkSubset: undefined,
      },
    };
    const backup = named(run, "copilotos-mongo-backup-run");
    expect(backup.inputs.create).toBe(
      describedScript(
        "backup before a Mongo change: fsyncLock + archive copilotos-aws-mongo-data into ~/copilotos-backups, verified, newest 7 kept, and into the restic repository the stack's S3 bucket (backup.s3, eu-west-1)",
        backupScript(spec),
      ),
    );
    expect(backup.opts.dependsOn).toContain("copilotos-offsite-files");
    // No aws CLI upload any more; the scheduled backup is the same script.
    expect(String(backup.inputs.create)).not.toContain("s3 cp");
    expect(String(named(run, "copilotos-backup-schedule-install").inputs.create)).toContain(String(backup.inputs.create).replace(/^# .*\n/, ""));
  });

  test("no output but the repository's password is secret or carries a secret; the host's private key appears only in the secret user data", () => {
    const { backupRepositoryPassword, ...others } = run.outputs;
    expect(backupRepositoryPassword.isSecret).toBe(true);
    const outputs = JSON.stringify(others);
    for (const s of run.secretValues) expect(outputs.includes(s) ? "leak" : "clean").toBe("clean");
    for (const [name, o] of Object.entries(others)) expect({ name, secret: o.isSecret }).toEqual({ name, secret: false });
    const privateKey = [...run.secretValues].find((s) => s.startsWith(MOCK_PRIVATE_KEY_PREFIX))!;
    const carriers = run.resources.filter((r) => JSON.stringify(r.inputs).includes(privateKey.split("\n")[1]));
    expect(carriers.map((r) => [r.name, r.secretPaths])).toEqual([[`${HOST}-instance`, ["userData"]]]);
  });
});

test("without backup.s3 there is no bucket, role or AWS CLI, and the backup uploads nothing", async () => {
  const run = await runStack("aws", ["copilotos:backup.s3=false"], [], FIXTURES);
  expect(run.resources.filter((r) => /^aws:(s3|iam)\//.test(r.type))).toEqual([]);
  expect(named(run, `${HOST}-instance`).inputs.iamInstanceProfile).toBeUndefined();
  expect(named(run, `${HOST}-instance`).inputs.userData).not.toContain("awscli");
  expect(named(run, "copilotos-mongo-backup-run").inputs.create).not.toContain("aws ");
});

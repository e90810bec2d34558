/** The AWS host's pure renderers and config, without mocks: exact strings, parsed YAML, shell syntax. */
import { execFileSync } from "node:child_process";
import { parse as parseYaml } from "yaml";
import { backupRolePolicy, ingressRules, lifecycleRules, readyScript, setupScript, tlsOnlyBucketPolicy, userData } from "../components/renderers/hosts/aws";
import { backupScript } from "../components/renderers/operations/backup";
import { offsiteFiles, offsiteWhere, resticLines } from "../components/renderers/operations/offsite";
import { backupSpecOf } from "../components/backupSpec";
import { ConfigError, parseConfig } from "../components/config";
import { pathSegments, setPath } from "../scripts/stack/stackConfig";
import { AWS_HOST, DEPLOY_PUBLIC_KEY, HOST_KEY } from "./support/program";

const spec = { volumeId: "vol-0123abcd", user: "admin", awsCli: true, attachWaitSeconds: 600 };
const shSyntaxOk = (script: string) => execFileSync("sh", ["-n"], { input: script }).toString();
/** A minimal aws stack's raw config, its host's keys and other keys replaced. */
const aws = (h: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  saptivaApiKey: "k".repeat(40),
  images: { api: "a:1", web: "w:1" },
  host: { ...AWS_HOST, ...h },
  ...extra,
});

test("the first-boot script: wait for the volume, format only a blank one, mount before installing Docker", () => {
  expect(setupScript(spec)).toBe(`#!/bin/sh
set -eu
dev=""; waited=0
while [ -z "$dev" ]; do
  for d in /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123abcd /dev/xvdf; do if [ -b "$d" ]; then dev=$(readlink -f "$d"); fi; done
  if [ -z "$dev" ]; then
    if [ "$waited" -ge 600 ]; then echo "copilotos: data volume vol-0123abcd not attached after 600s" >&2; exit 1; fi
    sleep 5; waited=$((waited + 5))
  fi
done
if ! blkid -p "$dev" >/dev/null 2>&1; then echo "copilotos: formatting empty data volume $dev"; mkfs.ext4 -q -L copilotos-data "$dev"; fi
mkdir -p /var/lib/docker
grep -q 'LABEL=copilotos-data ' /etc/fstab || echo 'LABEL=copilotos-data /var/lib/docker ext4 defaults,nofail 0 2' >> /etc/fstab
mountpoint -q /var/lib/docker || mount "$dev" /var/lib/docker
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q docker.io cron awscli
usermod -aG docker admin
systemctl enable --now docker
echo "copilotos: docker ready on $dev"
`);
  expect(setupScript({ ...spec, awsCli: false })).toContain("\napt-get install -y -q docker.io cron\n");
  expect(shSyntaxOk(setupScript(spec))).toBe("");
});

test("user data: cloud-config with the host key pair, no generated keys, the setup script run once", () => {
  const privateKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----";
  const text = userData({ ...spec, hostKey: { privateKey, publicKey: "ssh-ed25519 AAAAC3Nz\n" } });
  expect(text.startsWith("#cloud-config\n")).toBe(true);
  expect(parseYaml(text)).toEqual({
    ssh_deletekeys: true,
    ssh_genkeytypes: [],
    ssh_keys: { ed25519_private: `${privateKey}\n`, ed25519_public: "ssh-ed25519 AAAAC3Nz" },
    write_files: [{ path: "/usr/local/sbin/copilotos-setup", permissions: "0755", content: setupScript(spec) }],
    runcmd: [["/usr/local/sbin/copilotos-setup"]],
  });
});

test("the readiness check waits for first boot, accepts cloud-init's 'done with warnings', and checks mount and engine", () => {
  expect(readyScript()).toBe(`set -eu
echo "host: waiting for first boot (cloud-init) to finish"
rc=0; cloud-init status --wait >/dev/null || rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then echo "host: first boot failed (cloud-init status $rc); see /var/log/cloud-init-output.log on the host" >&2; exit 1; fi
if ! mountpoint -q /var/lib/docker; then echo "host: /var/lib/docker is not on the data volume" >&2; exit 1; fi
echo "host: docker $(sg docker -c "docker version --format '{{.Server.Version}}'") on the data volume"
`);
  expect(shSyntaxOk(readyScript())).toBe("");
});

test("ingress rules put IPv4 and IPv6 blocks in their own lists; SSH first, then the app ports", () => {
  expect(ingressRules({ sshCidrs: ["203.0.113.7/32", "2001:db8::/48"], appCidrs: ["10.0.0.0/8"], appPorts: { web: 3000, api: 8001 } })).toEqual([
    { description: "ssh", protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["203.0.113.7/32"], ipv6CidrBlocks: ["2001:db8::/48"] },
    { description: "web", protocol: "tcp", fromPort: 3000, toPort: 3000, cidrBlocks: ["10.0.0.0/8"], ipv6CidrBlocks: [] },
    { description: "api", protocol: "tcp", fromPort: 8001, toPort: 8001, cidrBlocks: ["10.0.0.0/8"], ipv6CidrBlocks: [] },
  ]);
});

test("lifecycle: the restic repository's objects never expire by age, what restic deletes stays 30 days; the older tiers expire as before", () => {
  expect(lifecycleRules()).toEqual([
    {
      id: "restic-noncurrent-30d",
      status: "Enabled",
      filter: { prefix: "restic/" },
      expiration: { expiredObjectDeleteMarker: true },
      noncurrentVersionExpiration: { noncurrentDays: 30 },
      abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
    },
    ...[
      ["daily-30d", "daily/", 30],
      ["weekly-84d", "weekly/", 84],
      ["monthly-365d", "monthly/", 365],
    ].map(([id, prefix, days]) => ({
      id,
      status: "Enabled",
      filter: { prefix },
      expiration: { days },
      noncurrentVersionExpiration: { noncurrentDays: 30 },
      abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
    })),
  ]);
});

test("IAM and bucket policies: the role lists the bucket, reads, writes and deletes under restic/ only, reads the older tiers; TLS required", () => {
  expect(JSON.parse(backupRolePolicy("arn:aws:s3:::b"))).toEqual({
    Version: "2012-10-17",
    Statement: [
      { Sid: "CopilotosBucketList", Effect: "Allow", Action: "s3:ListBucket", Resource: "arn:aws:s3:::b" },
      { Sid: "CopilotosResticObjects", Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource: "arn:aws:s3:::b/restic/*" },
      {
        Sid: "CopilotosTierArchives",
        Effect: "Allow",
        Action: "s3:GetObject",
        Resource: ["arn:aws:s3:::b/daily/*", "arn:aws:s3:::b/weekly/*", "arn:aws:s3:::b/monthly/*"],
      },
    ],
  });
  expect(JSON.parse(tlsOnlyBucketPolicy("arn:aws:s3:::b")).Statement[0]).toMatchObject({
    Effect: "Deny",
    Resource: ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
    Condition: { Bool: { "aws:SecureTransport": "false" } },
  });
});

describe("aws host config", () => {
  const keysOf = (raw: Record<string, unknown>) => {
    try {
      parseConfig(raw);
    } catch (e) {
      return (e as ConfigError).problems.map((p) => `${p.key}: ${p.message}`);
    }
    throw new Error("expected the config to be rejected");
  };

  test("defaults: Debian 12 AMI, t3.small, admin, open app ports, 20 + 30 GiB, 600 s to become ready", () => {
    expect(parseConfig(aws()).host).toEqual({
      kind: "aws",
      region: "eu-west-1",
      availabilityZone: "eu-west-1a",
      instanceType: "t3.small",
      ami: { owner: "136693071363", name: "debian-12-amd64-*", architecture: "x86_64" },
      user: "admin",
      publicKey: DEPLOY_PUBLIC_KEY,
      sshCidrs: ["203.0.113.7/32"],
      appCidrs: ["0.0.0.0/0", "::/0"],
      rootVolumeGb: 20,
      dataVolumeGb: 30,
      connectTimeoutSeconds: 10,
      readyTimeoutSeconds: 600,
      osUpdates: { enabled: true, reboot: "never", rebootTime: "04:00" },
      alarms: { enabled: true, cpuPercent: 90, cpuMinutes: 15 },
    });
  });

  test.each([
    ["no SSH CIDR", aws({ sshCidrs: [] }), "copilotos:host.sshCidrs: must name at least one CIDR block allowed to reach SSH"],
    ["sshCidrs missing", aws({ sshCidrs: undefined }), "copilotos:host.sshCidrs: is required"],
    ["a bad CIDR", aws({ sshCidrs: ["203.0.113.7"] }), "copilotos:host.sshCidrs.0: must be a CIDR block"],
    ["a zone of another region", aws({ availabilityZone: "us-east-1a" }), "copilotos:host.availabilityZone: must be a zone of region eu-west-1"],
    ["no public key", aws({ publicKey: undefined }), "copilotos:host.publicKey: is required for an aws host"],
    ["a private key as public key", aws({ publicKey: "-----BEGIN OPENSSH PRIVATE KEY-----" }), "copilotos:host.publicKey: must be one OpenSSH public key line"],
    ["a bad region", aws({ region: "Ireland", availabilityZone: "Irelanda" }), "copilotos:host.region: must be an AWS region"],
    ["a CPU alarm past 100%", aws({ alarms: { cpuPercent: 150 } }), "copilotos:host.alarms.cpuPercent: must be a whole number from 1 to 100"],
    ["an unknown alarm key", aws({ alarms: { disk: 90 } }), "copilotos:host.alarms.disk: unknown key; typos are not ignored"],
    ["an ssh key on an aws host", aws({ address: "h" }), "copilotos:host.address: is not a key of this host kind"],
    [
      "S3 backups on an ssh host",
      {
        ...aws(),
        host: { kind: "ssh", address: "h", user: "u", hostKey: HOST_KEY },
        backup: { s3: true },
      },
      'copilotos:backup.s3: needs host.kind "aws"',
    ],
    [
      "S3 backups and another off-host repository",
      aws({}, { backup: { s3: true, offsite: { rest: { url: "https://backups.example.com/r" } } } }),
      "copilotos:backup.s3: and backup.offsite both name an off-host restic repository, and a stack has one: set backup.s3 to false to keep backup.offsite, or remove backup.offsite",
    ],
  ])("%s is rejected, naming the key", (_n, raw, problem) => {
    expect(keysOf(raw).join("\n")).toContain(problem);
  });
});

test("backup.s3: the stack's bucket is the restic repository, through the instance role (no credential file), its region named; the bucket read from the host's file", () => {
  const cfg = parseConfig({ ...aws(), backup: { s3: true } });
  const spec = backupSpecOf({ identity: { project: "copilotos", stack: "prod" }, cfg });
  expect(spec.offsite).toEqual({
    target: { kind: "aws", region: "eu-west-1" },
    secretsDir: "~/.copilotos/offsite/copilotos-prod",
    image: String(cfg.images.restic),
    retention: { keep: 7, daily: 7, weekly: 4, monthly: 12 },
    checkSubset: undefined,
  });
  expect(resticLines(spec.offsite!, "backup")).toEqual([
    `offsite="$HOME"/.copilotos/offsite/copilotos-prod; restic_image=${String(cfg.images.restic)}`,
    '[ -r "$offsite/password" ] || { echo "backup: no off-host repository credentials in $offsite on this host: run pulumi up (it writes them) first" >&2; exit 1; }',
    'where=$(cat "$offsite/repository")',
    `restic_run() { docker run --rm -i --network host -e RESTIC_PROGRESS_FPS=0.1 -e RESTIC_PASSWORD_FILE=/run/copilotos-offsite/password -e RESTIC_REPOSITORY_FILE=/run/copilotos-offsite/repository -v "$offsite":/run/copilotos-offsite:ro --entrypoint /usr/bin/restic "$restic_image" --no-cache -o s3.region=eu-west-1 "$@"; }`,
  ]);
  // The host's files: the password and the repository in the bucket the stack made, nothing else.
  const target = { kind: "aws" as const, region: "eu-west-1", bucket: "copilotos-prod-backups-1a2b" };
  expect(offsiteFiles(target, { password: "p".repeat(48) })).toEqual([
    ["password", "p".repeat(48)],
    ["repository", "s3:https://s3.eu-west-1.amazonaws.com/copilotos-prod-backups-1a2b/restic"],
  ]);
  expect(() => offsiteFiles(spec.offsite!.target, { password: "p" })).toThrow("the repository of backup.s3 needs the stack's bucket");
  expect(offsiteWhere(spec.offsite!.target)).toBe("the stack's S3 bucket (backup.s3, eu-west-1)");
  expect(shSyntaxOk(backupScript(spec))).toBe("");
});

test("config paths with list indices, as `pulumi config set --path` writes them", () => {
  expect(pathSegments("host.sshCidrs[1]")).toEqual(["host", "sshCidrs", 1]);
  const values = {};
  setPath(values, "copilotos:host.sshCidrs[0]", "203.0.113.7/32");
  setPath(values, "copilotos:host.sshCidrs[1]", "2001:db8::/48");
  setPath(values, "copilotos:host.kind", "aws");
  expect(values).toEqual({ "copilotos:host": { sshCidrs: ["203.0.113.7/32", "2001:db8::/48"], kind: "aws" } });
  expect(() => setPath({}, "copilotos:[0]", "x")).toThrow('config path "[0]" is not valid');
});

/**
 * What an AWS Docker host is made of, as plain values: the instance's first-boot setup, the
 * readiness check, security group rules, the backup bucket's lifecycle and the IAM documents. Pure.
 */
import { stringify } from "yaml";
import { lines, shq, STRICT } from "../shell";
import { osUpdatesSetupLines, OsUpdatesSpec } from "./osUpdates";
import { AWS_REPOSITORY_PREFIX } from "../operations/offsite";

/** An IPv4 or IPv6 CIDR block (`203.0.113.0/24`, `2001:db8::/32`). */
export const IPV4_CIDR = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/([0-9]|[12]\d|3[0-2])$/;
export const IPV6_CIDR = /^[0-9a-fA-F:]+:[0-9a-fA-F:]*\/([0-9]|[1-9]\d|1[01]\d|12[0-8])$/;

/** Where the data volume is mounted: every image, container and Docker volume lives on it. */
export const DOCKER_ROOT = "/var/lib/docker";
/** The data volume's file system label (found by label in fstab, whatever the device is called). */
export const DATA_LABEL = "copilotos-data";
/** Device name the volume is attached as (Xen instances see /dev/xvdf; Nitro an NVMe disk). */
export const DATA_DEVICE = "/dev/sdf";

export interface SetupSpec {
  /** The EBS data volume's ID (`vol-0123...`). */
  volumeId: string;
  /** The login user, added to the docker group. */
  user: string;
  /** Install the AWS CLI (it reads the archives the bucket's tiers kept from before backups went through restic). */
  awsCli: boolean;
  /** Seconds to wait for the data volume to be attached. */
  attachWaitSeconds: number;
  /** Unattended security upgrades (config host.osUpdates). @default none */
  osUpdates?: OsUpdatesSpec;
}

/**
 * First-boot script: wait for the data volume, format it only when it holds no file system (a
 * re-attached volume keeps its data), mount it at /var/lib/docker *before* Docker is installed,
 * then install Docker. Idempotent.
 */
export function setupScript(s: SetupSpec): string {
  const nvme = `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${s.volumeId.replace("-", "")}`;
  return lines(
    "#!/bin/sh",
    STRICT,
    `dev=""; waited=0`,
    `while [ -z "$dev" ]; do`,
    `  for d in ${shq(nvme)} /dev/xvdf; do if [ -b "$d" ]; then dev=$(readlink -f "$d"); fi; done`,
    `  if [ -z "$dev" ]; then`,
    `    if [ "$waited" -ge ${s.attachWaitSeconds} ]; then echo "copilotos: data volume ${s.volumeId} not attached after ${s.attachWaitSeconds}s" >&2; exit 1; fi`,
    `    sleep 5; waited=$((waited + 5))`,
    `  fi`,
    `done`,
    `if ! blkid -p "$dev" >/dev/null 2>&1; then echo "copilotos: formatting empty data volume $dev"; mkfs.ext4 -q -L ${DATA_LABEL} "$dev"; fi`,
    `mkdir -p ${DOCKER_ROOT}`,
    `grep -q 'LABEL=${DATA_LABEL} ' /etc/fstab || echo 'LABEL=${DATA_LABEL} ${DOCKER_ROOT} ext4 defaults,nofail 0 2' >> /etc/fstab`,
    `mountpoint -q ${DOCKER_ROOT} || mount "$dev" ${DOCKER_ROOT}`,
    `export DEBIAN_FRONTEND=noninteractive`,
    `apt-get update -q`,
    // cron runs the scheduled backups (backup.schedule).
    `apt-get install -y -q docker.io cron${s.awsCli ? " awscli" : ""}`,
    ...(s.osUpdates ? osUpdatesSetupLines(s.osUpdates) : []),
    `usermod -aG docker ${shq(s.user)}`,
    `systemctl enable --now docker`,
    `echo "copilotos: docker ready on $dev"`,
  );
}

export interface UserDataSpec extends SetupSpec {
  /** The host's SSH key pair (OpenSSH text): installed as the host key, so the client can pin it. */
  hostKey: { privateKey: string; publicKey: string };
}

/**
 * cloud-init user data: the host key the program generated (so the first connection is already
 * pinned, never trust-on-first-use), no other generated host keys, and the setup script.
 * It holds a private key: it is a secret input of the instance.
 */
export function userData(u: UserDataSpec): string {
  const doc = {
    ssh_deletekeys: true,
    ssh_genkeytypes: [],
    ssh_keys: { ed25519_private: u.hostKey.privateKey.trimEnd() + "\n", ed25519_public: u.hostKey.publicKey.trim() },
    write_files: [{ path: "/usr/local/sbin/copilotos-setup", permissions: "0755", content: setupScript(u) }],
    runcmd: [["/usr/local/sbin/copilotos-setup"]],
  };
  return `#cloud-config\n${stringify(doc, { lineWidth: 0 })}`;
}

/**
 * Run over SSH until it succeeds: waits for first boot to finish, then checks the data volume is
 * mounted and Docker answers (through `sg`, as this session may predate the docker group).
 */
export function readyScript(): string {
  return lines(
    STRICT,
    `echo "host: waiting for first boot (cloud-init) to finish"`,
    // 0: done; 2: done with recoverable warnings (newer cloud-init); anything else: failed.
    `rc=0; cloud-init status --wait >/dev/null || rc=$?`,
    `if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then echo "host: first boot failed (cloud-init status $rc); see /var/log/cloud-init-output.log on the host" >&2; exit 1; fi`,
    `if ! mountpoint -q ${DOCKER_ROOT}; then echo "host: ${DOCKER_ROOT} is not on the data volume" >&2; exit 1; fi`,
    `echo "host: docker $(sg docker -c "docker version --format '{{.Server.Version}}'") on the data volume"`,
  );
}

export interface IngressRule {
  description: string;
  protocol: "tcp";
  fromPort: number;
  toPort: number;
  cidrBlocks: string[];
  ipv6CidrBlocks: string[];
}

/** Security group ingress: SSH from `sshCidrs`, each app port from `appCidrs`; nothing else (no database port). */
export function ingressRules(r: { sshCidrs: string[]; appCidrs: string[]; appPorts: Record<string, number> }): IngressRule[] {
  const rule = (description: string, port: number, cidrs: string[]): IngressRule => ({
    description,
    protocol: "tcp",
    fromPort: port,
    toPort: port,
    cidrBlocks: cidrs.filter((c) => IPV4_CIDR.test(c)),
    ipv6CidrBlocks: cidrs.filter((c) => !IPV4_CIDR.test(c)),
  });
  return [rule("ssh", 22, r.sshCidrs), ...Object.entries(r.appPorts).map(([name, port]) => rule(name, port, r.appCidrs))];
}

/** Backup tiers in the bucket (seed 003: daily 30 days, weekly 12 weeks, monthly 12 months), of the archives uploaded before backups went through restic. */
export const BACKUP_TIERS = { daily: 30, weekly: 12 * 7, monthly: 365 } as const;
/** Days an overwritten or deleted backup version is kept. */
export const NONCURRENT_DAYS = 30;

/**
 * The restic repository's objects never expire by age (restic's `forget --prune` decides which
 * snapshots go); what restic deletes or overwrites stays NONCURRENT_DAYS as a noncurrent version,
 * so a compromised host's deletes can be undone. The tiers' rules expire the archives uploaded
 * before backups went through restic, as they always did.
 */
export function lifecycleRules() {
  return [
    {
      id: `${AWS_REPOSITORY_PREFIX}-noncurrent-${NONCURRENT_DAYS}d`,
      status: "Enabled",
      filter: { prefix: `${AWS_REPOSITORY_PREFIX}/` },
      expiration: { expiredObjectDeleteMarker: true },
      noncurrentVersionExpiration: { noncurrentDays: NONCURRENT_DAYS },
      abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
    },
    ...Object.entries(BACKUP_TIERS).map(([tier, days]) => ({
      id: `${tier}-${days}d`,
      status: "Enabled",
      filter: { prefix: `${tier}/` },
      expiration: { days },
      noncurrentVersionExpiration: { noncurrentDays: NONCURRENT_DAYS },
      abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
    })),
  ];
}

/** EC2 may assume the instance role. */
export function ec2AssumeRolePolicy(): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
  });
}

/**
 * The instance role may list this one bucket, read, write and delete the objects of the restic
 * repository under AWS_REPOSITORY_PREFIX (restic's locks and `forget --prune` delete; the bucket's
 * versioning keeps what they delete), and read the tiers' older archives; nothing else.
 */
export function backupRolePolicy(bucketArn: string): string {
  const p = AWS_REPOSITORY_PREFIX;
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      // HeadBucket (restic's init checks the bucket exists) needs s3:ListBucket with no prefix at all.
      { Sid: "CopilotosBucketList", Effect: "Allow", Action: "s3:ListBucket", Resource: bucketArn },
      { Sid: "CopilotosResticObjects", Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource: `${bucketArn}/${p}/*` },
      { Sid: "CopilotosTierArchives", Effect: "Allow", Action: "s3:GetObject", Resource: Object.keys(BACKUP_TIERS).map((t) => `${bucketArn}/${t}/*`) },
    ],
  });
}

/** The instance role may write log streams of the stack's log group (Docker's awslogs driver), nothing else. */
export function logsRolePolicy(logGroupArn: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Sid: "CopilotosLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${logGroupArn}:log-stream:*` }],
  });
}

/** A statement refusing plain-HTTP requests. */
const denyInsecureTransport = (bucketArn: string) => ({
  Sid: "DenyInsecureTransport",
  Effect: "Deny",
  Principal: "*",
  Action: "s3:*",
  Resource: [bucketArn, `${bucketArn}/*`],
  Condition: { Bool: { "aws:SecureTransport": "false" } },
});

/** Only TLS requests reach the bucket. */
export function tlsOnlyBucketPolicy(bucketArn: string): string {
  return JSON.stringify({ Version: "2012-10-17", Statement: [denyInsecureTransport(bucketArn)] });
}

/** Days the backup bucket's server access logs are kept. */
export const ACCESS_LOG_DAYS = 365;
/** Where in the log bucket the backup bucket's access logs land. */
export const ACCESS_LOG_PREFIX = "backups/";

/** The access-log bucket expires logs after ACCESS_LOG_DAYS. */
export function accessLogLifecycleRules() {
  return [
    {
      id: `access-logs-${ACCESS_LOG_DAYS}d`,
      status: "Enabled",
      filter: { prefix: "" },
      expiration: { days: ACCESS_LOG_DAYS },
      noncurrentVersionExpiration: { noncurrentDays: NONCURRENT_DAYS },
      abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
    },
  ];
}

/** TLS only, and S3's logging service may write access logs of the source bucket (and no other) under ACCESS_LOG_PREFIX. */
export function accessLogBucketPolicy(logBucketArn: string, sourceBucketArn: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      denyInsecureTransport(logBucketArn),
      {
        Sid: "S3ServerAccessLogs",
        Effect: "Allow",
        Principal: { Service: "logging.s3.amazonaws.com" },
        Action: "s3:PutObject",
        Resource: `${logBucketArn}/${ACCESS_LOG_PREFIX}*`,
        Condition: { ArnLike: { "aws:SourceArn": sourceBucketArn } },
      },
    ],
  });
}

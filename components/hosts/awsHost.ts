import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { backupRolePolicy, DATA_DEVICE, ec2AssumeRolePolicy, ingressRules, logsRolePolicy, readyScript, userData } from "../renderers/hosts/aws";
import { AwsAlarms } from "./awsAlarms";
import { BackupBucket } from "./backupBucket";
import type { StackConfig } from "../config";
import { describedScript } from "../renderers/shell";
import { AWS_READY_DOES } from "../renderers/operations/stepDescriptions";

export type AwsHostSettings = Omit<Extract<StackConfig["host"], { kind: "aws" }>, "privateKey">;

export interface AwsHostArgs {
  /** Region, zone, AMI filter, instance type, key, CIDRs and volume sizes (config `host`). */
  settings: AwsHostSettings;
  /** The deploy key's private half for the readiness check. @default the ssh agent's keys */
  privateKey?: pulumi.Input<string>;
  /** Ports the proxy publishes, by name: opened to `settings.appCidrs`. */
  appPorts: Record<string, number>;
  /** Create the backup bucket and let the instance keep its restic repository there (config backup.s3). @default false */
  offsiteBackups?: boolean;
  /** Tags on every AWS resource. @default {} */
  tags?: Record<string, string>;
  /** The stack's CloudWatch log group (logs.driver awslogs): made here, the instance role may write to it. @default none */
  logGroup?: { name: string; retentionDays: number };
  /** Where the CloudWatch alarms' topic delivers (with `settings.alarms.enabled`). @default nowhere: the topic only */
  alarmReceivers?: { email?: string; webhookUrl?: pulumi.Input<string> };
}

/**
 * An EC2 Docker host: the newest AMI matching the filter, a security group (SSH and the app ports
 * from the configured CIDRs only, never a database port), the deploy key as key pair, a host key
 * generated here and installed at first boot (so the first SSH connection is already pinned), an
 * Elastic IP, and a separate encrypted EBS volume for /var/lib/docker that is protected and
 * retained, so replacing the instance keeps every image and data volume.
 */
export class AwsHost extends pulumi.ComponentResource {
  /** The Elastic IP the stack is reached at. */
  public readonly address: pulumi.Output<string>;
  /** The host's public SSH key line (`ssh-ed25519 AAAA...`), pinned by every connection. */
  public readonly hostKey: pulumi.Output<string>;
  public readonly instanceId: pulumi.Output<string>;
  public readonly dataVolumeId: pulumi.Output<string>;
  /** Succeeds once the instance has booted, mounted its data volume and runs Docker. */
  public readonly ready: command.remote.Command;
  /** The off-host backup bucket, when `offsiteBackups`. */
  public readonly backupBucket?: BackupBucket;
  /** The instance's CloudWatch alarms and their SNS topic, when `settings.alarms.enabled`. */
  public readonly alarms?: AwsAlarms;

  constructor(name: string, args: AwsHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:host:AwsHost", name, {}, opts);
    const s = args.settings;
    const tags = { ...(args.tags ?? {}), "copilotos:host": name };
    const provider = new aws.Provider(`${name}-aws`, { region: s.region as aws.Region }, { parent: this });
    const child = { parent: this, provider };

    const ami = aws.ec2.getAmiOutput(
      {
        mostRecent: true,
        owners: [s.ami.owner],
        filters: [
          { name: "name", values: [s.ami.name] },
          { name: "architecture", values: [s.ami.architecture] },
          { name: "virtualization-type", values: ["hvm"] },
          { name: "root-device-type", values: ["ebs"] },
        ],
      },
      child,
    );
    const subnet = aws.ec2.getSubnetOutput(
      s.subnetId ? { id: s.subnetId, availabilityZone: s.availabilityZone } : { availabilityZone: s.availabilityZone, defaultForAz: true },
      child,
    );

    const hostKey = new tls.PrivateKey(`${name}-host-key`, { algorithm: "ED25519" }, { parent: this });
    const keyPair = new aws.ec2.KeyPair(`${name}-key`, { publicKey: s.publicKey, tags }, child);
    const group = new aws.ec2.SecurityGroup(
      `${name}-sg`,
      {
        description: "copilotos Docker host: SSH and the app ports from the configured CIDRs only",
        vpcId: subnet.vpcId,
        ingress: ingressRules({ sshCidrs: s.sshCidrs, appCidrs: s.appCidrs, appPorts: args.appPorts }),
        egress: [{ description: "all outbound", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"] }],
        tags,
      },
      child,
    );
    const volume = new aws.ebs.Volume(
      `${name}-data`,
      { availabilityZone: s.availabilityZone, size: s.dataVolumeGb, type: "gp3", encrypted: true, tags: { ...tags, Name: `${name}-data` } },
      { ...child, protect: true, retainOnDelete: true },
    );

    // The instance role: only what the host does with AWS (its restic repository in the backup bucket, its containers' logs).
    let instanceProfile: aws.iam.InstanceProfile | undefined;
    const logsReady: pulumi.Resource[] = [];
    if (args.offsiteBackups || args.logGroup) {
      const role = new aws.iam.Role(`${name}-role`, { assumeRolePolicy: ec2AssumeRolePolicy(), tags }, child);
      if (args.offsiteBackups) {
        this.backupBucket = new BackupBucket(`${name}-backups`, { provider, tags }, { parent: this });
        new aws.iam.RolePolicy(`${name}-backup-access`, { role: role.id, policy: this.backupBucket.bucketArn.apply(backupRolePolicy) }, child);
      }
      if (args.logGroup) {
        const group = new aws.cloudwatch.LogGroup(`${name}-logs`, { name: args.logGroup.name, retentionInDays: args.logGroup.retentionDays, tags }, child);
        logsReady.push(group, new aws.iam.RolePolicy(`${name}-logs-access`, { role: role.id, policy: group.arn.apply(logsRolePolicy) }, child));
      }
      instanceProfile = new aws.iam.InstanceProfile(`${name}-profile`, { role: role.name, tags }, child);
    }

    const boot = pulumi.all([hostKey.privateKeyOpenssh, hostKey.publicKeyOpenssh, volume.id]).apply(([privateKey, publicKey, volumeId]) =>
      userData({
        hostKey: { privateKey, publicKey },
        volumeId,
        user: s.user,
        awsCli: args.offsiteBackups ?? false,
        attachWaitSeconds: s.readyTimeoutSeconds,
        osUpdates: s.osUpdates.enabled ? s.osUpdates : undefined,
      }),
    );
    const instance = new aws.ec2.Instance(
      `${name}-instance`,
      {
        ami: ami.id,
        instanceType: s.instanceType,
        subnetId: subnet.id,
        availabilityZone: s.availabilityZone,
        vpcSecurityGroupIds: [group.id],
        keyName: keyPair.keyName,
        iamInstanceProfile: instanceProfile?.name,
        // It carries the host's private key.
        userData: pulumi.secret(boot),
        userDataReplaceOnChange: true,
        // IMDSv2 only, one hop: containers (one hop further) cannot read the role's credentials.
        metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
        // Detailed (1-minute) CloudWatch metrics: a full disk or a CPU spike shows before the app fails.
        monitoring: true,
        rootBlockDevice: { volumeSize: s.rootVolumeGb, volumeType: "gp3", encrypted: true, deleteOnTermination: true },
        tags: { ...tags, Name: name },
      },
      // A newer AMI is not a reason to replace a running host; `pulumi up --replace <urn>` moves to it.
      { ...child, ignoreChanges: ["ami"] },
    );
    const attachment = new aws.ec2.VolumeAttachment(
      `${name}-data-attachment`,
      { deviceName: DATA_DEVICE, volumeId: volume.id, instanceId: instance.id, stopInstanceBeforeDetaching: true },
      // A new instance gets the volume only after the old one let go of it.
      { ...child, deleteBeforeReplace: true },
    );
    const ip = new aws.ec2.Eip(`${name}-ip`, { domain: "vpc", instance: instance.id, tags }, child);
    if (s.alarms.enabled) {
      const { cpuPercent, cpuMinutes } = s.alarms;
      this.alarms = new AwsAlarms(
        `${name}-alarms`,
        { provider, region: s.region, instanceId: instance.id, settings: { cpuPercent, cpuMinutes }, ...args.alarmReceivers, tags },
        { parent: this },
      );
    }

    this.address = ip.publicIp;
    this.hostKey = hostKey.publicKeyOpenssh.apply((k) => k.trim());
    this.instanceId = instance.id;
    this.dataVolumeId = volume.id;
    this.ready = new command.remote.Command(
      `${name}-ready`,
      {
        connection: {
          host: this.address,
          port: 22,
          user: s.user,
          hostKey: this.hostKey,
          privateKey: args.privateKey,
          perDialTimeout: s.connectTimeoutSeconds,
          // A new instance needs a minute or two before sshd answers: keep dialing up to readyTimeoutSeconds.
          dialErrorLimit: Math.ceil(s.readyTimeoutSeconds / s.connectTimeoutSeconds),
        },
        create: describedScript(AWS_READY_DOES, readyScript()),
        triggers: [instance.id, attachment.id],
      },
      // No container starts before its log group and the right to write to it exist (awslogs refuses to start one).
      { parent: this, dependsOn: [attachment, ip, ...logsReady] },
    );
    this.registerOutputs({ address: this.address, hostKey: this.hostKey, instanceId: this.instanceId, dataVolumeId: this.dataVolumeId });
  }
}

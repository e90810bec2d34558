import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { AwsHost } from "./awsHost";
import { dockerSshUrl, knownHostsLine, sshClientOptions, SshOptionFiles } from "../renderers/hosts/ssh";
import type { StackConfig } from "../config";
import { sshFilesIn, writeSshFiles } from "./sshFiles";

export type HostArgs = StackConfig["host"];

/** The SSH connection @pulumi/command resources use to run scripts on the host. */
export interface HostConnection {
  host: pulumi.Input<string>;
  port: number;
  user: string;
  hostKey: pulumi.Input<string>;
  privateKey?: pulumi.Output<string>;
  /** Seconds per dial attempt. */
  perDialTimeout: number;
  /** Dial attempts before giving up. */
  dialErrorLimit: number;
  /** The pinned known_hosts file (and key file) the system ssh client uses, written before the provider dials. */
  files: SshOptionFiles;
}

export interface DockerHostArgs {
  /** Which Docker engine to deploy to: the local socket, a host reached over SSH, or an EC2 instance the stack creates. */
  host: HostArgs;
  /** Folder for the known_hosts and private key files the ssh client reads (private: 0700, files 0600). */
  sshDir: string;
  /** Ports the stack publishes, by name (an aws host opens them in its security group). @default {} */
  appPorts?: Record<string, number>;
  /** Create an S3 bucket for off-host backups the host may write to (aws hosts only). @default false */
  offsiteBackups?: boolean;
  /** An aws host's CloudWatch log group for the containers (logs.driver awslogs). @default none */
  logGroup?: { name: string; retentionDays: number };
  /** Where an aws host's CloudWatch alarms are delivered (the stack's alert email and webhook). @default nowhere */
  alarmReceivers?: { email?: string; webhookUrl?: pulumi.Input<string> };
  /** Credentials of a private registry the engine pulls from (registry mode). @default none (public images) */
  registry?: { address: string; username: string; password: pulumi.Input<string> };
}

/**
 * The Docker host: a Docker provider for its engine and, for SSH and AWS hosts, the pinned
 * connection @pulumi/command uses. An aws host is created first (components/hosts/awsHost.ts) and then
 * used exactly like an ssh host. The private key is only ever a secret output or a 0600 file.
 */
export class DockerHost extends pulumi.ComponentResource {
  /** The Docker provider every container, volume and network of the stack uses. */
  public readonly provider: docker.Provider;
  /** `unix:///var/run/docker.sock` or `ssh://user@host:port`. */
  public readonly dockerHost: pulumi.Output<string>;
  /** Host name the published ports are reached at. */
  public readonly publicAddress: pulumi.Output<string>;
  /** SSH connection for command resources; undefined for the local engine. */
  public readonly connection?: HostConnection;
  /** What must succeed before anything runs on the host (an aws host's first boot). */
  public readonly ready: pulumi.Resource[];
  /** The EC2 instance, volume and bucket of an aws host. */
  public readonly aws?: AwsHost;
  /** The bucket of the stack's restic repository (aws hosts with backup.s3). */
  public readonly backupBucket?: pulumi.Output<string>;

  constructor(name: string, args: DockerHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:host:DockerHost", name, {}, opts);
    const host = args.host;
    if (host.kind === "local") {
      this.dockerHost = pulumi.output(host.socket);
      this.publicAddress = pulumi.output("localhost");
      this.provider = new docker.Provider(`${name}-docker`, { host: host.socket, registryAuth: registryAuth(args.registry) }, { parent: this });
      this.ready = [];
    } else {
      let target: { address: pulumi.Input<string>; port: number; hostKey: pulumi.Input<string> };
      if (host.kind === "aws") {
        const { privateKey, ...settings } = host;
        // Loaded only here: @pulumi/aws and @pulumi/tls cost most of a dry run's start-up, and only an aws host uses them.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { AwsHost } = require("./awsHost") as typeof import("./awsHost");
        this.aws = new AwsHost(
          `${name}-aws`,
          {
            settings,
            privateKey,
            appPorts: args.appPorts ?? {},
            offsiteBackups: args.offsiteBackups,
            alarmReceivers: args.alarmReceivers,
            logGroup: args.logGroup,
          },
          { parent: this },
        );
        this.backupBucket = this.aws.backupBucket?.bucketName;
        target = { address: this.aws.address, port: 22, hostKey: this.aws.hostKey };
        this.ready = [this.aws.ready];
      } else {
        target = { address: host.address, port: host.port, hostKey: host.hostKey };
        this.ready = [];
      }
      const address = pulumi.output(target.address);
      this.dockerHost = address.apply((a) => dockerSshUrl(host.user, a, target.port));
      this.publicAddress = address;
      const files = sshFilesIn(args.sshDir, host.privateKey !== undefined, host.connectTimeoutSeconds);
      const sshOpts = pulumi
        .all([address, target.hostKey, host.privateKey])
        .apply(([a, hostKey, key]) => sshClientOptions(writeSshFiles(files, knownHostsLine(a, target.port, hostKey), key)));
      this.provider = new docker.Provider(`${name}-docker`, { host: this.dockerHost, sshOpts, registryAuth: registryAuth(args.registry) }, { parent: this });
      this.connection = {
        host: target.address,
        port: target.port,
        user: host.user,
        hostKey: target.hostKey,
        privateKey: host.privateKey,
        perDialTimeout: host.connectTimeoutSeconds,
        dialErrorLimit: 3,
        files,
      };
    }
    this.registerOutputs({ dockerHost: this.dockerHost, publicAddress: this.publicAddress });
  }
}

/** The provider's registry login: the password stays a secret input, never in a command line. */
function registryAuth(r: DockerHostArgs["registry"]) {
  return r ? [{ address: r.address, username: r.username, password: pulumi.secret(r.password) }] : undefined;
}

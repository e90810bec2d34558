import * as os from "node:os";
import * as path from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { dockerSshUrl, knownHostsLine, sshClientOptions, SshOptionFiles } from "./build/ssh";
import type { StackConfig } from "./config";
import { sshFilesIn, writeSshFiles } from "./sshFiles";

export type HostArgs = StackConfig["host"];

/** The SSH connection @pulumi/command resources use to run scripts on the host. */
export interface HostConnection {
  host: string;
  port: number;
  user: string;
  hostKey: string;
  privateKey?: pulumi.Output<string>;
  /** Seconds per dial attempt. */
  perDialTimeout: number;
  /** Dial attempts before giving up. */
  dialErrorLimit: number;
  /** The pinned known_hosts file (and key file) the system ssh client uses, written before the provider dials. */
  files: SshOptionFiles;
}

export interface DockerHostArgs {
  /** Which Docker engine to deploy to: the local socket, or a host reached over SSH. */
  host: HostArgs;
  /**
   * Folder for the known_hosts and private key files the ssh client reads (created 0700, files 0600).
   * @default `<os tmpdir>/copilotos-ssh-<name>`
   */
  sshDir?: string;
}

/**
 * The Docker host: a Docker provider for its engine and, for SSH hosts, the pinned connection
 * @pulumi/command uses. The private key is only ever a secret output or a 0600 file; never printed.
 */
export class DockerHost extends pulumi.ComponentResource {
  /** The Docker provider every container, volume and network of the stack uses. */
  public readonly provider: docker.Provider;
  /** `unix:///var/run/docker.sock` or `ssh://user@host:port`. */
  public readonly dockerHost: string;
  /** Host name the published ports are reached at. */
  public readonly publicAddress: string;
  /** SSH connection for command resources; undefined for the local engine. */
  public readonly connection?: HostConnection;

  constructor(name: string, args: DockerHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:host:DockerHost", name, {}, opts);
    const host = args.host;
    if (host.kind === "local") {
      this.dockerHost = host.socket;
      this.publicAddress = "localhost";
      this.provider = new docker.Provider(`${name}-docker`, { host: host.socket }, { parent: this });
    } else {
      this.dockerHost = dockerSshUrl(host.user, host.address, host.port);
      this.publicAddress = host.address;
      const files = sshFilesIn(args.sshDir ?? path.join(os.tmpdir(), `copilotos-ssh-${name}`), host.privateKey !== undefined, host.connectTimeoutSeconds);
      const sshOpts = pulumi
        .output(host.privateKey)
        .apply((key) => sshClientOptions(writeSshFiles(files, knownHostsLine(host.address, host.port, host.hostKey), key)));
      this.provider = new docker.Provider(`${name}-docker`, { host: this.dockerHost, sshOpts }, { parent: this });
      this.connection = {
        host: host.address,
        port: host.port,
        user: host.user,
        hostKey: host.hostKey,
        privateKey: host.privateKey,
        perDialTimeout: host.connectTimeoutSeconds,
        dialErrorLimit: 3,
        files,
      };
    }
    this.registerOutputs({ dockerHost: this.dockerHost, publicAddress: this.publicAddress });
  }
}

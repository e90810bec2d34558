import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
  ALIASES,
  Limits,
  LogSettings,
  loopbackPort,
  mongoEnv,
  SECRET_FILES,
  secretUpload,
  SERVICE_PORTS,
  serviceContainer,
  mongoCommand,
  wiredTigerCacheGb,
} from "../renderers/services/containers";
import { containerName, StackIdentity } from "../renderers/names";
import { dataVolume } from "./dataVolume";
import { serviceFiles } from "./serviceFiles";

export interface MongoArgs {
  /** Project and stack: every name and label carries them. */
  identity: StackIdentity;
  /** The stack's private network; the container joins it under the alias `mongodb`. */
  networkName: pulumi.Input<string>;
  /** Image reference, e.g. `mongo:7`. */
  image: pulumi.Input<string>;
  /** Root user (config `mongo.user`). */
  user: string;
  /** Root password (a secret). Mongo applies it only when it initialises an empty volume. */
  password: pulumi.Input<string>;
  /** Database the API uses (config `mongo.database`). */
  database: string;
  /** Host port bound on 127.0.0.1; unset, Mongo is reachable on the stack network only. @default undefined */
  hostPort?: number;
  /** Memory and CPU limits (config `resources.mongo`). */
  limits: Limits;
  /** WiredTiger's cache (GB; config `mongo.cacheGb`). @default wiredTigerCacheGb(limits.memoryMb) */
  cacheGb?: number;
  /** Also `protect` the data volume (it is always `retainOnDelete`; config `protectData`). */
  protectData: boolean;
  /** Seconds to wait for a healthy container (config `healthTimeoutSeconds`). */
  healthTimeoutSeconds: number;
  /** Log driver and rotation (config `logs`). @default DEFAULT_LOGS */
  logs?: LogSettings;
  /**
   * An existing volume taken over by name (adopting a compose deployment, config `adopt.volumes`):
   * never created, changed or deleted by the stack. @default undefined (the stack's own retained volume)
   */
  existingVolume?: string;
}

/** MongoDB on a named, retained data volume; the root password arrives as a file. */
export class Mongo extends pulumi.ComponentResource {
  public readonly containerName: pulumi.Output<string>;
  public readonly containerId: pulumi.Output<string>;
  public readonly volumeName: pulumi.Output<string>;
  /** Host name on the stack network. */
  public readonly host: string = ALIASES.mongo;
  public readonly port: number = SERVICE_PORTS.mongo;
  public readonly user: string;
  public readonly database: string;

  constructor(name: string, args: MongoArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:db:Mongo", name, {}, opts);
    this.user = args.user;
    this.database = args.database;
    const volume = dataVolume(this, name, args, "mongo", opts?.dependsOn);
    const base = containerName(args.identity, "mongo");
    const files = serviceFiles(
      name,
      {
        identity: args.identity,
        base,
        image: args.image,
        uploads: [secretUpload(SECRET_FILES.mongoRootPassword, args.password)],
        mounts: [{ volumeName: volume, containerPath: "/data/db" }],
      },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    const container = new docker.Container(
      `${name}-container`,
      {
        ...serviceContainer({
          identity: args.identity,
          service: "mongo",
          image: args.image,
          networkName: args.networkName,
          limits: args.limits,
          healthTimeoutSeconds: args.healthTimeoutSeconds,
          logs: args.logs,
        }),
        command: mongoCommand(args.cacheGb ?? wiredTigerCacheGb(args.limits.memoryMb)),
        envs: mongoEnv({ user: this.user, database: this.database }),
        volumes: files.volumes,
        ports: loopbackPort(SERVICE_PORTS.mongo, args.hostPort),
        removeVolumes: false,
        // Give mongod time to flush and shut down cleanly when the container is replaced.
        destroyGraceSeconds: 60,
      },
      // Waits for what the component waits for (pre-flight; for Mongo, the backup).
      // A fixed name and one data volume: the old container must stop before the new one starts.
      { parent: this, dependsOn: files.dependsOn, deleteBeforeReplace: true },
    );
    this.containerName = container.name;
    this.containerId = container.id;
    this.volumeName = volume;
    this.registerOutputs({ containerName: this.containerName, volumeName: this.volumeName });
  }
}

import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
  ALIASES,
  Limits,
  LogSettings,
  loopbackPort,
  REDIS_COMMAND,
  redisConf,
  redisMaxMemoryMb,
  redisUploads,
  SERVICE_PORTS,
  serviceContainer,
} from "../renderers/services/containers";
import { containerName, StackIdentity } from "../renderers/names";
import { dataVolume } from "./dataVolume";
import { serviceFiles } from "./serviceFiles";

export interface RedisArgs {
  /** Project and stack: every name and label carries them. */
  identity: StackIdentity;
  /** The stack's private network; the container joins it under the alias `redis`. */
  networkName: pulumi.Input<string>;
  /** Image reference, e.g. `redis:7-alpine`. */
  image: pulumi.Input<string>;
  /** `requirepass` (a secret), delivered in its config file (on a volume of its own), never on the command line. */
  password: pulumi.Input<string>;
  /** Host port bound on 127.0.0.1; unset, Redis is reachable on the stack network only. @default undefined */
  hostPort?: number;
  /** Memory and CPU limits (config `resources.redis`). */
  limits: Limits;
  /** `maxmemory` (MiB; config `redis.maxmemoryMb`). @default redisMaxMemoryMb(limits.memoryMb): 75% of the limit */
  maxMemoryMb?: number;
  /** What Redis evicts at `maxmemory` (config `redis.evictionPolicy`). @default "volatile-lru" */
  evictionPolicy?: string;
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

/** Redis with a password and append-only persistence on a named, retained volume. */
export class Redis extends pulumi.ComponentResource {
  public readonly containerName: pulumi.Output<string>;
  public readonly containerId: pulumi.Output<string>;
  public readonly volumeName: pulumi.Output<string>;
  public readonly host: string = ALIASES.redis;
  public readonly port: number = SERVICE_PORTS.redis;

  constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:db:Redis", name, {}, opts);
    const volume = dataVolume(this, name, args, "redis", opts?.dependsOn);
    const password = pulumi.secret(args.password);
    const files = serviceFiles(
      name,
      {
        identity: args.identity,
        base: containerName(args.identity, "redis"),
        image: args.image,
        uploads: redisUploads(
          password.apply((p) =>
            redisConf(p, { maxMemoryMb: args.maxMemoryMb ?? redisMaxMemoryMb(args.limits.memoryMb), policy: args.evictionPolicy ?? "volatile-lru" }),
          ),
          password,
        ),
        mounts: [{ volumeName: volume, containerPath: "/data" }],
      },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    const container = new docker.Container(
      `${name}-container`,
      {
        ...serviceContainer({
          identity: args.identity,
          service: "redis",
          image: args.image,
          networkName: args.networkName,
          limits: args.limits,
          healthTimeoutSeconds: args.healthTimeoutSeconds,
          logs: args.logs,
        }),
        command: REDIS_COMMAND,
        volumes: files.volumes,
        ports: loopbackPort(SERVICE_PORTS.redis, args.hostPort),
        removeVolumes: false,
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

import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { apiEnv, apiUploads, Limits, publicPort, SERVICE_PORTS, serviceContainer } from "./build/containers";
import { mongoUrl, redisUrl } from "./build/connection";
import { StackIdentity } from "./build/names";

/** Where the API finds Mongo: the same secret output that set Mongo's root password. */
export interface MongoEndpoint {
  host: string;
  port: number;
  user: string;
  database: string;
  password: pulumi.Input<string>;
}

/** Where the API finds Redis: the same secret output Redis's `requirepass` was made from. */
export interface RedisEndpoint {
  host: string;
  port: number;
  password: pulumi.Input<string>;
}

export interface ApiArgs {
  /** Project and stack: every name and label carries them. */
  identity: StackIdentity;
  /** The stack's private network; the container joins it under the alias `api`. */
  networkName: pulumi.Input<string>;
  /** Image reference of the FastAPI app. */
  image: pulumi.Input<string>;
  mongo: MongoEndpoint;
  redis: RedisEndpoint;
  /** JWT signing key (secret). */
  jwtSecretKey: pulumi.Input<string>;
  /** App SECRET_KEY (secret). */
  secretKey: pulumi.Input<string>;
  /** SAPTIVA API key (secret). */
  saptivaApiKey: pulumi.Input<string>;
  /** Extra environment variables (config `api.env`); they override the managed ones. @default {} */
  env?: Record<string, string>;
  /** Host port published for the API (container port 8001). @default 8001 */
  hostPort?: number;
  /** Memory and CPU limits. @default { memoryMb: 512, cpus: 0.5 } */
  limits?: Limits;
  /** Seconds to wait for `GET /api/health` to pass. @default 120 */
  healthTimeoutSeconds?: number;
}

/** The FastAPI app. Its secrets are files under /run/secrets, named by `*_FILE` variables. */
export class Api extends pulumi.ComponentResource {
  public readonly containerName: pulumi.Output<string>;
  public readonly containerId: pulumi.Output<string>;
  public readonly hostPort: number;

  constructor(name: string, args: ApiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:app:Api", name, {}, opts);
    this.hostPort = args.hostPort ?? SERVICE_PORTS.api;
    const { mongo, redis } = args;
    const container = new docker.Container(
      `${name}-container`,
      {
        ...serviceContainer({
          identity: args.identity,
          service: "api",
          image: args.image,
          networkName: args.networkName,
          limits: args.limits ?? { memoryMb: 512, cpus: 0.5 },
          healthTimeoutSeconds: args.healthTimeoutSeconds ?? 120,
        }),
        envs: apiEnv({ database: mongo.database, extra: args.env ?? {} }),
        uploads: apiUploads({
          mongodbUrl: pulumi.secret(pulumi.output(mongo.password).apply((password) => mongoUrl({ ...mongo, password }))),
          redisUrl: pulumi.secret(pulumi.output(redis.password).apply((password) => redisUrl({ ...redis, password }))),
          jwtSecretKey: pulumi.secret(args.jwtSecretKey),
          secretKey: pulumi.secret(args.secretKey),
          saptivaApiKey: pulumi.secret(args.saptivaApiKey),
        }),
        ports: publicPort(SERVICE_PORTS.api, this.hostPort),
      },
      // The container waits for what the component waits for (Mongo and Redis healthy, for the API).
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.containerName = container.name;
    this.containerId = container.id;
    this.registerOutputs({ containerName: this.containerName, hostPort: this.hostPort });
  }
}

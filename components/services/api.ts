import * as pulumi from "@pulumi/pulumi";
import { ApiAccess, apiEnv, apiUploads, Limits, LogSettings, scratchVolumes, serviceContainer, SERVICE_PORTS } from "../renderers/services/containers";
import { containerName, StackIdentity } from "../renderers/names";
import { appContainer, secretIf } from "./appContainer";
import { serviceFiles } from "./serviceFiles";

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
  /** The stack's private network; the proxy reaches the container there by its name. */
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
  /** Unset: the API runs without a SAPTIVA key (the app reads it as optional). @default none */
  saptivaApiKey?: pulumi.Input<string>;
  /** Extra environment variables (config `api.env`); they override the managed ones. */
  env: Record<string, string>;
  /** `api.env` holds a value set with `--secret`: the container's env is a secret input (encrypted in the state). */
  envIsSecret: boolean;
  /** Memory and CPU limits (config `resources.api`). */
  limits: Limits;
  /** Seconds to wait for `GET /api/health/ready` to pass (config `healthTimeoutSeconds`). */
  healthTimeoutSeconds: number;
  /** Log driver and rotation (config `logs`). @default DEFAULT_LOGS */
  logs?: LogSettings;
  /** The port the app listens on inside its container (config `api.containerPort`). @default SERVICE_PORTS.api (8001) */
  port?: number;
  /** ALLOWED_HOSTS and CORS_ORIGINS (config `api.allowedHosts`, `api.corsOrigins`; else the stack's own names). @default the app's defaults */
  access?: pulumi.Input<ApiAccess>;
}

/**
 * The FastAPI app, fed the way its own loader reads (components/renderers/services/appContract.ts): secrets as
 * files under /run/secrets with its names (on a volume of their own: its root is read-only), connection parts as env; it builds its URLs itself.
 */
export class Api extends pulumi.ComponentResource {
  public readonly containerName: pulumi.Output<string>;
  public readonly containerId: pulumi.Output<string>;
  /** The port the app listens on inside its container: the proxy routes there. */
  public readonly port: number;

  constructor(name: string, args: ApiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:app:Api", name, {}, opts);
    const { mongo, redis } = args;
    this.port = args.port ?? SERVICE_PORTS.api;
    const files = serviceFiles(
      name,
      {
        identity: args.identity,
        base: containerName(args.identity, "api"),
        image: args.image,
        uploads: apiUploads({
          mongodbPassword: pulumi.secret(mongo.password),
          redisPassword: pulumi.secret(redis.password),
          jwtSecretKey: pulumi.secret(args.jwtSecretKey),
          secretKey: pulumi.secret(args.secretKey),
          saptivaApiKey: args.saptivaApiKey === undefined ? undefined : pulumi.secret(args.saptivaApiKey),
        }),
      },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    const container = appContainer(
      `${name}-container`,
      args.identity,
      "api",
      {
        ...serviceContainer({
          identity: args.identity,
          service: "api",
          image: args.image,
          networkName: args.networkName,
          limits: args.limits,
          healthTimeoutSeconds: args.healthTimeoutSeconds,
          logs: args.logs,
          apiPort: this.port,
        }),
        envs: secretIf(
          args.envIsSecret,
          pulumi.output(args.access).apply((access) =>
            apiEnv({
              mongo: { user: mongo.user, host: mongo.host, port: mongo.port, database: mongo.database },
              redis: { host: redis.host, port: redis.port },
              extra: args.env,
              port: this.port,
              access,
            }),
          ),
        ),
        // Its files read-only; /tmp on disk, the container's own (uploaded documents live there).
        volumes: files.volumes.apply((mounts) => [...mounts, ...scratchVolumes("api")]),
      },
      // The container waits for what the component waits for (Mongo and Redis healthy, for the API).
      { parent: this, dependsOn: files.dependsOn },
    );
    this.containerName = container.name;
    this.containerId = container.id;
    this.registerOutputs({ containerName: this.containerName, containerId: this.containerId });
  }
}

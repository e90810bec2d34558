import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Api } from "./api";
import { dockerLabels, labelMap, StackIdentity, stackPrefix } from "./build/names";
import type { StackConfig } from "./config";
import { DockerHost } from "./host";
import { Mongo } from "./mongo";
import { Redis } from "./redis";
import { StackSecrets } from "./secrets";
import { Web } from "./web";

export interface AppStackArgs {
  /** The parsed, typed stack config (components/config.ts); nothing here reads pulumi.Config. */
  config: StackConfig;
  /**
   * Folder for the SSH client's known_hosts and key files (SSH hosts only).
   * @default `<os tmpdir>/copilotos-ssh-<name>-host`
   */
  sshDir?: string;
}

/**
 * The whole copilotos stack on one Docker host: secrets, a private network, Mongo, Redis, the API
 * and the web app. Mongo's root password and the API's MONGODB_URL come from one secret output.
 */
export class AppStack extends pulumi.ComponentResource {
  public readonly host: DockerHost;
  public readonly secrets: StackSecrets;
  public readonly networkName: pulumi.Output<string>;
  public readonly mongo: Mongo;
  public readonly redis: Redis;
  public readonly api: Api;
  public readonly web: Web;
  /** `http://<host>:<web port>` */
  public readonly webUrl: string;
  /** `http://<host>:<api port>/api/health` */
  public readonly apiHealthUrl: string;

  constructor(name: string, args: AppStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:stack:AppStack", name, {}, opts);
    const cfg = args.config;
    const identity: StackIdentity = { project: cfg.project, stack: cfg.stack };

    this.host = new DockerHost(`${name}-host`, { host: cfg.host, sshDir: args.sshDir }, { parent: this });
    this.secrets = new StackSecrets(
      `${name}-secrets`,
      {
        length: cfg.secretLength,
        overrides: {
          mongoPassword: cfg.mongoPassword,
          redisPassword: cfg.redisPassword,
          jwtSecretKey: cfg.jwtSecretKey,
          secretKey: cfg.secretKey,
        },
      },
      { parent: this },
    );

    const onHost = { parent: this, providers: [this.host.provider] };
    const network = new docker.Network(
      `${name}-network`,
      { name: stackPrefix(identity), driver: "bridge", labels: dockerLabels(labelMap(identity)) },
      { parent: this, provider: this.host.provider },
    );
    this.networkName = network.name;
    const common = { identity, networkName: network.name, healthTimeoutSeconds: cfg.healthTimeoutSeconds };

    this.mongo = new Mongo(
      `${name}-mongo`,
      {
        ...common,
        image: cfg.images.mongo,
        user: cfg.mongo.user,
        database: cfg.mongo.database,
        password: this.secrets.mongoPassword,
        hostPort: cfg.ports.mongo,
        limits: cfg.resources.mongo,
        protectData: cfg.protectData,
      },
      onHost,
    );
    this.redis = new Redis(
      `${name}-redis`,
      {
        ...common,
        image: cfg.images.redis,
        password: this.secrets.redisPassword,
        hostPort: cfg.ports.redis,
        limits: cfg.resources.redis,
        protectData: cfg.protectData,
      },
      onHost,
    );
    this.api = new Api(
      `${name}-api`,
      {
        ...common,
        image: cfg.images.api,
        mongo: { ...this.mongoEndpoint(), password: this.secrets.mongoPassword },
        redis: { host: this.redis.host, port: this.redis.port, password: this.secrets.redisPassword },
        jwtSecretKey: this.secrets.jwtSecretKey,
        secretKey: this.secrets.secretKey,
        saptivaApiKey: cfg.saptivaApiKey,
        env: cfg.api.env,
        hostPort: cfg.ports.api,
        limits: cfg.resources.api,
      },
      { ...onHost, dependsOn: [this.mongo, this.redis] },
    );
    this.web = new Web(
      `${name}-web`,
      { ...common, image: cfg.images.web, env: cfg.web.env, hostPort: cfg.ports.web, limits: cfg.resources.web },
      { ...onHost, dependsOn: [this.api] },
    );

    this.webUrl = `http://${this.host.publicAddress}:${this.web.hostPort}`;
    this.apiHealthUrl = `http://${this.host.publicAddress}:${this.api.hostPort}/api/health`;
    this.registerOutputs({ webUrl: this.webUrl, apiHealthUrl: this.apiHealthUrl, networkName: this.networkName });
  }

  private mongoEndpoint() {
    return { host: this.mongo.host, port: this.mongo.port, user: this.mongo.user, database: this.mongo.database };
  }
}

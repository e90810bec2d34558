import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Api } from "./services/api";
import { AppImage, appImagesOf } from "./services/appImage";
import { apiAccessOf, WEB_API_BASE_URL } from "./renderers/services/containers";
import { entryUrl, stackEntryOf } from "./renderers/proxy";
import { AppService, containerName, dockerLabels, labelMap, routesVolumeName, Service, StackIdentity, stackPrefix, volumeName } from "./renderers/names";
import type { StackConfig } from "./config";
import { monitoringEnabled } from "./config/monitoring";
import { proxyTlsOf } from "./operations/acmeCertificate";
import { acmeVolumeNames } from "./renderers/operations/acme";
import { ComposeCutover } from "./operations/composeCutover";
import { DockerHost } from "./hosts/dockerHost";
import { HostFirewall, hostFirewallOf } from "./hosts/hostFirewall";
import { osUpdatesOf } from "./hosts/osUpdates";
import { Mongo } from "./services/mongo";
import type { MongoBackup } from "./operations/mongoBackup";
import { mongoVolumeOf } from "./backupSpec";
import { backupBeforeAppUpdate, backupBeforeMongo, BackupWiring, offsiteRepositoryOf } from "./backups";
import type { OffsiteRepository } from "./operations/offsiteRepository";
import { MongoRotation } from "./operations/mongoRotation";
import { PidsLimits } from "./operations/pidsLimits";
import { Preflight } from "./operations/preflight";
import { defaultSshDir } from "./hosts/sshFiles";
import { Proxy } from "./services/proxy";
import { Redis } from "./services/redis";
import { rollOut } from "./rollout";
import { secretsArgsOf, StackSecrets } from "./secrets";
import { Web } from "./services/web";
import { monitoringOf } from "./services/monitoringOf";

export interface AppStackArgs {
  /** The parsed, typed stack config (components/config/index.ts); nothing here reads pulumi.Config. */
  config: StackConfig;
  /**
   * Folder for the SSH client's known_hosts and key files (SSH hosts only).
   * @default `~/.copilotos/ssh/<project>-<stack>` (see hosts/sshFiles.ts defaultSshDir)
   */
  sshDir?: string;
  /** Folder build contexts are relative to. @default process.cwd() */
  root?: string;
}

const SERVICES: Service[] = ["mongo", "redis", "api", "web", "proxy"];
/** Services with one fixed-name container each (the apps' names carry a suffix drawn anew with each spec). */
const FIXED: Service[] = ["mongo", "redis", "proxy"];

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
  public readonly images: Record<Service, AppImage>;
  public readonly preflight: Preflight;
  /** The host firewall of an ssh host (`host.firewall`, on by default). */
  public readonly firewall?: HostFirewall;
  public readonly backup?: MongoBackup;
  /** The restic repository off the host (config `backup.offsite`); its password is a secret output. */
  public readonly offsite?: OffsiteRepository;
  public readonly rotation: MongoRotation;
  public readonly proxy: Proxy;
  /** `http://<host>:<web port>` */
  public readonly webUrl: pulumi.Output<string>;
  /** `http://<host>:<api port>/api/health` */
  public readonly apiHealthUrl: pulumi.Output<string>;

  constructor(name: string, args: AppStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:stack:AppStack", name, {}, opts);
    const cfg = args.config;
    const identity: StackIdentity = { project: cfg.project, stack: cfg.stack };

    this.host = new DockerHost(
      `${name}-host`,
      {
        host: cfg.host,
        sshDir: args.sshDir ?? defaultSshDir(cfg.project, cfg.stack),
        appPorts: {
          web: cfg.ports.web,
          api: cfg.ports.api,
          ...(cfg.tls && { webHttps: cfg.tls.ports.web, apiHttps: cfg.tls.ports.api }),
          ...(cfg.tls?.acme && { acmeHttp: cfg.tls.acme.httpPort }),
        },
        offsiteBackups: cfg.backup.s3,
        alarmReceivers: { email: cfg.monitoring.alerts.email?.to, webhookUrl: cfg.alertWebhookUrl },
        logGroup: cfg.logs.awslogs && { name: cfg.logs.awslogs.group, retentionDays: cfg.logs.retentionDays },
        registry: cfg.registry,
      },
      { parent: this },
    );
    this.secrets = new StackSecrets(`${name}-secrets`, secretsArgsOf(cfg), { parent: this });

    const host = this.host;
    const prefix = stackPrefix(identity);
    // Taking over a running compose deployment (config `adopt`): its volumes by name, its Mongo backed up, a cut-over.
    const adopt = cfg.adopt && {
      spec: { identity, composeProject: cfg.adopt.composeProject, services: cfg.adopt.services },
      attempt: cfg.adopt.attempt,
      compose: { project: cfg.adopt.composeProject, service: cfg.adopt.services.mongo },
    };
    const mongoVolume = mongoVolumeOf({ identity, cfg });
    const ports = [cfg.ports.web, cfg.ports.api, cfg.ports.mongo, cfg.ports.redis, cfg.tls?.ports.web, cfg.tls?.ports.api, cfg.tls?.acme?.httpPort].filter(
      (p): p is number => p !== undefined,
    );
    this.preflight = new Preflight(
      `${name}-preflight`,
      {
        host,
        spec: {
          identity,
          ports,
          containers: FIXED.map((s) => containerName(identity, s)),
          volumes: [
            volumeName(identity, "mongo"),
            volumeName(identity, "redis"),
            routesVolumeName(identity),
            ...(cfg.tls?.acme ? Object.values(acmeVolumeNames(identity)) : []),
          ],
          networks: [prefix],
          minFreeMb: cfg.preflight.minFreeDiskMb,
          adopt: cfg.adopt && { composeProject: cfg.adopt.composeProject, volumes: [cfg.adopt.volumes.mongo, cfg.adopt.volumes.redis] },
        },
        // The configured refs (or build specs): a new image re-runs the checks before it reaches the host.
        images: SERVICES.map((s) => JSON.stringify(cfg.images[s])),
      },
      { parent: this, dependsOn: this.host.ready },
    );
    this.firewall = hostFirewallOf(this, `${name}-firewall`, host, cfg, prefix, [this.preflight]);
    osUpdatesOf(this, `${name}-os-updates`, host, cfg, [this.preflight]);
    // The name browsers use: the certificate's first name with tls.acme, else the host's address.
    const publicName = cfg.tls?.acme ? pulumi.output(cfg.tls.acme.domains[0]) : this.host.publicAddress;
    // Where browsers reach the apps (the same the proxy derives from its own ports and TLS).
    const entry = stackEntryOf(cfg);
    this.images = appImagesOf(this, name, SERVICES, {
      host,
      identity,
      cfg,
      root: args.root,
      after: [this.preflight],
      // Next.js bakes these into the web bundle when it is built: a new API URL or port is a new build.
      buildArgs: { web: { NEXT_PUBLIC_API_URL: publicName.apply((a) => entryUrl(entry.scheme, a, entry.ports.api)), API_BASE_URL: WEB_API_BASE_URL } },
    });
    const after = (...deps: pulumi.Resource[]) => ({ parent: this, providers: [host.provider], dependsOn: [this.preflight, ...deps] });
    const imageOf = (s: Service) => ({ image: this.images[s].image, ready: this.images[s].ready });

    const network = new docker.Network(
      `${name}-network`,
      { name: prefix, driver: "bridge", labels: dockerLabels(labelMap(identity)) },
      { parent: this, provider: host.provider, dependsOn: [this.preflight] },
    );
    this.networkName = network.name;
    const common = { identity, networkName: network.name, healthTimeoutSeconds: cfg.healthTimeoutSeconds, logs: cfg.logs };

    const backups: BackupWiring = {
      host,
      identity,
      cfg,
      images: { mongo: imageOf("mongo").image, api: imageOf("api").image, web: imageOf("web").image },
      mongoPassword: this.secrets.mongoPassword,
      offsite: (this.offsite = offsiteRepositoryOf(this, name, host, identity, cfg)),
    };
    this.backup = backupBeforeMongo(this, name, backups, [this.preflight]);
    // A new password is changed inside the running mongod before Mongo and the API get it.
    this.rotation = new MongoRotation(
      `${name}-mongo-rotation`,
      {
        host,
        spec: { container: containerName(identity, "mongo"), volume: mongoVolume, user: cfg.mongo.user, compose: adopt?.compose },
        password: this.secrets.mongoPassword,
        image: imageOf("mongo").image,
      },
      { parent: this, dependsOn: [this.preflight, ...(this.backup ? [this.backup] : []), ...imageOf("mongo").ready] },
    );
    // Compose stops only once everything the stack needs is on the host and its Mongo is backed up.
    const cutover =
      adopt &&
      new ComposeCutover(
        `${name}-compose-cutover`,
        { host, spec: adopt.spec, attempt: adopt.attempt },
        { parent: this, dependsOn: [this.preflight, this.rotation, ...SERVICES.flatMap((s) => imageOf(s).ready)] },
      );
    const cutoverDone = cutover ? [cutover] : [];
    this.mongo = new Mongo(
      `${name}-mongo`,
      {
        ...common,
        image: imageOf("mongo").image,
        user: cfg.mongo.user,
        database: cfg.mongo.database,
        password: this.secrets.mongoPassword,
        hostPort: cfg.ports.mongo,
        limits: cfg.resources.mongo,
        cacheGb: cfg.mongo.cacheGb,
        protectData: cfg.protectData,
        existingVolume: cfg.adopt?.volumes.mongo,
      },
      after(...imageOf("mongo").ready, this.rotation, ...cutoverDone),
    );
    this.redis = new Redis(
      `${name}-redis`,
      {
        ...common,
        image: imageOf("redis").image,
        password: this.secrets.redisPassword,
        hostPort: cfg.ports.redis,
        limits: cfg.resources.redis,
        maxMemoryMb: cfg.redis.maxmemoryMb,
        evictionPolicy: cfg.redis.evictionPolicy,
        protectData: cfg.protectData,
        existingVolume: cfg.adopt?.volumes.redis,
      },
      after(...imageOf("redis").ready, ...cutoverDone),
    );
    const appBackup = backupBeforeAppUpdate(this, name, backups, this.mongo);
    this.api = new Api(
      `${name}-api`,
      {
        ...common,
        image: imageOf("api").image,
        mongo: { ...this.mongoEndpoint(), password: this.secrets.mongoPassword },
        redis: { host: this.redis.host, port: this.redis.port, password: this.secrets.redisPassword },
        jwtSecretKey: this.secrets.jwtSecretKey,
        secretKey: this.secrets.secretKey,
        saptivaApiKey: cfg.saptivaApiKey,
        env: cfg.api.env,
        envIsSecret: cfg.secretEnv.api,
        port: cfg.api.containerPort,
        limits: cfg.resources.api,
        access: pulumi
          .all([this.host.publicAddress, publicName])
          .apply(([a, n]) => apiAccessOf(a === n ? [a] : [n, a], [entryUrl(entry.scheme, n, entry.ports.web)], cfg.api)),
      },
      after(this.mongo, this.redis, ...appBackup, ...imageOf("api").ready),
    );
    const tls = proxyTlsOf(this, `${name}-tls`, host, cfg, identity, [this.preflight]);
    this.proxy = new Proxy(
      `${name}-proxy`,
      {
        ...common,
        image: imageOf("proxy").image,
        hostPorts: { api: cfg.ports.api, web: cfg.ports.web },
        conf: {
          contentSecurityPolicy: cfg.proxy.contentSecurityPolicy,
          hsts: cfg.proxy.hsts,
          apiRateLimitPerSecond: cfg.proxy.apiRateLimitPerSecond,
          maxBodyMb: cfg.proxy.maxBodyMb,
          apiReadTimeoutSeconds: cfg.proxy.apiReadTimeoutSeconds,
        },
        tls: tls.tls,
      },
      after(...imageOf("proxy").ready, ...cutoverDone, ...tls.ready),
    );
    const secrets = [
      this.secrets.mongoPassword,
      this.secrets.redisPassword,
      this.secrets.jwtSecretKey,
      this.secrets.secretKey,
      ...(cfg.saptivaApiKey ? [cfg.saptivaApiKey] : []),
    ];
    const route = (service: AppService, target: Api | Web) =>
      rollOut(this, `${name}-${service}`, {
        host,
        proxy: this.proxy,
        service,
        target,
        secrets,
        timeoutSeconds: cfg.healthTimeoutSeconds,
        intervalSeconds: cfg.health.intervalSeconds,
        drainSeconds: cfg.proxy.drainSeconds,
        adopt: adopt && { spec: adopt.spec, attempt: adopt.attempt },
        migrate: service === "api" ? cfg.api.migrate : undefined,
        notify: monitoringEnabled(cfg.monitoring, cfg.stack) ? identity : undefined,
      });
    const apiHealth = route("api", this.api);
    this.web = new Web(
      `${name}-web`,
      { ...common, image: imageOf("web").image, env: cfg.web.env, envIsSecret: cfg.secretEnv.web, limits: cfg.resources.web },
      after(apiHealth, ...imageOf("web").ready),
    );
    const webHealth = route("web", this.web);
    // Once the stack serves (a first deploy's probes would otherwise page about the rollout itself);
    // the probes go through the proxy; the certificate's name (tls.acme) is what its expiry is read for.
    const serverName = cfg.tls?.acme?.domains[0] ?? ("address" in cfg.host ? cfg.host.address : "localhost");
    const monitoring = monitoringOf(this, `${name}-monitoring`, {
      host,
      identity,
      cfg,
      networkName: network.name,
      redisPassword: this.secrets.redisPassword,
      serverName,
      imagesAfter: [this.preflight],
      after: [webHealth],
    });
    new PidsLimits(
      `${name}-pids`,
      {
        host,
        containers: {
          mongo: this.mongo.containerName,
          redis: this.redis.containerName,
          api: this.api.containerName,
          web: this.web.containerName,
          proxy: this.proxy.containerName,
          ...monitoring?.containerNames,
        },
      },
      { parent: this, dependsOn: [webHealth] },
    );

    this.webUrl = publicName.apply((a) => entryUrl(entry.scheme, a, entry.ports.web));
    this.apiHealthUrl = publicName.apply((a) => `${entryUrl(entry.scheme, a, entry.ports.api)}/api/health`);
    this.registerOutputs({ webUrl: this.webUrl, apiHealthUrl: this.apiHealthUrl, networkName: this.networkName });
  }

  private mongoEndpoint() {
    return { host: this.mongo.host, port: this.mongo.port, user: this.mongo.user, database: this.mongo.database };
  }
}

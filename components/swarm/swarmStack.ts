import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config";
import { dataNodeRole } from "../config/host";
import { DockerHost } from "../hosts/dockerHost";
import { defaultSshDir } from "../hosts/sshFiles";
import { hostCommand } from "../operations/hostCommand";
import {
  ALIASES,
  apiAccessOf,
  apiEnv,
  mongoCommand,
  mongoEnv,
  redisConf,
  redisMaxMemoryMb,
  SECRET_FILES,
  SERVICE_PORTS,
  webEnv,
  wiredTigerCacheGb,
} from "../renderers/services/containers";
import { dockerLabels, labelMap, Service, StackIdentity, stackPrefix } from "../renderers/names";
import { entryUrl, stackEntryOf } from "../renderers/proxy";
import { nodeLabelScript, REDIS_SECRET_CONF, swarmService } from "../renderers/swarm/services";
import { swarmMigrationOf, swarmPreflight, swarmSecrets } from "./swarmObjects";
import { swarmProxyOf } from "./swarmProxy";
import { secretsArgsOf, StackSecrets } from "../secrets";
import { nodeLabelsDoes } from "../renderers/operations/stepDescriptions";
import { AppImage } from "../services/appImage";
import { swarmMonitoringOf } from "../services/monitoringOf";
import type { SwarmMonitoring } from "./swarmMonitoring";
import { backupBeforeAppUpdate, backupBeforeMongo, BackupWiring, offsiteRepositoryOf } from "../backups";
import type { MongoBackup } from "../operations/mongoBackup";
import type { OffsiteRepository } from "../operations/offsiteRepository";
import { MongoRotation } from "../operations/mongoRotation";
import { backupSpecOf } from "../backupSpec";
import type { Preflight } from "../operations/preflight";
import type { SwarmMigration } from "../operations/swarmMigration";

export interface SwarmStackArgs {
  /** The whole typed config; `host.kind` is "swarm". */
  config: StackConfig;
  /** Folder for the pinned known_hosts and key files. @default ~/.copilotos/ssh/<project>-<stack> */
  sshDir?: string;
}

type SwarmHost = Extract<StackConfig["host"], { kind: "swarm" }>;
const SERVICES: Service[] = ["mongo", "redis", "api", "web", "proxy"];

/** `K=V` lines (the single-host env builders) as the map a service's env is. */
const envMap = (lines: string[]): Record<string, string> => Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));

/**
 * The stack on a Docker Swarm (`host.kind: swarm`), created through its manager: the same generated
 * secrets as on one host, each a real Docker secret named by its content's hash (a new value is a new
 * secret, and the services move to it; old ones are retained, so a rollback still finds them), the
 * apps as replicated services on an overlay network, Mongo and Redis pinned to the data node, the
 * proxy on every edge node. Builders: components/renderers/swarm/services.ts.
 */
export class SwarmStack extends pulumi.ComponentResource {
  public readonly host: DockerHost;
  public readonly secrets: StackSecrets;
  public readonly images: Record<Service, AppImage>;
  public readonly networkName: pulumi.Output<string>;
  /** Swarm service names by stack service. */
  public readonly services: Record<Service, pulumi.Output<string>>;
  public readonly webUrl: pulumi.Output<string>;
  public readonly apiHealthUrl: pulumi.Output<string>;
  /** The stack's monitoring, when config turns it on. */
  public readonly monitoring?: SwarmMonitoring;
  /** The backup on the data node before a change to Mongo (config `backup`; the schedule beside it). */
  public readonly backup?: MongoBackup;
  /** The restic repository off the data node (config `backup.offsite`); its password is a secret output. */
  public readonly offsite?: OffsiteRepository;
  /** The migration before the API's rolling update (config `api.migrate`). */
  public readonly migration?: SwarmMigration;
  /** The read-only checks through the manager that everything else waits for. */
  public readonly preflight: Preflight;
  /** A new Mongo password changed inside the running mongod (its task on the data node) before Mongo and the API get it; none with a worker data node. */
  public readonly rotation?: MongoRotation;

  constructor(name: string, args: SwarmStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:swarm:SwarmStack", name, {}, opts);
    const cfg = args.config;
    const swarm = cfg.host as SwarmHost;
    const identity: StackIdentity = { project: cfg.project, stack: cfg.stack };
    const prefix = stackPrefix(identity);

    this.host = new DockerHost(
      `${name}-host`,
      { host: cfg.host, sshDir: args.sshDir ?? defaultSshDir(cfg.project, cfg.stack), registry: cfg.registry },
      { parent: this },
    );
    const host = this.host;
    this.secrets = new StackSecrets(`${name}-secrets`, secretsArgsOf(cfg), { parent: this });
    // Read-only checks through the manager (nodes, ports, names, the data node's disk) before anything
    // of the stack on the swarm is created or changed: everything below depends on it.
    this.preflight = swarmPreflight(`${name}-preflight`, host, cfg, { parent: this, dependsOn: host.ready });
    const checked = this.preflight;
    const child = (dependsOn: pulumi.Resource[] = []) => ({ parent: this, provider: host.provider, dependsOn: [checked, ...dependsOn] });

    // Every node pulls by digest: the manager resolves each reference once (registry mode).
    this.images = Object.fromEntries(
      SERVICES.map((service) => [
        service,
        new AppImage(
          `${name}-${service}-image`,
          { host, identity, service, source: cfg.images[service], mode: "registry", keep: cfg.delivery.keep, compress: false },
          { parent: this, dependsOn: [checked] },
        ),
      ]),
    ) as Record<Service, AppImage>;

    const labels = hostCommand(
      `${name}-node-labels`,
      { host, script: nodeLabelScript(identity, swarm.nodes), does: nodeLabelsDoes(swarm.nodes.length), triggers: [JSON.stringify(swarm.nodes)] },
      { parent: this, dependsOn: [checked] },
    );
    const network = new docker.Network(
      `${name}-network`,
      { name: prefix, driver: "overlay", attachable: true, labels: dockerLabels(labelMap(identity)) },
      child(),
    );
    this.networkName = network.name;

    const secret = swarmSecrets(name, identity, child());
    const s = this.secrets;
    const common = {
      identity,
      network: network.name,
      logs: cfg.logs,
      dataNode: swarm.dataNode,
      monitorSeconds: swarm.updateMonitorSeconds,
    };
    const image = (svc: Service) => this.images[svc].image;
    const ready = (...svcs: Service[]) => svcs.flatMap((svc) => this.images[svc].ready);
    const service = (svc: Service, spec: ReturnType<typeof swarmService<pulumi.Input<string>>>, deps: pulumi.Resource[]) =>
      new docker.Service(`${name}-${svc}`, spec, child([labels, network, ...deps]));

    // Backups run on the data node (config: a manager, reached at host.address), before Mongo changes
    // and before the apps update; a failed one stops the update with the old services serving. With
    // backup.offsite each also goes into the restic repository, as on one host.
    const backups: BackupWiring = {
      host,
      identity,
      cfg,
      images: { mongo: image("mongo"), api: image("api"), web: image("web") },
      mongoPassword: this.secrets.mongoPassword,
      offsite: (this.offsite = offsiteRepositoryOf(this, name, host, identity, cfg)),
    };
    this.backup = backupBeforeMongo(this, name, backups, [labels]);
    // The volume keeps the password it was initialised with: a new one is changed inside the running
    // mongod first, so the new secret Mongo's task and then the API's get is the one the data holds.
    // It runs on the data node, through the manager: a worker data node has none (config refuses mongo.rotate then).
    const mongoSpec = backupSpecOf({ identity, cfg });
    const dataOnManager = dataNodeRole(swarm) === "manager";
    this.rotation = dataOnManager
      ? new MongoRotation(
          `${name}-mongo-rotation`,
          {
            host,
            spec: { container: mongoSpec.container, volume: mongoSpec.volume, user: cfg.mongo.user, swarm: mongoSpec.swarm },
            password: this.secrets.mongoPassword,
          },
          { parent: this, dependsOn: [labels, ...(this.backup ? [this.backup] : [])] },
        )
      : undefined;
    const mongo = service(
      "mongo",
      swarmService({
        ...common,
        service: "mongo",
        image: image("mongo"),
        limits: cfg.resources.mongo,
        command: mongoCommand(cfg.mongo.cacheGb ?? wiredTigerCacheGb(cfg.resources.mongo.memoryMb)),
        env: envMap(mongoEnv({ user: cfg.mongo.user, database: cfg.mongo.database })),
        secrets: [secret(SECRET_FILES.mongoRootPassword, s.mongoPassword)],
      }),
      [...ready("mongo"), ...(this.rotation ? [this.rotation] : []), ...(this.backup ? [this.backup] : [])],
    );
    const redis = service(
      "redis",
      swarmService({
        ...common,
        service: "redis",
        image: image("redis"),
        limits: cfg.resources.redis,
        command: ["redis-server", `/run/secrets/${REDIS_SECRET_CONF}`],
        secrets: [
          secret(
            REDIS_SECRET_CONF,
            s.redisPassword.apply((p) =>
              redisConf(p, { maxMemoryMb: cfg.redis.maxmemoryMb ?? redisMaxMemoryMb(cfg.resources.redis.memoryMb), policy: cfg.redis.evictionPolicy }),
            ),
          ),
          secret(SECRET_FILES.redisPassword, s.redisPassword),
        ],
      }),
      ready("redis"),
    );
    // Browsers reach any edge node, by its name or the manager's address.
    const edges = [...swarm.nodes.filter((n) => n.edge).map((n) => n.name), swarm.address];
    const entry = stackEntryOf(cfg);
    const swarmAccess = apiAccessOf(
      edges,
      edges.map((e) => entryUrl(entry.scheme, e, entry.ports.web)),
      cfg.api,
    );
    const apiEnvMap = envMap(
      apiEnv({
        mongo: { user: cfg.mongo.user, host: ALIASES.mongo, port: SERVICE_PORTS.mongo, database: cfg.mongo.database },
        redis: { host: ALIASES.redis, port: SERVICE_PORTS.redis },
        extra: cfg.api.env,
        port: cfg.api.containerPort,
        access: swarmAccess,
      }),
    );
    const apiSecrets = [
      secret(SECRET_FILES.jwtSecretKey, s.jwtSecretKey),
      secret(SECRET_FILES.mongodbPassword, s.mongoPassword),
      secret(SECRET_FILES.redisPassword, s.redisPassword),
      ...(cfg.saptivaApiKey ? [secret(SECRET_FILES.saptivaApiKey, cfg.saptivaApiKey)] : []),
      secret(SECRET_FILES.secretKey, s.secretKey),
    ];
    const appBackup = backupBeforeAppUpdate(this, name, backups, mongo);
    // config api.migrate: a one-off task of the new API image after the backup, before the API's rolling update.
    this.migration = swarmMigrationOf(
      `${name}-api-migration`,
      host,
      cfg,
      { image: image("api"), network: network.name, env: apiEnvMap, secrets: apiSecrets },
      {
        parent: this,
        dependsOn: [mongo, redis, ...ready("api"), ...appBackup],
      },
    );
    const api = service(
      "api",
      swarmService({
        ...common,
        service: "api",
        image: image("api"),
        limits: cfg.resources.api,
        replicas: swarm.replicas.api,
        apiPort: cfg.api.containerPort,
        env: apiEnvMap,
        secrets: apiSecrets,
      }),
      [mongo, redis, ...ready("api"), ...appBackup, ...(this.migration ? [this.migration] : [])],
    );
    const web = service(
      "web",
      swarmService({
        ...common,
        service: "web",
        image: image("web"),
        limits: cfg.resources.web,
        replicas: swarm.replicas.web,
        env: envMap(webEnv({ extra: cfg.web.env })),
      }),
      [api, ...ready("web")],
    );

    const proxy = swarmProxyOf(
      `${name}-proxy`,
      { cfg, identity, common, image: image("proxy"), secret, configOpts: child() },
      child([labels, network, api, web, ...ready("proxy")]),
    );

    // The monitoring (config `monitoring`), once the stack serves: a first deploy's rollout is no outage.
    this.monitoring = swarmMonitoringOf(this, `${name}-monitoring`, {
      host,
      identity,
      cfg,
      network: network.name,
      redisPassword: s.redisPassword,
      imagesAfter: [checked],
      after: [labels, proxy],
    });

    this.services = { mongo: mongo.name, redis: redis.name, api: api.name, web: web.name, proxy: proxy.name };
    const edge = swarm.nodes.find((n) => n.edge)?.name ?? swarm.address;
    this.webUrl = pulumi.output(entryUrl(entry.scheme, edge, entry.ports.web));
    this.apiHealthUrl = pulumi.output(`${entryUrl(entry.scheme, edge, entry.ports.api)}/api/health`);
    this.registerOutputs({ networkName: this.networkName, services: this.services, webUrl: this.webUrl, apiHealthUrl: this.apiHealthUrl });
  }
}

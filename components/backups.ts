/**
 * The stack's Mongo backups: before every change to Mongo, before every app update, and on the
 * host's own schedule; one spec (folder, prefix, retention) for all three. Wiring only: the steps
 * are operations/{mongoBackup,backupSchedule}.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "./config";
import { monitoringEnabled } from "./config/monitoring";
import type { DockerHost } from "./hosts/dockerHost";
import { BackupSchedule } from "./operations/backupSchedule";
import { secretHash } from "./operations/hostCommand";
import { MongoBackup } from "./operations/mongoBackup";
import { OffsiteRepository } from "./operations/offsiteRepository";
import type { BackupSpec } from "./renderers/operations/backup";
import { backupSpecOf as pureSpecOf } from "./backupSpec";
import type { StackIdentity } from "./renderers/names";

export interface BackupWiring {
  host: DockerHost;
  identity: StackIdentity;
  cfg: StackConfig;
  /** Images of Mongo, the API and the web app: a new one is a change to back up before. */
  images: { mongo: pulumi.Input<string>; api: pulumi.Input<string>; web: pulumi.Input<string> };
  mongoPassword: pulumi.Input<string>;
  /** The restic repository off the host every backup also writes to (config `backup.offsite`, or `backup.s3`). @default none */
  offsite?: OffsiteRepository;
}

/** The off-host repository of `backup.offsite` (or `backup.s3`: the aws host's bucket), or undefined (none configured, or backups off). */
export function offsiteRepositoryOf(
  parent: pulumi.Resource,
  name: string,
  host: DockerHost,
  identity: StackIdentity,
  cfg: StackConfig,
): OffsiteRepository | undefined {
  // The backups' own spec (backup.enabled, the aws host's region): one derivation for the repository and every backup.
  const spec = pureSpecOf({ identity, cfg }).offsite;
  if (!spec) return undefined;
  return new OffsiteRepository(
    `${name}-offsite`,
    {
      host,
      spec,
      // backup.s3: the bucket the aws host made.
      bucket: host.backupBucket,
      credentials: {
        sshKey: cfg.offsiteSshKey,
        s3AccessKeyId: cfg.offsiteS3AccessKeyId,
        s3SecretAccessKey: cfg.offsiteS3SecretAccessKey,
        restPassword: cfg.offsiteRestPassword,
      },
      passwordLength: Math.max(48, cfg.secretLength),
    },
    { parent, dependsOn: host.ready },
  );
}

/** Backups wait for the off-host repository's files on the host. */
const offsiteReady = (w: BackupWiring): pulumi.Resource[] => (w.offsite ? [w.offsite.ready] : []);

/** The backup spec of the wiring ({@link pureSpecOf}: the same the CLIs use). */
const backupSpecOf = (w: BackupWiring): BackupSpec => pureSpecOf({ identity: w.identity, cfg: w.cfg });

/** The backup before a change to Mongo (its image, settings, password), and the schedule. Nothing with `backup.enabled` false. */
export function backupBeforeMongo(parent: pulumi.Resource, name: string, w: BackupWiring, after: pulumi.Resource[]): MongoBackup | undefined {
  const { cfg, host } = w;
  if (!cfg.backup.enabled) return undefined;
  const spec = backupSpecOf(w);
  if (cfg.backup.schedule !== "off") {
    new BackupSchedule(
      `${name}-backup-schedule`,
      { host, identity: w.identity, schedule: cfg.backup.schedule, spec, metrics: monitoringEnabled(cfg.monitoring, cfg.stack) },
      { parent, dependsOn: [...after, ...offsiteReady(w)] },
    );
  }
  return new MongoBackup(
    `${name}-mongo-backup`,
    {
      host,
      spec,
      triggers: [
        w.images.mongo,
        JSON.stringify({ user: cfg.mongo.user, database: cfg.mongo.database, resources: cfg.resources.mongo }),
        secretHash(w.mongoPassword),
      ],
      before: "before a Mongo change",
    },
    { parent, dependsOn: [...after, ...offsiteReady(w)] },
  );
}

/**
 * The backup before an app update (a new API or web image, or their settings; `backup.beforeAppUpdate`):
 * the new API, and so its migration, wait for it. Settings go into the trigger as a hash (env may hold secrets).
 */
export function backupBeforeAppUpdate(parent: pulumi.Resource, name: string, w: BackupWiring, mongo: pulumi.Resource): MongoBackup[] {
  const { cfg, host } = w;
  if (!cfg.backup.enabled || !cfg.backup.beforeAppUpdate) return [];
  const settings = JSON.stringify({ api: cfg.api, web: cfg.web, resources: [cfg.resources.api, cfg.resources.web] });
  return [
    new MongoBackup(
      `${name}-app-backup`,
      { host, spec: backupSpecOf(w), triggers: [w.images.api, w.images.web, secretHash(settings)], before: "before the app update" },
      { parent, dependsOn: [mongo, ...offsiteReady(w)] },
    ),
  ];
}

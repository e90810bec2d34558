import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config";
import type { DockerHost } from "../hosts/dockerHost";
import { Preflight } from "../operations/preflight";
import { SwarmMigration } from "../operations/swarmMigration";
import { MONITORING_PARTS } from "../renderers/monitoring/spec";
import { monitoringEnabled } from "../config/monitoring";
import { dockerLabels, labelMap, Service, StackIdentity, stackPrefix } from "../renderers/names";
import { SecretRef, swarmSecretName, swarmServiceName } from "../renderers/swarm/services";
import { swarmMonitoringName, type ConfigRef } from "../renderers/swarm/monitoring";

/**
 * A maker of the stack's Docker secrets, one per key however many services read it: each named by
 * the hash of its value (Docker secrets are immutable: a new value is a new secret, and the
 * services move to it) and retained when replaced (a rollback's spec still names the old one).
 * `fileName` is where a task reads it (a name under /run/secrets, or an absolute path; @default key),
 * `mode` its file mode there (@default 0o444).
 */
export function swarmSecrets(name: string, identity: StackIdentity, opts: pulumi.CustomResourceOptions) {
  const made = new Map<string, docker.Secret>();
  return (key: string, value: pulumi.Output<string>, fileName = key, mode?: number): SecretRef<pulumi.Output<string>> => {
    const s =
      made.get(key) ??
      new docker.Secret(
        `${name}-secret-${key.replace(/[_.]/g, "-")}`,
        {
          // The name carries 12 hex digits of the value's hash, not the value: not secret, so the services' specs stay readable in a preview.
          name: pulumi.unsecret(value.apply((v) => swarmSecretName(identity, key, v))),
          data: pulumi.secret(value.apply((v) => Buffer.from(v).toString("base64"))),
          labels: dockerLabels(labelMap(identity)),
        },
        { ...opts, retainOnDelete: true },
      );
    made.set(key, s);
    return { file: fileName, secretId: s.id, secretName: s.name, ...(mode === undefined ? {} : { mode }) };
  };
}

/** A swarm config (immutable, named by its content's hash like the secrets, retained) read as `fileName`. */
export function swarmConfig(
  resourceName: string,
  identity: StackIdentity,
  a: { key: string; fileName: string; content: string },
  opts: pulumi.CustomResourceOptions,
): ConfigRef<pulumi.Output<string>> {
  const c = new docker.ServiceConfig(
    resourceName,
    { name: swarmSecretName(identity, a.key, a.content), data: Buffer.from(a.content).toString("base64") },
    { ...opts, retainOnDelete: true },
  );
  return { configId: c.id, configName: c.name, fileName: a.fileName };
}

/**
 * The swarm's pre-flight (components/renderers/swarm/preflight.ts) for the stack `cfg` describes: its
 * nodes, the edge proxies' ports, every service it creates (the monitoring's too, when on) and its
 * network. A new image re-runs it, as on one host.
 */
export function swarmPreflight(name: string, host: DockerHost, cfg: StackConfig, opts: pulumi.ComponentResourceOptions): Preflight {
  const swarm = cfg.host as Extract<StackConfig["host"], { kind: "swarm" }>;
  const identity: StackIdentity = { project: cfg.project, stack: cfg.stack };
  const services: Service[] = ["mongo", "redis", "api", "web", "proxy"];
  return new Preflight(
    name,
    {
      host,
      spec: {
        identity,
        nodes: swarm.nodes,
        dataNode: swarm.dataNode,
        ports: [cfg.ports.web, cfg.ports.api, ...(cfg.tls ? [cfg.tls.ports.web, cfg.tls.ports.api] : [])],
        services: [
          ...services.map((svc) => swarmServiceName(identity, svc)),
          ...(monitoringEnabled(cfg.monitoring, cfg.stack) ? MONITORING_PARTS.map((p) => swarmMonitoringName(identity, p)) : []),
        ],
        network: stackPrefix(identity),
        minFreeMb: cfg.preflight.minFreeDiskMb,
        tools: cfg.backup.enabled ? ["tar", "sha256sum"] : [],
      },
      images: services.map((svc) => JSON.stringify(cfg.images[svc])),
    },
    opts,
  );
}

/**
 * The migration step (config `api.migrate`; none without it) with the API's image, env, network and
 * secrets as its service has them (components/renderers/swarm/migrate.ts).
 */
export function swarmMigrationOf(
  name: string,
  host: DockerHost,
  cfg: StackConfig,
  api: { image: pulumi.Input<string>; network: pulumi.Input<string>; env: Record<string, string>; secrets: SecretRef<pulumi.Output<string>>[] },
  opts: pulumi.ComponentResourceOptions,
): SwarmMigration | undefined {
  if (!cfg.api.migrate) return undefined;
  const identity: StackIdentity = { project: cfg.project, stack: cfg.stack };
  const spec = pulumi.all([api.image, api.network, pulumi.all(api.secrets.map((s) => s.secretName))]).apply(([image, network, names]) => ({
    identity,
    image,
    network,
    env: api.env,
    secrets: names.map((n, i) => ({ name: n, file: api.secrets[i].file })),
    command: cfg.api.migrate!,
  }));
  return new SwarmMigration(name, { host, spec }, opts);
}

import * as pulumi from "@pulumi/pulumi";
import type { DockerHost } from "./hosts/dockerHost";
import { ApiMigration } from "./operations/apiMigration";
import { ContainerReady } from "./operations/containerReady";
import { HealthGate } from "./operations/healthGate";
import type { AdoptSpec } from "./renderers/operations/adopt";
import { gateUrl } from "./renderers/operations/health";
import type { AppService, StackIdentity } from "./renderers/names";
import type { Api } from "./services/api";
import type { Proxy } from "./services/proxy";
import { ProxyRoute } from "./services/proxyRoute";
import type { Web } from "./services/web";

export interface RollOutArgs {
  host: DockerHost;
  proxy: Proxy;
  service: AppService;
  /** The new app container. */
  target: Api | Web;
  /** Values masked in what the gates print. */
  secrets: pulumi.Input<string>[];
  timeoutSeconds: number;
  intervalSeconds: number;
  drainSeconds: number;
  /** Adopting a compose deployment: the gates hand back on failure; the web's health gate ends the cut-over. @default none */
  adopt?: { spec: AdoptSpec; attempt: string };
  /** A migration command run in a one-off container of the new image before its ready gate (config `api.migrate`). @default none */
  migrate?: string[];
  /** The stack whose Alertmanager a failed gate tells (monitoring on). @default none */
  notify?: StackIdentity;
}

/** The gates' `notify`: which app's gate tells which stack's Alertmanager. */
const notifyOf = (a: RollOutArgs) => (a.notify ? { notify: { identity: a.notify, service: a.service } } : {});

/**
 * One app's roll-out, as children of `parent` (`<name>-migrate`, `<name>-ready`, `<name>-route`, `<name>-health`):
 * new container → its migration, if any → ready (its own health check: the app's readiness) → proxy route switched to it →
 * health through the proxy (on failure the route goes back). Pulumi deletes the replaced container
 * only at the end of the update, after all of this. Returns the health gate (what comes next waits for it).
 */
export function rollOut(parent: pulumi.Resource, name: string, a: RollOutArgs): HealthGate {
  const migration =
    a.migrate &&
    new ApiMigration(
      `${name}-migrate`,
      { host: a.host, container: a.target.containerName, containerId: a.target.containerId, command: a.migrate },
      { parent, dependsOn: [a.target] },
    );
  const ready = new ContainerReady(
    `${name}-ready`,
    {
      host: a.host,
      spec: { timeoutSeconds: a.timeoutSeconds, intervalSeconds: a.intervalSeconds, ...notifyOf(a) },
      container: a.target.containerName,
      containerId: a.target.containerId,
      secrets: a.secrets,
      adopt: a.adopt,
    },
    { parent, dependsOn: [a.target, ...(migration ? [migration] : [])] },
  );
  const switched = new ProxyRoute(
    `${name}-route`,
    {
      host: a.host,
      proxyName: a.proxy.containerName,
      proxyId: a.proxy.containerId,
      service: a.service,
      container: a.target.containerName,
      port: a.target.port,
      drainSeconds: a.drainSeconds,
    },
    { parent, dependsOn: [ready, a.proxy] },
  );
  return new HealthGate(
    `${name}-health`,
    {
      host: a.host,
      spec: {
        url: gateUrl(a.proxy.entry, a.service),
        timeoutSeconds: a.timeoutSeconds,
        intervalSeconds: a.intervalSeconds,
        ...notifyOf(a),
      },
      container: a.target.containerName,
      containerId: a.target.containerId,
      secrets: a.secrets,
      revert: { proxy: a.proxy.containerName, service: a.service, port: a.target.port, drainSeconds: a.drainSeconds },
      // The web's gate is the update's last step: passing it ends a cut-over from compose.
      adopt: a.adopt && { ...a.adopt, finishes: a.service === "web" },
    },
    { parent, dependsOn: [switched] },
  );
}

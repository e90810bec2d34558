import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config";
import { SERVICE_PORTS } from "../renderers/services/containers";
import { DEFAULT_MAINTENANCE_PAGE, MAINTENANCE_CONF, MAINTENANCE_PAGE } from "../renderers/proxy/maintenance";
import { PROXY_CONF, PROXY_PORTS, PROXY_REDIRECT_PORTS, PROXY_TLS_PORTS, proxyConf, TLS_CERT, TLS_KEY, TLS_KEY_MODE } from "../renderers/proxy";
import type { StackIdentity } from "../renderers/names";
import { swarmMaintenanceContent } from "../renderers/swarm/maintenance";
import { swarmService, swarmServiceName, type SwarmServiceParts } from "../renderers/swarm/services";
import { swarmConfig, type swarmSecrets } from "./swarmObjects";

type Common = Pick<SwarmServiceParts<pulumi.Input<string>>, "identity" | "network" | "logs" | "dataNode" | "monitorSeconds">;

export interface SwarmProxyArgs {
  cfg: StackConfig;
  identity: StackIdentity;
  /** What every service of the stack shares (network, logs, data node, update monitor). */
  common: Common;
  image: pulumi.Input<string>;
  /** Options of the proxy's swarm configs (the service's own wait for the apps too). */
  configOpts: pulumi.CustomResourceOptions;
  /** The stack's maker of Docker secrets (swarmSecrets): the TLS pair is two of them. */
  secret: ReturnType<typeof swarmSecrets>;
}

/**
 * The edge proxy on every edge node: nginx with its files as swarm configs (immutable, named by
 * content hash like the secrets), reaching the apps by service name. With `tls` (a certificate and
 * key from config; `tls.acme` is refused on a swarm) the pair is two Docker secrets at the paths the
 * single host's proxy reads (the key 0400, for nginx's master only), the HTTPS ports are published
 * as `tls.ports`, and `ports` only redirect there, with the same HSTS rule as on one host.
 */
export function swarmProxyOf(name: string, a: SwarmProxyArgs, opts: pulumi.CustomResourceOptions): docker.Service {
  const { cfg, identity } = a;
  const tls = cfg.tls;
  const conf = proxyConf({
    contentSecurityPolicy: cfg.proxy.contentSecurityPolicy,
    hsts: cfg.proxy.hsts,
    apiRateLimitPerSecond: cfg.proxy.apiRateLimitPerSecond,
    maxBodyMb: cfg.proxy.maxBodyMb,
    apiReadTimeoutSeconds: cfg.proxy.apiReadTimeoutSeconds,
    dns: { api: swarmServiceName(identity, "api"), web: swarmServiceName(identity, "web") },
    appPorts: { api: cfg.api.containerPort, web: SERVICE_PORTS.web },
    ...(tls && { tls: { hostPorts: tls.ports } }),
  });
  const configs = [
    ["nginx-conf", PROXY_CONF, conf],
    ["maintenance-conf", MAINTENANCE_CONF, swarmMaintenanceContent(false)],
    ["maintenance-page", MAINTENANCE_PAGE, DEFAULT_MAINTENANCE_PAGE],
  ].map(([key, fileName, content]) => swarmConfig(`${name}-${key}`, identity, { key, fileName, content }, a.configOpts));
  const pair =
    tls?.certificate !== undefined && tls.key !== undefined
      ? [a.secret("tls_cert", pulumi.output(tls.certificate), TLS_CERT), a.secret("tls_key", tls.key, TLS_KEY, parseInt(TLS_KEY_MODE, 8))]
      : [];
  // With TLS the apps' own ports stay on the overlay (the web's server side reaches the API there); the published plain ports redirect.
  const plain = tls ? PROXY_REDIRECT_PORTS : PROXY_PORTS;
  const spec = swarmService({
    ...a.common,
    service: "proxy",
    image: a.image,
    limits: { memoryMb: 128, cpus: 0.25 },
    secrets: pair,
    hostPorts: [
      { target: plain.api, published: cfg.ports.api },
      { target: plain.web, published: cfg.ports.web },
      ...(tls
        ? [
            { target: PROXY_TLS_PORTS.api, published: tls.ports.api },
            { target: PROXY_TLS_PORTS.web, published: tls.ports.web },
          ]
        : []),
    ],
  });
  return new docker.Service(name, { ...spec, taskSpec: { ...spec.taskSpec, containerSpec: { ...spec.taskSpec.containerSpec, configs } } }, opts);
}

import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Limits, LogSettings, publicPort, serviceContainer } from "../renderers/services/containers";
import { containerName, dockerLabels, labelMap, routesVolumeName, StackIdentity } from "../renderers/names";
import {
  PROXY_CONF,
  PROXY_PORTS,
  PROXY_REDIRECT_PORTS,
  PROXY_TLS_PORTS,
  entryOf,
  proxyConf,
  ProxyConfSpec,
  proxyStartScript,
  ROUTES_DIR,
  ACME_WEBROOT,
  TLS_CERT,
  TLS_DIR,
  TLS_KEY,
  TLS_KEY_MODE,
} from "../renderers/proxy";
import { serviceFiles } from "./serviceFiles";

export interface ProxyArgs {
  /** Project and stack: every name and label carries them. */
  identity: StackIdentity;
  /** The stack's private network; the apps are reached there by container name. */
  networkName: pulumi.Input<string>;
  /** nginx image reference. @default config `images.proxy` ("nginx:1.27-alpine") */
  image: pulumi.Input<string>;
  /** Host ports published for the API (proxy port 8001) and the web app (proxy port 3000). */
  hostPorts: { api: number; web: number };
  /** Security headers and rate limit (components/renderers/proxy/). */
  conf: Omit<ProxyConfSpec, "tls">;
  /**
   * HTTPS (config `tls`): the host ports of the HTTPS listeners (`hostPorts` then only redirect
   * there), and the pair: a certificate chain and key copied in, or (`acme`) the stack's TLS volume
   * the renewal rewrites, its webroot for HTTP-01 and the host port that reaches it. @default none: plain HTTP on `hostPorts`
   */
  tls?: { hostPorts: { api: number; web: number } } & (
    | { certificate: pulumi.Input<string>; key: pulumi.Input<string> }
    | { acme: { tlsVolume: pulumi.Input<string>; webrootVolume: pulumi.Input<string>; httpPort: number } }
  );
  /** Memory and CPU limits. @default { memoryMb: 128, cpus: 0.25 } */
  limits?: Limits;
  /** Seconds to wait for a healthy proxy (config `healthTimeoutSeconds`). */
  healthTimeoutSeconds: number;
  /** Log driver and rotation (config `logs`). @default DEFAULT_LOGS */
  logs?: LogSettings;
}

/**
 * The stack's reverse proxy: the only container publishing the app ports, so app containers can
 * be replaced side by side. ProxyRoute switches its routes; they live on the proxy's own volume
 * (`copilotos-<stack>-proxy-routes`) with the maintenance switch, so a replaced proxy starts with
 * them (a first one answers 502 until the first switch). Its root is read-only: nginx.conf (and a
 * pair from config) are on volumes of their own (serviceFiles). Replacing the proxy itself (new image or config) needs its ports, so it
 * is deleted first: a short outage while the new one starts, the one change that has one.
 */
export class Proxy extends pulumi.ComponentResource {
  public readonly containerName: pulumi.Output<string>;
  public readonly containerId: pulumi.Output<string>;
  public readonly hostPorts: { api: number; web: number };
  /** Where each app is reached from outside: `http` on `hostPorts`, or `https` on the TLS ports. */
  public readonly entry: { scheme: "http" | "https"; ports: { api: number; web: number } };

  constructor(name: string, args: ProxyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:proxy:Proxy", name, {}, opts);
    this.hostPorts = args.hostPorts;
    const tls = args.tls;
    const acme = tls && "acme" in tls ? tls.acme : undefined;
    this.entry = entryOf(args.hostPorts, tls);
    // With TLS the apps' own ports stay on the stack network; the published plain ports redirect.
    const plain = tls ? PROXY_REDIRECT_PORTS : PROXY_PORTS;
    // Not replaced with the proxy (nothing of it changes), deleted with the stack: it holds no data, only routes.
    const routes = new docker.Volume(
      `${name}-routes`,
      { name: routesVolumeName(args.identity), labels: dockerLabels(labelMap(args.identity, "proxy")) },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    const mounts = [
      { volumeName: routes.name, containerPath: ROUTES_DIR },
      ...(acme
        ? [
            { volumeName: acme.tlsVolume, containerPath: TLS_DIR, readOnly: true },
            { volumeName: acme.webrootVolume, containerPath: ACME_WEBROOT, readOnly: true },
          ]
        : []),
    ];
    const files = serviceFiles(
      name,
      {
        identity: args.identity,
        base: containerName(args.identity, "proxy"),
        image: args.image,
        uploads: [
          { file: PROXY_CONF, content: proxyConf({ ...args.conf, tls: tls && { hostPorts: tls.hostPorts, acme: acme !== undefined } }), permissions: "0444" },
          ...(tls && "certificate" in tls
            ? [
                { file: TLS_CERT, content: tls.certificate, permissions: "0444" },
                { file: TLS_KEY, content: pulumi.secret(tls.key), permissions: TLS_KEY_MODE },
              ]
            : []),
        ],
        // The routes (and the ACME pair) are mounted inside /etc/nginx: their mount points are made there.
        mounts,
      },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    const container = new docker.Container(
      `${name}-container`,
      {
        ...serviceContainer({
          identity: args.identity,
          service: "proxy",
          image: args.image,
          networkName: args.networkName,
          limits: args.limits ?? { memoryMb: 128, cpus: 0.25 },
          healthTimeoutSeconds: args.healthTimeoutSeconds,
          logs: args.logs,
        }),
        // Writes the maintenance switch and page on the routes volume when they are not there yet.
        command: ["sh", "-c", proxyStartScript()],
        volumes: files.volumes,
        ports: [
          ...publicPort(plain.api, args.hostPorts.api),
          ...publicPort(plain.web, args.hostPorts.web),
          // HTTP-01 reaches the web's redirect port, which serves the challenges, on the port the CA calls.
          ...(acme ? publicPort(plain.web, acme.httpPort) : []),
          ...(tls ? [...publicPort(PROXY_TLS_PORTS.api, tls.hostPorts.api), ...publicPort(PROXY_TLS_PORTS.web, tls.hostPorts.web)] : []),
        ],
      },
      { parent: this, dependsOn: files.dependsOn, deleteBeforeReplace: true },
    );
    this.containerName = container.name;
    this.containerId = container.id;
    this.registerOutputs({ containerName: this.containerName, containerId: this.containerId });
  }
}

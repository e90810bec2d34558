import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config";
import type { DockerHost } from "../hosts/dockerHost";
import { containerName, dockerLabels, labelMap, StackIdentity, stackPrefix } from "../renderers/names";
import type { ProxyArgs } from "../services/proxy";
import { acmeRenewJob, acmeScript, AcmeSpec, acmeVolumeNames } from "../renderers/operations/acme";
import { installScheduleScript, removeScheduleScript } from "../renderers/operations/backupSchedule";
import { acmeDoes, renewalDoes } from "../renderers/operations/stepDescriptions";
import { hostCommand } from "./hostCommand";

/** Config `tls.acme`. */
export interface AcmeSettings {
  email: string;
  domains: string[];
  /** @default Let's Encrypt's production directory (the schema's default) */
  directory: string;
  /** @default 80 */
  httpPort: number;
  /** @default 30 */
  renewBeforeDays: number;
  /** Five cron fields. @default "17 3,15 * * *" */
  schedule: string;
}

export interface AcmeCertificateArgs {
  host: DockerHost;
  identity: StackIdentity;
  acme: AcmeSettings;
  /** certbot's image (config `images.certbot`). */
  image: string;
  /** The proxy container that serves the certificate (reloaded when it changes). */
  proxyContainer: string;
}

/**
 * A certificate from an ACME CA for the stack's names (components/renderers/operations/acme.ts):
 * got on the first `up` (certbot's own HTTP-01 server, before the proxy exists) into volumes the proxy
 * mounts, and renewed on the host by a cron job through the proxy's webroot, the proxy reloaded
 * gracefully. New names or another CA are an update that gets a new certificate; removing `tls.acme`
 * removes the cron job (the volumes go with the stack's other volumes).
 */
export class AcmeCertificate extends pulumi.ComponentResource {
  /** The volume of the served pair, mounted read-only by the proxy at its TLS folder. */
  public readonly tlsVolume: pulumi.Output<string>;
  /** The volume of the HTTP-01 challenge files, mounted read-only by the proxy. */
  public readonly webrootVolume: pulumi.Output<string>;
  /** The step that got (or kept) the certificate: the proxy waits for it. */
  public readonly ready: pulumi.Resource;

  constructor(name: string, args: AcmeCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:tls:AcmeCertificate", name, {}, opts);
    const names = acmeVolumeNames(args.identity);
    const volume = (suffix: string, volumeName: string) =>
      new docker.Volume(
        `${name}-${suffix}`,
        { name: volumeName, labels: dockerLabels(labelMap(args.identity, "proxy")) },
        { parent: this, provider: args.host.provider, dependsOn: opts?.dependsOn },
      );
    const volumes = [volume("state", names.state), volume("webroot", names.webroot), volume("tls", names.tls)];
    this.webrootVolume = volumes[1].name;
    this.tlsVolume = volumes[2].name;
    const spec: AcmeSpec = {
      stack: stackPrefix(args.identity),
      image: args.image,
      email: args.acme.email,
      domains: args.acme.domains,
      directory: args.acme.directory,
      httpPort: args.acme.httpPort,
      renewBeforeDays: args.acme.renewBeforeDays,
      volumes: names,
      proxy: args.proxyContainer,
    };
    // No triggers: new names or another CA change the script, an update that runs it again.
    this.ready = hostCommand(
      `${name}-issue`,
      { host: args.host, script: acmeScript(spec), does: acmeDoes(spec), triggers: [] },
      { parent: this, dependsOn: volumes },
    );
    hostCommand(
      `${name}-renewal`,
      {
        host: args.host,
        script: installScheduleScript({ identity: args.identity, schedule: args.acme.schedule, job: acmeRenewJob(spec), task: "renew" }),
        does: renewalDoes(args.acme.schedule, spec),
        triggers: [],
        remove: removeScheduleScript(args.identity, "renew"),
      },
      { parent: this, dependsOn: [this.ready] },
    );
    this.registerOutputs({ tlsVolume: this.tlsVolume, webrootVolume: this.webrootVolume });
  }
}

/** The proxy's `tls` from config (a certificate in config, or tls.acme's certificate), and what the proxy waits for. */
export function proxyTlsOf(
  parent: pulumi.Resource,
  name: string,
  host: DockerHost,
  cfg: Pick<StackConfig, "tls" | "images">,
  identity: StackIdentity,
  after: pulumi.Resource[],
): { tls: ProxyArgs["tls"]; ready: pulumi.Resource[] } {
  const tls = cfg.tls;
  if (!tls) return { tls: undefined, ready: [] };
  if (!tls.acme) return { tls: { certificate: tls.certificate ?? "", key: tls.key ?? "", hostPorts: tls.ports }, ready: [] };
  const cert = new AcmeCertificate(
    name,
    { host, identity, acme: tls.acme, image: String(cfg.images.certbot), proxyContainer: containerName(identity, "proxy") },
    { parent, dependsOn: after },
  );
  return {
    tls: { acme: { tlsVolume: cert.tlsVolume, webrootVolume: cert.webrootVolume, httpPort: tls.acme.httpPort }, hostPorts: tls.ports },
    ready: [cert.ready],
  };
}

import * as pulumi from "@pulumi/pulumi";
import type { AppService } from "../renderers/names";
import { switchScript } from "../renderers/proxy";
import type { DockerHost } from "../hosts/dockerHost";
import { routeDoes } from "../renderers/operations/stepDescriptions";
import { hostCommand } from "../operations/hostCommand";

export interface ProxyRouteArgs {
  host: DockerHost;
  /** The proxy container's name. */
  proxyName: pulumi.Input<string>;
  /** The proxy container's ID: a new proxy container gets its routes again. */
  proxyId: pulumi.Input<string>;
  service: AppService;
  /** The (healthy) app container the route must lead to. */
  container: pulumi.Input<string>;
  /** The app's port inside that container. */
  port: number;
  /** Seconds to wait for the proxy's old workers to finish their requests (config `proxy.drainSeconds`). */
  drainSeconds: number;
}

/**
 * Switches the proxy's route for one app to a new container, after that container is healthy and
 * before Pulumi deletes the old one. Runs only when the container (or the proxy) changes; the
 * script itself leaves an unchanged route alone.
 */
export class ProxyRoute extends pulumi.ComponentResource {
  /** What the switch printed: the new and the previous route. */
  public readonly stdout: pulumi.Output<string>;

  constructor(name: string, args: ProxyRouteArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:proxy:ProxyRoute", name, {}, opts);
    const script = pulumi
      .all([args.proxyName, args.container])
      .apply(([proxy, container]) => switchScript({ proxy, service: args.service, container, port: args.port, drainSeconds: args.drainSeconds }));
    const cmd = hostCommand(
      `${name}-switch`,
      {
        host: args.host,
        script,
        does: pulumi.output(args.container).apply((container) => routeDoes(args.service, container, args.drainSeconds)),
        triggers: [args.container, args.proxyId],
      },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.stdout = cmd.stdout;
    this.registerOutputs({ stdout: this.stdout });
  }
}

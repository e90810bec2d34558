import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Limits, publicPort, SERVICE_PORTS, serviceContainer, webEnv } from "./build/containers";
import { StackIdentity } from "./build/names";

export interface WebArgs {
  /** Project and stack: every name and label carries them. */
  identity: StackIdentity;
  /** The stack's private network; the container joins it under the alias `web`. */
  networkName: pulumi.Input<string>;
  /** Image reference of the Next.js app. */
  image: pulumi.Input<string>;
  /** Extra environment variables (config `web.env`); they override the managed ones. @default {} */
  env?: Record<string, string>;
  /** Host port published for the web app (container port 3000). @default 3000 */
  hostPort?: number;
  /** Memory and CPU limits. @default { memoryMb: 512, cpus: 0.5 } */
  limits?: Limits;
  /** Seconds to wait for `GET /` to pass. @default 120 */
  healthTimeoutSeconds?: number;
}

/** The Next.js web app. It holds no secrets. */
export class Web extends pulumi.ComponentResource {
  public readonly containerName: pulumi.Output<string>;
  public readonly containerId: pulumi.Output<string>;
  public readonly hostPort: number;

  constructor(name: string, args: WebArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:app:Web", name, {}, opts);
    this.hostPort = args.hostPort ?? SERVICE_PORTS.web;
    const container = new docker.Container(
      `${name}-container`,
      {
        ...serviceContainer({
          identity: args.identity,
          service: "web",
          image: args.image,
          networkName: args.networkName,
          limits: args.limits ?? { memoryMb: 512, cpus: 0.5 },
          healthTimeoutSeconds: args.healthTimeoutSeconds ?? 120,
        }),
        envs: webEnv({ extra: args.env ?? {} }),
        ports: publicPort(SERVICE_PORTS.web, this.hostPort),
      },
      // The container waits for what the component waits for (Mongo and Redis healthy, for the API).
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.containerName = container.name;
    this.containerId = container.id;
    this.registerOutputs({ containerName: this.containerName, hostPort: this.hostPort });
  }
}

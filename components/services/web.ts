import * as pulumi from "@pulumi/pulumi";
import { Limits, LogSettings, serviceContainer, SERVICE_PORTS, webEnv } from "../renderers/services/containers";
import { StackIdentity } from "../renderers/names";
import { appContainer, secretIf } from "./appContainer";

export interface WebArgs {
  /** Project and stack: every name and label carries them. */
  identity: StackIdentity;
  /** The stack's private network; the proxy reaches the container there by its name. */
  networkName: pulumi.Input<string>;
  /** Image reference of the Next.js app. */
  image: pulumi.Input<string>;
  /** Extra environment variables (config `web.env`); they override the managed ones. */
  env: Record<string, string>;
  /** `web.env` holds a value set with `--secret`: the container's env is a secret input (encrypted in the state). */
  envIsSecret: boolean;
  /** Memory and CPU limits (config `resources.web`). */
  limits: Limits;
  /** Seconds to wait for `GET /` to pass (config `healthTimeoutSeconds`). */
  healthTimeoutSeconds: number;
  /** Log driver and rotation (config `logs`). @default DEFAULT_LOGS */
  logs?: LogSettings;
}

/** The Next.js web app. It holds no secrets. */
export class Web extends pulumi.ComponentResource {
  public readonly containerName: pulumi.Output<string>;
  public readonly containerId: pulumi.Output<string>;
  /** The port the app listens on inside its container: the proxy routes there. */
  public readonly port: number = SERVICE_PORTS.web;

  constructor(name: string, args: WebArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:app:Web", name, {}, opts);
    const container = appContainer(
      `${name}-container`,
      args.identity,
      "web",
      {
        ...serviceContainer({
          identity: args.identity,
          service: "web",
          image: args.image,
          networkName: args.networkName,
          limits: args.limits,
          healthTimeoutSeconds: args.healthTimeoutSeconds,
          logs: args.logs,
        }),
        envs: secretIf(args.envIsSecret, webEnv({ extra: args.env })),
      },
      // The container waits for what the component waits for (Mongo and Redis healthy, for the API).
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.containerName = container.name;
    this.containerId = container.id;
    this.registerOutputs({ containerName: this.containerName, containerId: this.containerId });
  }
}

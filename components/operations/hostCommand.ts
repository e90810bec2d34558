import { createHash } from "node:crypto";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { DockerHost } from "../hosts/dockerHost";
import { maskLines } from "../renderers/operations/health";
import { describedScript } from "../renderers/shell";

export interface HostCommandArgs {
  /** Where the script runs: over the host's pinned SSH connection, or locally for the local engine. */
  host: DockerHost;
  /** The host-side script (from components/renderers/*): runs on create and whenever a trigger changes. */
  script: pulumi.Input<string>;
  /**
   * What the step does, in one line of names and numbers, never a secret (`gate: … through the proxy,
   * 120 s`): the script's first line, a comment, so `npm run check` and `pulumi preview` both show it.
   */
  does: pulumi.Input<string>;
  /** Values whose change re-runs the script. */
  triggers: pulumi.Input<unknown>[];
  /** Fed to the script's stdin; for secrets, which then appear on no command line. @default "" */
  stdin?: pulumi.Input<string>;
  /** Run on the host when the resource is deleted (it undoes what the script installed). @default nothing */
  remove?: pulumi.Input<string>;
}

/**
 * A host-side script as a @pulumi/command resource: `remote.Command` over the host's SSH connection
 * (pinned host key, bounded dials), or `local.Command` when the engine is local. The script runs on
 * create and on any trigger change; deleting the resource runs `remove` (else nothing) on the host.
 */
export function hostCommand(name: string, args: HostCommandArgs, opts: pulumi.CustomResourceOptions): command.remote.Command | command.local.Command {
  const script = pulumi.all([args.does, args.script]).apply(([does, body]) => describedScript(does, body));
  const common = {
    create: script,
    update: script,
    triggers: args.triggers,
    stdin: args.stdin ?? "",
    ...(args.remove ? { delete: args.remove } : {}),
  };
  const conn = args.host.connection;
  // The local engine is the one the stack names (host.socket), not whatever `docker` defaults to.
  if (!conn) return new command.local.Command(name, { ...common, interpreter: ["/bin/sh", "-c"], environment: { DOCKER_HOST: args.host.dockerHost } }, opts);
  return new command.remote.Command(
    name,
    {
      ...common,
      connection: {
        host: conn.host,
        port: conn.port,
        user: conn.user,
        hostKey: conn.hostKey,
        privateKey: conn.privateKey,
        perDialTimeout: conn.perDialTimeout,
        dialErrorLimit: conn.dialErrorLimit,
      },
    },
    opts,
  );
}

/** A secret's sha256 as a secret output: a trigger that changes with the secret and never shows it. */
export function secretHash(value: pulumi.Input<string>): pulumi.Output<string> {
  return pulumi.secret(pulumi.output(value).apply((v) => createHash("sha256").update(v).digest("hex")));
}

/** Secrets, one per line and in the forms a log shows them ({@link maskLines}), as a secret stdin: what a gate masks in the logs it prints, on no command line. */
export function maskingStdin(secrets: pulumi.Input<string>[]): pulumi.Output<string> {
  return pulumi.secret(pulumi.all(secrets).apply(maskLines));
}

import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { AppService, appContainerName, fingerprint, StackIdentity } from "../renderers/names";

/**
 * An app container (API or web) that can be replaced without downtime: it publishes no host port
 * (the proxy owns them) and its name ends in a RandomId (`<resourceName>-suffix`) kept while the
 * fingerprint of its whole spec stays and drawn anew when it changes, so Pulumi creates the
 * replacement beside the old one and deletes the old one only at the end of the update. A name is
 * never reused: after a failed update the engine keeps the replaced container (it is deleted at the
 * end of the next successful update), and an update back to its spec, a rollback, gets another
 * name instead of a conflict with it. Its health is awaited by a ContainerReady gate (which can say
 * why it failed), not the provider's `wait`, before its route is switched. The fingerprint covers
 * the secret files too; it is a truncated hash, so neither it nor the name is secret.
 */
export function appContainer(
  resourceName: string,
  identity: StackIdentity,
  service: AppService,
  spec: docker.ContainerArgs,
  opts: pulumi.CustomResourceOptions,
): docker.Container {
  // The base name and any ports in `spec` are replaced: the name is derived from the rest.
  const { name: _base, ports: _ports, ...rest } = spec;
  const suffix = new random.RandomId(
    `${resourceName}-suffix`,
    { byteLength: 4, keepers: { spec: pulumi.unsecret(pulumi.output(rest).apply((resolved) => fingerprint(resolved))) } },
    { parent: opts.parent },
  );
  const name = suffix.hex.apply((hex) => appContainerName(identity, service, hex));
  return new docker.Container(resourceName, { ...rest, name, ports: [], wait: false }, { ...opts, deleteBeforeReplace: false });
}

/** `value` as a secret input when `secret`: Pulumi encrypts it in the state and masks it in diffs. */
export function secretIf(secret: boolean, value: pulumi.Input<string[]>): pulumi.Input<string[]> {
  return secret ? pulumi.secret(value) : value;
}

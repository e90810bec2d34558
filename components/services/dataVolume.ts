import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { dockerLabels, labelMap, Service, StackIdentity, volumeName } from "../renderers/names";

/**
 * A data service's volume name: an existing one taken over by name (adopting a compose deployment;
 * never created, changed or deleted by the stack), or the stack's own `<name>-data` volume,
 * retained on delete (and protected with `protectData`), a child of `parent`.
 */
export function dataVolume(
  parent: pulumi.Resource,
  name: string,
  a: { identity: StackIdentity; protectData: boolean; existingVolume?: string },
  service: Service,
  dependsOn: pulumi.ResourceOptions["dependsOn"],
): pulumi.Output<string> {
  if (a.existingVolume !== undefined) return pulumi.output(a.existingVolume);
  return new docker.Volume(
    `${name}-data`,
    { name: volumeName(a.identity, service), labels: dockerLabels(labelMap(a.identity, service)) },
    { parent, retainOnDelete: true, protect: a.protectData, dependsOn },
  ).name;
}

import { StackValidationPolicy } from "@pulumi/policy";
import { runningContainers, ContainerProps, labelsOf, serviceOf, VOLUME } from "../lib";

const DATA_PATHS: Record<string, string> = { mongo: "/data/db", redis: "/data" };

/**
 * The seeds' `down -v` deleted every user's data. Mongo and Redis keep data on a named volume
 * that is `retainOnDelete` or `protect`ed. Note: the engine's policy API exposes `protect` but not
 * `retainOnDelete`; where it is not visible the retention half is checked by `npm run check`.
 */
export const dataVolumesRetained: StackValidationPolicy = {
  name: "data-volumes-retained",
  description: "Mongo and Redis data live on named volumes that are retainOnDelete or protected.",
  configSchema: { properties: {} },
  validateStack: (args, report) => {
    const volumes = args.resources.filter((r) => r.type === VOLUME);
    for (const c of runningContainers(args.resources)) {
      const props = c.props as ContainerProps;
      const service = serviceOf(props);
      if (service !== "mongo" && service !== "redis") continue;
      const mount = (props.volumes ?? []).find((v) => v.containerPath === DATA_PATHS[service]);
      if (!mount) {
        report(`${c.name}: ${DATA_PATHS[service]} is not on a named volume; its data would live in an anonymous volume or the container.`, c.urn);
      } else if (!mount.volumeName) {
        report(`${c.name}: ${DATA_PATHS[service]} is a ${mount.hostPath ? "host path" : "anonymous"} mount, not a named volume.`, c.urn);
      }
    }
    for (const v of volumes) {
      const service = labelsOf(v.props as { labels?: { label: string; value: string }[] })["copilotos.service"];
      if (service !== "mongo" && service !== "redis") continue;
      const retain = (v.opts as { retainOnDelete?: boolean }).retainOnDelete;
      if (v.opts.protect || retain === true || retain === undefined) continue;
      report(`${v.name}: the ${service} data volume is neither retainOnDelete nor protected; deleting the stack would delete the data.`, v.urn);
    }
  },
};

import { ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { isMutableImageRef, parseImageRef } from "../../components/renderers/services/imageRef";

type Props = Record<string, unknown>;
const CHECKED: Record<string, (p: Props) => unknown> = {
  // What a container runs, and what the program pulls (the container then gets the pulled digest).
  "docker:index/container:Container": (p) => p.image,
  "docker:index/remoteImage:RemoteImage": (p) => p.name,
  // What a swarm service's tasks run, on every node.
  "docker:index/service:Service": (p) => ((p.taskSpec as Props | undefined)?.containerSpec as Props | undefined)?.image,
};

/** `latest` (or no tag) makes a deploy unrepeatable and a rollback a guess (the seeds re-tagged by hand). */
export const noMutableImageTags: ResourceValidationPolicy = {
  name: "no-mutable-image-tags",
  description: "Container, swarm service and pulled images carry a version tag or a digest, never `latest` or no tag.",
  enforcementLevel: "advisory",
  configSchema: { properties: {} },
  validateResource: (args: ResourceValidationArgs, report) => {
    const imageOf = CHECKED[args.type];
    if (!imageOf) return;
    const image = String(imageOf(args.props as Props));
    // An image ID (sha256:...) from a built or delivered image is immutable.
    if (/^sha256:[a-f0-9]{64}$/.test(image)) return;
    const ref = parseImageRef(image);
    if (!ref) report(`${args.name}: image "${image}" is not a valid image reference.`);
    else if (isMutableImageRef(ref)) report(`${args.name}: image "${image}" is mutable; pin a version tag or a digest.`);
  },
};

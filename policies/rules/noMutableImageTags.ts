import { ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { isMutableImageRef, parseImageRef } from "../../components/renderers/imageRef";

const CHECKED: Record<string, string> = {
  // What a container runs, and what the program pulls (the container then gets the pulled digest).
  "docker:index/container:Container": "image",
  "docker:index/remoteImage:RemoteImage": "name",
};

/** `latest` (or no tag) makes a deploy unrepeatable and a rollback a guess (the seeds re-tagged by hand). */
export const noMutableImageTags: ResourceValidationPolicy = {
  name: "no-mutable-image-tags",
  description: "Container images and pulled images carry a version tag or a digest, never `latest` or no tag.",
  enforcementLevel: "advisory",
  configSchema: { properties: {} },
  validateResource: (args: ResourceValidationArgs, report) => {
    const key = CHECKED[args.type];
    if (!key) return;
    const image = String((args.props as Record<string, unknown>)[key]);
    // An image ID (sha256:...) from a built or delivered image is immutable.
    if (/^sha256:[a-f0-9]{64}$/.test(image)) return;
    const ref = parseImageRef(image);
    if (!ref) report(`${args.name}: image "${image}" is not a valid image reference.`);
    else if (isMutableImageRef(ref)) report(`${args.name}: image "${image}" is mutable; pin a version tag or a digest.`);
  },
};

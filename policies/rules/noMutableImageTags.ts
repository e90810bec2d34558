import * as docker from "@pulumi/docker";
import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { isMutableImageRef, parseImageRef } from "../../components/build/imageRef";

/** `latest` (or no tag) makes a deploy unrepeatable and a rollback a guess (the seeds re-tagged by hand). */
export const noMutableImageTags: ResourceValidationPolicy = {
  name: "no-mutable-image-tags",
  description: "Container images carry a version tag or a digest, never `latest` or no tag.",
  enforcementLevel: "advisory",
  configSchema: { properties: {} },
  validateResource: validateResourceOfType(docker.Container, (c, args, report) => {
    const ref = parseImageRef(String(c.image));
    // An image ID (sha256:...) from a built or delivered image is immutable.
    if (/^sha256:[a-f0-9]{64}$/.test(String(c.image))) return;
    if (!ref) report(`${args.name}: image "${c.image}" is not a valid image reference.`);
    else if (isMutableImageRef(ref)) report(`${args.name}: image "${c.image}" is mutable; pin a version tag or a digest.`);
  }),
};

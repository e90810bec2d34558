import { ResourceValidationPolicy } from "@pulumi/policy";
import { isMutableImageRef, parseImageRef } from "../../components/build/imageRef";
import { validateContainer } from "../lib";

/** `latest` (or no tag) makes a deploy unrepeatable and a rollback a guess (the seeds re-tagged by hand). */
export const noMutableImageTags: ResourceValidationPolicy = {
  name: "no-mutable-image-tags",
  description: "Container images carry a version tag or a digest, never `latest` or no tag.",
  enforcementLevel: "advisory",
  configSchema: { properties: {} },
  validateResource: validateContainer((p, args, report) => {
    const ref = parseImageRef(String(p.image));
    // An image ID (sha256:...) from a built or delivered image is immutable.
    if (/^sha256:[a-f0-9]{64}$/.test(String(p.image))) return;
    if (!ref) report(`${args.name}: image "${p.image}" is not a valid image reference.`);
    else if (isMutableImageRef(ref)) report(`${args.name}: image "${p.image}" is mutable; pin a version tag or a digest.`);
  }),
};

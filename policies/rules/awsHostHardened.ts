import { ResourceValidationPolicy } from "@pulumi/policy";
import { EBS_VOLUME, INSTANCE } from "../awsLib";

interface InstanceProps {
  metadataOptions?: { httpTokens?: string; httpPutResponseHopLimit?: number };
  rootBlockDevice?: { encrypted?: boolean };
}

/**
 * The instance's metadata service needs IMDSv2 tokens with one hop (a container cannot fetch the
 * instance role's credentials); disks are encrypted; an EBS volume holding data is protected.
 */
export const awsHostHardened: ResourceValidationPolicy = {
  name: "aws-host-hardened",
  description: "EC2 hosts require IMDSv2 with a hop limit of 1 and an encrypted root disk; EBS volumes are encrypted and protected.",
  configSchema: { properties: {} },
  validateResource: (args, report) => {
    if (args.type === INSTANCE) {
      const p = args.props as InstanceProps;
      if (p.metadataOptions?.httpTokens !== "required") report(`${args.name}: the metadata service accepts IMDSv1; set metadataOptions.httpTokens "required".`);
      if ((p.metadataOptions?.httpPutResponseHopLimit ?? 1) > 1)
        report(`${args.name}: metadata hop limit ${p.metadataOptions?.httpPutResponseHopLimit} lets containers reach the instance role's credentials; use 1.`);
      if (p.rootBlockDevice?.encrypted !== true) report(`${args.name}: the root disk is not encrypted.`);
    }
    if (args.type === EBS_VOLUME) {
      if (args.props.encrypted !== true) report(`${args.name}: the EBS volume is not encrypted.`);
      if (!args.opts.protect) report(`${args.name}: the EBS volume is not protected; a mistaken delete or replacement would take the data with it.`);
    }
  },
};

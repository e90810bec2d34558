import { ResourceValidationPolicy } from "@pulumi/policy";
import { DOCKER_PROVIDER, jsonish } from "../lib";

/** Peers' tools ignore host keys by default; a spoofed host would then receive every secret. */
export const sshHostKeyPinned: ResourceValidationPolicy = {
  name: "ssh-host-key-pinned",
  description:
    "A Docker host reached over SSH is verified against a pinned host key (StrictHostKeyChecking=yes with a known_hosts file); command connections carry a hostKey.",
  configSchema: { properties: {} },
  validateResource: (args, report) => {
    if (args.type === DOCKER_PROVIDER) {
      const host = String(args.props.host ?? "");
      if (!host.startsWith("ssh://")) return;
      const opts = (jsonish<string[]>(args.props.sshOpts) ?? []).join(" ");
      if (!/StrictHostKeyChecking=yes/.test(opts) || !/UserKnownHostsFile=\S+/.test(opts) || /UserKnownHostsFile=\/dev\/null/.test(opts)) {
        report(`${args.name}: ${host} is reached without a pinned host key (need StrictHostKeyChecking=yes and a UserKnownHostsFile).`);
      }
      return;
    }
    if (args.type.startsWith("command:remote:")) {
      const connection = jsonish<{ hostKey?: string }>(args.props.connection);
      if (connection && !connection.hostKey) report(`${args.name}: SSH connection without a pinned hostKey.`);
    }
  },
};

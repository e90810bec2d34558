import { ResourceValidationPolicy } from "@pulumi/policy";
import { SERVICE, serviceView } from "../swarmLib";

const DATA = ["mongo", "redis"];

/**
 * On a swarm, Mongo and Redis keep their data in a node's local volume: a task scheduled on another
 * node would start empty, and two tasks on one volume corrupt it. So each is one replica, pinned to
 * one node by hostname, with its volume mounted, and updated stop-first.
 */
export const swarmDataPinned: ResourceValidationPolicy = {
  name: "swarm-data-pinned",
  description: "Swarm data services (mongo, redis) run one replica pinned by node.hostname, on a mounted volume, updated stop-first.",
  configSchema: { properties: {} },
  validateResource: (args, report) => {
    if (args.type !== SERVICE) return;
    const s = serviceView(args.props);
    if (!s.service || !DATA.includes(s.service)) return;
    if (s.global || s.replicas !== 1) report(`${args.name}: ${s.service} must run exactly one replica (two tasks must never share its data).`);
    if (!s.constraints.some((c) => /^node\.hostname\s*==\s*\S+$/.test(c)))
      report(`${args.name}: ${s.service} is not pinned to a node (placement node.hostname == <data node>); a rescheduled task would start on an empty volume.`);
    if (!s.mounts.some((m) => m.type === "volume" && m.source)) report(`${args.name}: ${s.service} mounts no named volume; its data would die with the task.`);
    if (s.updateOrder !== "stop-first") report(`${args.name}: ${s.service} must update stop-first; start-first runs two tasks on one volume.`);
  },
};

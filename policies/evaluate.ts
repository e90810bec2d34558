/**
 * Runs the pack's rules in-process on a recorded resource graph, as the engine would, with the
 * pack's enforcement levels and a policy config: how `npm run check` and the tests use the pack
 * without the Pulumi engine. Pure apart from calling the rules.
 */
import type {
  EnforcementLevel,
  Policies,
  PolicyPackConfig,
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";
import { PACK_ENFORCEMENT, rules as packRules } from "./rules";

/** A resource as recorded by the mock harness (or built by a test). */
export interface GraphResource {
  type: string;
  name: string;
  urn: string;
  /** Its provider ID when known (companion resources such as bucket settings name their bucket by it). */
  id?: string;
  props: Record<string, unknown>;
  opts?: { protect?: boolean; retainOnDelete?: boolean; parent?: string };
}

export interface Violation {
  rule: string;
  level: EnforcementLevel;
  /** Logical name of the resource, when the rule names one. */
  resource?: string;
  message: string;
}

/** A recorded resource (scripts/mockRuntime/harness.ts) as the policies see it: its inputs are its props. */
export function toGraph(
  resources: { type: string; name: string; urn: string; id?: string; inputs: Record<string, unknown>; opts?: GraphResource["opts"] }[],
): GraphResource[] {
  return resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, id: r.id, props: r.inputs, opts: r.opts }));
}

class NotApplicable extends Error {}
const notApplicable = (reason?: string): never => {
  throw new NotApplicable(reason);
};

type PolicyConfigEntry = PolicyPackConfig[string];

/** The level a rule runs at: policy config, else the rule's own, else the pack's. */
export function levelOf(policy: { name: string; enforcementLevel?: EnforcementLevel }, config: PolicyPackConfig): EnforcementLevel {
  const entry: PolicyConfigEntry | undefined = config[policy.name];
  if (typeof entry === "string") return entry;
  return entry?.enforcementLevel ?? policy.enforcementLevel ?? PACK_ENFORCEMENT;
}

/** configSchema defaults, overlaid with the policy config's properties. */
export function configOf(
  policy: { name: string; configSchema?: { properties: Record<string, { default?: unknown }> } },
  config: PolicyPackConfig,
): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  for (const [k, schema] of Object.entries(policy.configSchema?.properties ?? {})) if (schema.default !== undefined) merged[k] = schema.default;
  const entry = config[policy.name];
  if (entry && typeof entry === "object") for (const [k, v] of Object.entries(entry)) if (k !== "enforcementLevel") merged[k] = v;
  return merged;
}

function asPolicyResource(r: GraphResource): PolicyResource {
  const isType = (cls: { __pulumiType?: string }) => cls.__pulumiType === r.type;
  return {
    type: r.type,
    name: r.name,
    urn: r.urn,
    props: r.id !== undefined && r.props.id === undefined ? { ...r.props, id: r.id } : r.props,
    opts: {
      protect: r.opts?.protect ?? false,
      retainOnDelete: r.opts?.retainOnDelete,
      ignoreChanges: [],
      aliases: [],
      additionalSecretOutputs: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      parent: r.opts?.parent,
    } as PolicyResource["opts"],
    dependencies: [],
    propertyDependencies: {},
    isType: isType as PolicyResource["isType"],
    asType: ((cls: { __pulumiType?: string }) => (isType(cls) ? r.props : undefined)) as PolicyResource["asType"],
  };
}

/** Evaluates every rule (resource- and stack-level) over the graph. */
export function evaluate(resources: GraphResource[], config: PolicyPackConfig = {}, policies: Policies = packRules): Violation[] {
  const violations: Violation[] = [];
  const byUrn = new Map(resources.map((r) => [r.urn, r.name]));
  for (const policy of policies) {
    const level = levelOf(policy, config);
    if (level === "disabled") continue;
    const getConfig = <T>() => configOf(policy as never, config) as T;
    const push = (message: string, resource?: string) => violations.push({ rule: policy.name, level, resource, message });
    if ("validateStack" in policy) {
      const stackPolicy = policy as StackValidationPolicy;
      try {
        void stackPolicy.validateStack({ resources: resources.map(asPolicyResource), getConfig, stackTags: new Map(), notApplicable }, (message, urn) =>
          push(message, urn ? (byUrn.get(urn) ?? urn) : undefined),
        );
      } catch (e) {
        if (!(e instanceof NotApplicable)) throw e;
      }
      continue;
    }
    const validators = (policy as ResourceValidationPolicy).validateResource;
    for (const validate of Array.isArray(validators) ? validators : validators ? [validators] : []) {
      for (const r of resources) {
        const args: ResourceValidationArgs = { ...asPolicyResource(r), getConfig, notApplicable, stackTags: new Map() } as unknown as ResourceValidationArgs;
        try {
          void validate(args, (message) => push(message, r.name));
        } catch (e) {
          if (!(e instanceof NotApplicable)) throw e;
        }
      }
    }
  }
  return violations;
}

/** Reading the swarm resources (docker.Service, docker.Secret) for the rules. Pure. */
import type { PolicyResource } from "@pulumi/policy";
import { LABEL_SERVICE } from "../components/renderers/names";
import { labelsOf } from "./lib";

export const SERVICE = "docker:index/service:Service";
export const SECRET = "docker:index/secret:Secret";

export interface ServiceView {
  /** The stack service (label `copilotos.service`), when the service carries it. */
  service?: string;
  image: string;
  env: Record<string, string>;
  secrets: { file: string; secretId: string; secretName: string }[];
  constraints: string[];
  replicas?: number;
  global: boolean;
  mounts: { type: string; source?: string; target: string }[];
  ports: { published: number; target: number; mode: string }[];
  updateOrder?: string;
}

type Props = Record<string, unknown>;

/** A docker.Service's props as the rules read them. */
export function serviceView(props: Props): ServiceView {
  const task = (props.taskSpec ?? {}) as Props;
  const c = (task.containerSpec ?? {}) as Props;
  const mode = (props.mode ?? {}) as { global?: boolean; replicated?: { replicas?: number } };
  const endpoint = (props.endpointSpec ?? {}) as { ports?: { publishedPort?: number; targetPort: number; publishMode?: string }[] };
  return {
    service: labelsOf(props as { labels?: { label: string; value: string }[] })[LABEL_SERVICE],
    image: String(c.image ?? ""),
    env: Object.fromEntries(Object.entries((c.env as Record<string, unknown> | undefined) ?? {}).map(([k, v]) => [k, String(v)])),
    secrets: ((c.secrets as { fileName: string; secretId: string; secretName: string }[] | undefined) ?? []).map((s) => ({
      file: s.fileName,
      secretId: s.secretId,
      secretName: s.secretName,
    })),
    constraints: ((task.placement as { constraints?: string[] } | undefined)?.constraints ?? []).map(String),
    replicas: mode.replicated?.replicas,
    global: mode.global === true,
    mounts: ((c.mounts as ServiceView["mounts"] | undefined) ?? []).map((m) => ({ type: m.type, source: m.source, target: m.target })),
    ports: (endpoint.ports ?? [])
      .filter((p) => p.publishedPort !== undefined)
      .map((p) => ({ published: Number(p.publishedPort), target: p.targetPort, mode: p.publishMode ?? "ingress" })),
    updateOrder: (props.updateConfig as { order?: string } | undefined)?.order,
  };
}

/** The decoded value of the Docker secret a service's reference names (by ID, else by name), when known. */
export function secretValue(resources: PolicyResource[], ref: { secretId: string; secretName: string }): string | undefined {
  const s = resources.find((r) => r.type === SECRET && (r.props.id === ref.secretId || r.props.name === ref.secretName));
  const data = s?.props.data;
  return typeof data === "string" ? Buffer.from(data, "base64").toString() : undefined;
}

/**
 * The test executor's swarm part: docker.Secret, docker.ServiceConfig and docker.Service inputs as
 * the Docker Engine API's specs, sent to the manager's socket, as the docker provider would. A
 * service update waits for the swarm to finish it and reports an automatic rollback as a failure
 * (`docker service update` exits 0 after one: UpdateStatus tells).
 */
import * as http from "node:http";
import { type SwarmTask, unconvergedReason } from "./swarmConvergence";

/** One Engine API call on a unix socket; the parsed JSON answer, or an error naming the call. */
export function engineApi(socket: string, method: string, path: string, body?: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        socketPath: socket,
        method,
        path: `/v1.41${path}`,
        headers: data ? { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) } : {},
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => {
          const parsed = text ? (JSON.parse(text) as unknown) : undefined;
          if ((res.statusCode ?? 500) >= 300) reject(new Error(`${method} ${path}: ${res.statusCode} ${(parsed as { message?: string })?.message ?? text}`));
          else resolve(parsed);
        });
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

/** "5s", "1m30s", "250ms" → nanoseconds. */
export function nanos(d: string | undefined): number | undefined {
  if (d === undefined) return undefined;
  let total = 0;
  for (const [, n, unit] of d.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g))
    total += Number(n) * { ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 }[unit as "ms" | "s" | "m" | "h"];
  return Math.round(total);
}

type Json = Record<string, unknown>;
const labels = (l: unknown) => Object.fromEntries(((l as { label: string; value: string }[] | undefined) ?? []).map((x) => [x.label, x.value]));

interface UpdatePolicy {
  parallelism?: number;
  delay?: string;
  failureAction?: string;
  monitor?: string;
  maxFailureRatio?: string;
  order?: string;
}
const policy = (u: UpdatePolicy | undefined) =>
  u && {
    Parallelism: u.parallelism,
    Delay: nanos(u.delay),
    FailureAction: u.failureAction,
    Monitor: nanos(u.monitor),
    MaxFailureRatio: u.maxFailureRatio === undefined ? undefined : Number(u.maxFailureRatio),
    Order: u.order,
  };

/** The Engine API's ServiceSpec for the docker provider's Service inputs the program uses. */
export function serviceSpec(p: Json): Json {
  type Task = {
    containerSpec: {
      image: string;
      commands?: string[];
      args?: string[];
      hostname?: string;
      env?: Record<string, string>;
      labels?: unknown;
      healthcheck?: { tests: string[]; interval?: string; timeout?: string; retries?: number; startPeriod?: string };
      secrets?: { secretId: string; secretName: string; fileName: string; fileMode?: number }[];
      configs?: { configId: string; configName: string; fileName: string }[];
      mounts?: { type: string; source?: string; target: string; tmpfsOptions?: { sizeBytes?: number; mode?: number } }[];
      readOnly?: boolean;
      stopGracePeriod?: string;
      capAdds?: string[];
      capDrops?: string[];
    };
    networksAdvanceds?: { name: string; aliases?: string[] }[];
    placement?: { constraints?: string[] };
    resources?: { limits?: { memoryBytes?: number; nanoCpus?: number } };
    restartPolicy?: { condition?: string; delay?: string; window?: string; maxAttempts?: number };
    logDriver?: { name: string; options?: Record<string, string> };
  };
  const t = p.taskSpec as Task;
  const c = t.containerSpec;
  const mode = p.mode as { global?: boolean; replicated?: { replicas: number } };
  const endpoint = p.endpointSpec as
    { mode?: string; ports?: { targetPort: number; publishedPort: number; publishMode: string; protocol: string }[] } | undefined;
  const file = (name: string, mode = 0o444) => ({ Name: name, UID: "0", GID: "0", Mode: mode });
  return {
    Name: p.name,
    Labels: labels(p.labels),
    TaskTemplate: {
      ContainerSpec: {
        Image: c.image,
        Command: c.commands,
        Args: c.args,
        Hostname: c.hostname,
        Env: Object.entries(c.env ?? {}).map(([k, v]) => `${k}=${v}`),
        Labels: labels(c.labels),
        Healthcheck: c.healthcheck && {
          Test: c.healthcheck.tests,
          Interval: nanos(c.healthcheck.interval),
          Timeout: nanos(c.healthcheck.timeout),
          Retries: c.healthcheck.retries,
          StartPeriod: nanos(c.healthcheck.startPeriod),
        },
        Secrets: (c.secrets ?? []).map((s) => ({ File: file(s.fileName, s.fileMode), SecretID: s.secretId, SecretName: s.secretName })),
        Configs: (c.configs ?? []).map((s) => ({ File: file(s.fileName), ConfigID: s.configId, ConfigName: s.configName })),
        Mounts: (c.mounts ?? []).map((m) => ({
          Type: m.type,
          Source: m.source,
          Target: m.target,
          ...(m.tmpfsOptions ? { TmpfsOptions: { SizeBytes: m.tmpfsOptions.sizeBytes, Mode: m.tmpfsOptions.mode } } : {}),
        })),
        ReadOnly: c.readOnly,
        StopGracePeriod: nanos(c.stopGracePeriod),
        CapabilityAdd: c.capAdds?.map((x) => `CAP_${x}`),
        CapabilityDrop: c.capDrops?.map((x) => (x === "ALL" ? x : `CAP_${x}`)),
      },
      Networks: (t.networksAdvanceds ?? []).map((n) => ({ Target: n.name, Aliases: n.aliases })),
      Placement: { Constraints: t.placement?.constraints ?? [] },
      Resources: { Limits: { MemoryBytes: t.resources?.limits?.memoryBytes, NanoCPUs: t.resources?.limits?.nanoCpus } },
      RestartPolicy: t.restartPolicy && {
        Condition: t.restartPolicy.condition,
        Delay: nanos(t.restartPolicy.delay),
        Window: nanos(t.restartPolicy.window),
        MaxAttempts: t.restartPolicy.maxAttempts,
      },
      LogDriver: t.logDriver && { Name: t.logDriver.name, Options: t.logDriver.options },
    },
    Mode: mode.global ? { Global: {} } : { Replicated: { Replicas: mode.replicated?.replicas ?? 1 } },
    UpdateConfig: policy(p.updateConfig as UpdatePolicy | undefined),
    RollbackConfig: policy(p.rollbackConfig as UpdatePolicy | undefined),
    EndpointSpec: endpoint && {
      Mode: endpoint.mode,
      Ports: (endpoint.ports ?? []).map((x) => ({
        Protocol: x.protocol,
        TargetPort: x.targetPort,
        PublishedPort: x.publishedPort,
        PublishMode: x.publishMode,
      })),
    },
  };
}

interface ServiceState {
  ID: string;
  Version: { Index: number };
  Spec: Json;
  UpdateStatus?: { State: string; StartedAt?: string; Message?: string };
}

/** Creates a Secret or a Config; one of that name already there fails the create, as the engine answers the provider (409). */
export async function createObject(socket: string, kind: "secrets" | "configs", p: Json): Promise<string> {
  const name = String(p.name);
  const found = (await engineApi(socket, "GET", `/${kind}?filters=${encodeURIComponent(JSON.stringify({ name: [name] }))}`)) as {
    ID: string;
    Spec: { Name: string };
  }[];
  if (found.some((o) => o.Spec.Name === name)) throw new Error(`${kind.slice(0, -1)} ${name} already exists (409 Conflict)`);
  const made = (await engineApi(socket, "POST", `/${kind}/create`, { Name: name, Data: p.data, Labels: labels(p.labels) })) as { ID: string };
  return made.ID;
}

/**
 * Creates or updates a service and waits until it has converged: every desired task running and,
 * with a health check, healthy. An update the swarm rolled back is an error naming its message.
 */
export async function applyService(socket: string, p: Json, timeoutSeconds: number): Promise<string> {
  const spec = serviceSpec(p);
  const name = String(p.name);
  let existing: ServiceState | undefined;
  try {
    existing = (await engineApi(socket, "GET", `/services/${name}`)) as ServiceState;
  } catch {
    existing = undefined;
  }
  let id: string;
  const asked = Date.now();
  if (existing) {
    await engineApi(socket, "POST", `/services/${existing.ID}/update?version=${existing.Version.Index}`, spec);
    id = existing.ID;
  } else {
    id = ((await engineApi(socket, "POST", "/services/create", spec)) as { ID: string }).ID;
  }
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const s = (await engineApi(socket, "GET", `/services/${id}`)) as ServiceState;
    // Only this update's status counts (a service keeps the last one's); an update that changed
    // nothing the swarm acts on never gets one: after 10 s, convergence alone decides.
    const status = s.UpdateStatus && Date.parse(s.UpdateStatus.StartedAt ?? "") >= asked - 2000 ? s.UpdateStatus : undefined;
    const state = status?.State;
    if (state === "rollback_completed" || state === "rollback_paused" || state === "paused") {
      throw new Error(`service ${name}: the update was rolled back by the swarm (${state}): ${status?.Message ?? ""}`);
    }
    const done = !existing || state === "completed" || (state === undefined && Date.now() - asked > 10_000);
    const behind = await unconverged(socket, id);
    if (done && !behind) return id;
    if (Date.now() > deadline)
      throw new Error(`service ${name}: not converged within ${timeoutSeconds}s (update state: ${state ?? "none"}; ${behind ?? "converged"})`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** The service's tasks with desired state running, against the nodes that are not Down: the provider's count (swarmConvergence.ts). */
async function unconverged(socket: string, id: string): Promise<string | undefined> {
  const filters = encodeURIComponent(JSON.stringify({ service: [id], "desired-state": ["running"] }));
  const tasks = (await engineApi(socket, "GET", `/tasks?filters=${filters}`)) as SwarmTask[];
  const nodes = (await engineApi(socket, "GET", "/nodes")) as { ID: string; Status: { State: string } }[];
  const active = new Set(nodes.filter((n) => n.Status.State !== "down").map((n) => n.ID));
  const s = (await engineApi(socket, "GET", `/services/${id}`)) as ServiceState & { Spec: { Mode: { Replicated?: { Replicas: number } } } };
  return unconvergedReason(tasks, active, s.Spec.Mode.Replicated?.Replicas);
}

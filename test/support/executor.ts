/**
 * Applies the program's recorded graph (scripts/lib/harness.ts, mock runtime) to a real Docker
 * engine the way `pulumi up` with the docker and command providers would, so the containers the
 * program defines run for real: networks, volumes, containers created with their uploads in place
 * before they start (and `wait` on health when asked), and the program's own Commands (pre-flight,
 * rotation, gates, route switches) run over SSH, all in the engine's order (registration order,
 * which follows every input and `dependsOn` edge). A second apply of a changed graph behaves like
 * an update: unchanged resources are kept, fixed-name containers are replaced delete-first,
 * renamed app containers are created beside the old ones and the old ones removed only when the
 * whole update succeeded; Commands re-run when an input changed. Values the mocks made up (image
 * digests, container IDs) are replaced by the real ones before a later resource reads them.
 *
 * Not a provider: docker.Image builds (test/e2e/build.test.ts covers them) and AWS resources are refused.
 */
import { createHash } from "node:crypto";
import { spawn } from "node:child_process";
import * as tar from "tar-stream";
import type { ProgramRun, RecordedResource } from "../../scripts/lib/harness";
import { HostTarget, runLocal, runOnHost } from "../../scripts/lib/hostExec";
import { fakeOutputs } from "../../scripts/lib/mockValues";
import { applyService, createObject } from "./swarmApply";

/** The engine's unix socket, from its `-H unix://…` docker arguments. */
function socketOf(engine: Engine): string {
  const h = engine.dockerArgs[engine.dockerArgs.indexOf("-H") + 1] ?? "";
  if (!h.startsWith("unix://")) throw new Error(`the swarm part of the test executor needs a unix socket, not ${h}`);
  return h.slice("unix://".length);
}

export interface Engine {
  /** `docker` arguments that reach the host's engine, e.g. `["-H", "unix:///…/docker.sock"]`. */
  dockerArgs: string[];
  /** How the program's remote Commands reach the host (the pinned SSH target). */
  ssh: HostTarget;
}

interface Applied {
  type: string;
  hash: string;
  /** Container name and ID (containers only). */
  name?: string;
  id?: string;
  /** mock value → real value, replayed into later inputs. */
  real: Record<string, string>;
  /** What a Command printed. */
  output?: string;
  /** A Command's `delete` script: run when the program no longer declares it. */
  remove?: string;
}

/** What the executor remembers between applies: the stack's state, in effect. */
export class ExecState {
  readonly resources = new Map<string, Applied>();
  /** Replaced resources of a failed update: deleted at the end of the next one that succeeds, as Pulumi's pending deletes. */
  readonly pendingDeletes: Applied[] = [];
}

export interface ApplyStep {
  name: string;
  type: string;
  action: "create" | "replace" | "same" | "delete";
  seconds: number;
  output?: string;
}

export class ApplyError extends Error {
  override name = "ApplyError";
  constructor(
    message: string,
    readonly steps: ApplyStep[],
  ) {
    super(message);
  }
}

const SHORT = (t: string) => t.replace(/^.*:/, "");

/**
 * Runs before each resource the apply changes (not before unchanged ones), with its name: where a
 * fault test kills the update (throw) or breaks the host between two steps.
 */
export type BeforeStep = (name: string) => Promise<void>;

export async function applyGraph(
  run: ProgramRun,
  engine: Engine,
  state: ExecState,
  log: (line: string) => void = () => undefined,
  beforeStep: BeforeStep = async () => undefined,
): Promise<ApplyStep[]> {
  const real = new Map<string, string>();
  for (const a of state.resources.values()) for (const [k, v] of Object.entries(a.real)) real.set(k, v);
  const steps: ApplyStep[] = [];
  const seen = new Set<string>();
  const retired: Applied[] = state.pendingDeletes.splice(0);
  const docker = async (...args: string[]) => {
    const r = await runLocal("docker", [...engine.dockerArgs, ...args]);
    if (r.code !== 0) throw new Error(`docker ${args.slice(0, 2).join(" ")} failed: ${r.stderr.trim()}`);
    return r.stdout.trim();
  };

  for (const res of run.resources) {
    const key = `${res.type}::${res.name}`;
    seen.add(key);
    const inputs = substitute(res.inputs, real) as Record<string, unknown>;
    const hash = createHash("sha256").update(JSON.stringify(inputs)).digest("hex");
    const before = state.resources.get(key);
    const started = Date.now();
    const step = (action: ApplyStep["action"], output?: string) => {
      const s = { name: res.name, type: SHORT(res.type), action, seconds: (Date.now() - started) / 1000, output };
      steps.push(s);
      if (action !== "same") log(`${action} ${s.type} ${res.name} (${s.seconds.toFixed(1)}s)`);
    };
    if (before && before.hash === hash) {
      for (const [k, v] of Object.entries(before.real)) real.set(k, v);
      step("same");
      continue;
    }
    try {
      await beforeStep(res.name);
      const applied = await applyOne(res, inputs, before, docker, engine, retired);
      if (!applied) continue;
      applied.hash = hash;
      state.resources.set(key, applied);
      for (const [k, v] of Object.entries(applied.real)) real.set(k, v);
      step(before ? "replace" : "create", applied.output);
    } catch (e) {
      step(before ? "replace" : "create", (e as Error).message);
      state.pendingDeletes.push(...retired);
      throw new ApplyError(`${res.name}: ${(e as Error).message}`, steps);
    }
  }
  // The update succeeded: what it replaced or no longer declares goes now (retained volumes stay).
  for (const [key, a] of state.resources) {
    if (seen.has(key)) continue;
    retired.push(a);
    state.resources.delete(key);
    // As the command provider does when a Command goes: its delete script runs on the host.
    if (a.remove) {
      const r = a.type === "command:local:Command" ? await runLocal("sh", ["-c", a.remove], "") : await runOnHost(engine.ssh, a.remove, "");
      const name = key.slice(key.indexOf("::") + 2);
      if (r.code !== 0) throw new ApplyError(`${name}: delete failed (exit ${r.code}):\n${r.stdout}${r.stderr}`.trimEnd(), steps);
      steps.push({ name, type: "Command", action: "delete", seconds: 0, output: r.stdout });
      log(`delete Command ${name}`);
    }
  }
  for (const a of retired) {
    if (a.type === "docker:index/container:Container" && a.id) {
      await docker("rm", "-f", a.id).catch(() => undefined);
      steps.push({ name: a.name ?? a.id, type: "Container", action: "delete", seconds: 0 });
      log(`delete Container ${a.name}`);
    }
  }
  return steps;
}

type Docker = (...args: string[]) => Promise<string>;

async function applyOne(
  res: RecordedResource,
  p: Record<string, unknown>,
  before: Applied | undefined,
  docker: Docker,
  engine: Engine,
  retired: Applied[],
): Promise<Applied | undefined> {
  switch (res.type) {
    case "docker:index/network:Network": {
      const name = String(p.name);
      if (!(await docker("network", "ls", "-q", "--filter", `name=^${name}$`)))
        await docker("network", "create", "--driver", String(p.driver ?? "bridge"), ...(p.attachable ? ["--attachable"] : []), ...labelArgs(p), name);
      return { type: res.type, hash: "", real: {} };
    }
    case "docker:index/volume:Volume": {
      const name = String(p.name);
      if (!(await docker("volume", "ls", "-q", "--filter", `name=^${name}$`))) await docker("volume", "create", ...labelArgs(p), name);
      return { type: res.type, hash: "", real: {} };
    }
    case "docker:index/remoteImage:RemoteImage": {
      // No registry here: the image must already be on the engine (the test loads it), as after a pull.
      const local = res.name.endsWith("-source");
      const args = ["image", "inspect", "--format", "{{.Id}}", String(p.name)];
      const id = local ? (await runLocal("docker", args)).stdout.trim() : await docker(...args);
      if (!id) throw new Error(`image ${String(p.name)} is not on the engine (no registry to pull from)`);
      // Pushed to a registry (the swarm rig's), it has a digest every node can pull; else its ID stands in.
      const digest = local ? "" : await docker("image", "inspect", "--format", "{{if .RepoDigests}}{{index .RepoDigests 0}}{{end}}", String(p.name));
      // What the mock runtime answered for it (scripts/lib/mockValues.ts) is what later inputs hold.
      const fake = fakeOutputs(res.type, res.name, res.inputs) as { imageId: string; repoDigest: string };
      return { type: res.type, hash: "", real: { [fake.imageId]: id, [fake.repoDigest]: digest || id } };
    }
    case "docker:index/container:Container": {
      const name = String(p.name);
      if (before?.name === name)
        await docker("rm", "-f", name); // fixed name: delete-before-replace
      else if (before) retired.push(before); // renamed: the old one goes at the end of the update
      await docker("rm", "-f", name).catch(() => undefined); // a leftover of a failed update by that name
      await docker("create", ...containerArgs(p));
      const uploads = (p.uploads as { file: string; content: string; permissions?: string }[] | undefined) ?? [];
      if (uploads.length) await copyIn(engine, name, uploads);
      await docker("start", name);
      if (p.wait === true) await waitHealthy(docker, name, Number(p.waitTimeout ?? 60));
      const id = await docker("inspect", "--format", "{{.Id}}", name);
      return { type: res.type, hash: "", name, id, real: { [`${res.name}-id`]: id } };
    }
    case "command:remote:Command":
    case "command:local:Command": {
      const script = String(before ? (p.update ?? p.create) : p.create);
      const stdin = typeof p.stdin === "string" ? p.stdin : "";
      const r = res.type === "command:local:Command" ? await runLocal("sh", ["-c", script], stdin) : await runOnHost(engine.ssh, script, stdin);
      if (r.code !== 0) throw new Error(`command failed (exit ${r.code}):\n${r.stdout}${r.stderr}`.trimEnd());
      return { type: res.type, hash: "", real: {}, output: r.stdout, remove: typeof p.delete === "string" ? p.delete : undefined };
    }
    // A swarm (test/support/swarmApply.ts), through the manager's socket.
    case "docker:index/secret:Secret":
    case "docker:index/serviceConfig:ServiceConfig": {
      const id = await createObject(socketOf(engine), res.type.endsWith("Secret") ? "secrets" : "configs", p);
      return { type: res.type, hash: "", real: { [`${res.name}-id`]: id } };
    }
    case "docker:index/service:Service": {
      const id = await applyService(socketOf(engine), p, 240);
      return { type: res.type, hash: "", name: String(p.name), real: { [`${res.name}-id`]: id } };
    }
    case "pulumi:providers:docker":
    case "pulumi:providers:command":
    case "random:index/randomPassword:RandomPassword":
      return undefined;
    default:
      if (res.type.startsWith("copilotos:") || res.type === "pulumi:pulumi:Stack") return undefined; // components
      throw new Error(`the test executor does not apply ${res.type}`);
  }
}

/** Replaces made-up values by real ones, longest first (a fake image ID is part of a fake digest). */
function substitute(value: unknown, real: Map<string, string>): unknown {
  if (typeof value === "string") {
    let s = value;
    const fakes = [...real.keys()].sort((a, b) => b.length - a.length);
    for (const fake of fakes) if (s.includes(fake)) s = s.split(fake).join(real.get(fake)!);
    return s;
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, real));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, real)]));
  return value;
}

const labelArgs = (p: Record<string, unknown>) =>
  ((p.labels as { label: string; value: string }[] | undefined) ?? []).flatMap((l) => ["--label", `${l.label}=${l.value}`]);

/** `docker create` arguments for the docker provider's Container inputs the program uses. */
export function containerArgs(p: Record<string, unknown>): string[] {
  const a = ["--name", String(p.name), ...labelArgs(p)];
  const nets = (p.networksAdvanced as { name: string; aliases?: string[] }[] | undefined) ?? [];
  for (const [i, n] of nets.entries()) {
    if (i > 0) throw new Error("the test executor attaches one network");
    a.push("--network", n.name, ...(n.aliases ?? []).flatMap((al) => ["--network-alias", al]));
  }
  for (const e of (p.envs as string[] | undefined) ?? []) a.push("-e", e);
  const hc = p.healthcheck as { tests: string[]; interval?: string; timeout?: string; retries?: number; startPeriod?: string } | undefined;
  if (hc) {
    if (hc.tests[0] !== "CMD-SHELL") throw new Error(`health check form ${hc.tests[0]} is not applied by the test executor`);
    a.push("--health-cmd", hc.tests[1]);
    if (hc.interval) a.push("--health-interval", hc.interval);
    if (hc.timeout) a.push("--health-timeout", hc.timeout);
    if (hc.retries !== undefined) a.push("--health-retries", String(hc.retries));
    if (hc.startPeriod) a.push("--health-start-period", hc.startPeriod);
  }
  if (p.restart) a.push("--restart", String(p.restart));
  if (p.logDriver) a.push("--log-driver", String(p.logDriver));
  for (const [k, v] of Object.entries((p.logOpts as Record<string, string> | undefined) ?? {})) a.push("--log-opt", `${k}=${v}`);
  if (p.memory) a.push("--memory", `${Number(p.memory)}m`);
  if (p.cpus) a.push("--cpus", String(p.cpus));
  if (p.privileged) a.push("--privileged");
  if (p.destroyGraceSeconds) a.push("--stop-timeout", String(p.destroyGraceSeconds));
  for (const port of (p.ports as { internal: number; external: number; ip?: string; protocol?: string }[] | undefined) ?? []) {
    a.push("-p", `${port.ip ?? "0.0.0.0"}:${port.external}:${port.internal}/${port.protocol ?? "tcp"}`);
  }
  for (const v of (p.volumes as { volumeName?: string; containerPath: string }[] | undefined) ?? []) {
    if (!v.volumeName) throw new Error("the test executor mounts named volumes only");
    a.push("-v", `${v.volumeName}:${v.containerPath}`);
  }
  a.push(String(p.image), ...((p.command as string[] | undefined) ?? []));
  return a;
}

/** Puts the uploads in place before the container starts, as the provider does (a tar copied to /). */
async function copyIn(engine: Engine, name: string, uploads: { file: string; content: string; permissions?: string }[]): Promise<void> {
  const pack = tar.pack();
  const dirs = new Set<string>();
  for (const u of uploads) {
    const parts = u.file.replace(/^\//, "").split("/").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join("/");
      if (dirs.has(d)) continue;
      dirs.add(d);
      pack.entry({ name: `${d}/`, type: "directory", mode: 0o755 });
    }
    pack.entry({ name: u.file.replace(/^\//, ""), mode: parseInt(u.permissions ?? "0644", 8) }, u.content);
  }
  pack.finalize();
  const child = spawn("docker", [...engine.dockerArgs, "cp", "-", `${name}:/`], { stdio: ["pipe", "pipe", "pipe"] });
  let err = "";
  child.stderr.on("data", (b: Buffer) => (err += b.toString()));
  pack.pipe(child.stdin);
  const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? 1)));
  if (code !== 0) throw new Error(`uploading files into ${name} failed: ${err.trim()}`);
}

async function waitHealthy(docker: Docker, name: string, timeoutSeconds: number): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const status = await docker("inspect", "--format", "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}", name);
    if (status === "running healthy" || status === "running ") return;
    if (status.startsWith("exited") || status.startsWith("dead")) throw new Error(`container ${name} exited before it was healthy (${status})`);
    if (Date.now() > deadline) throw new Error(`container ${name} was not healthy within ${timeoutSeconds}s (${status})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * The docker and command providers' create, update and delete, on a real engine, for the inputs the
 * program uses, each as the provider's own code does it (sources in docs/testing.md):
 * - a Container is created, its networks joined, its uploads copied in, started, and with `wait`
 *   awaited healthy; the ID is recorded before the wait, so a container whose wait failed is in the
 *   state (with an initialization error) while any other failed create is not; a name already in
 *   use fails the create, as the engine's API does; a container that is not running after its start
 *   is removed and the create fails (the provider's read with `mustRun`);
 * - a Container is deleted by `docker stop` with its `destroyGraceSeconds` (0 when unset: the
 *   provider's own default) and then removed with its anonymous volumes (`removeVolumes`, default true);
 * - Commands run `create` on create, `update ?? create` on update and `delete` on delete;
 * - Networks, Volumes, Secrets and Configs are created and removed by name.
 */
import { spawn } from "node:child_process";
import * as tar from "tar-stream";
import type { RecordedResource } from "../../../scripts/mockRuntime/harness";
import { HostTarget, runLocal, runOnHost } from "../../../scripts/stack/hostExec";
import { fakeOutputs } from "../../../scripts/mockRuntime/mockValues";
import { CONTAINER_UPDATED } from "./diff";
import { applyService, createObject, engineApi } from "../swarmApply";

export interface Engine {
  /** `docker` arguments that reach the host's engine, e.g. `["-H", "unix:///…/docker.sock"]`. */
  dockerArgs: string[];
  /** How the program's remote Commands reach the host (the pinned SSH target). */
  ssh: HostTarget;
  /**
   * Where the program's local Commands run (a `host.kind: local` stack): this machine, or, so that
   * "this machine" is the test host, inside its network namespace, with extra env (HOME, say).
   * @default this machine, as it is
   */
  local?: { netns?: string; env?: Record<string, string> };
}

/** What a provider recorded for a resource: its real outputs (by the values the mocks made up for them). */
export interface Live {
  real: Record<string, string>;
  /** Container name and ID, a swarm object's ID. */
  name?: string;
  id?: string;
  /** What a Command printed. */
  output?: string;
}

/** A create that failed after the provider recorded the resource (a Container whose wait failed). */
export class PartialCreate extends Error {
  constructor(
    message: string,
    readonly live: Live,
  ) {
    super(message);
  }
}

type Inputs = Record<string, unknown>;
export type Docker = (...args: string[]) => Promise<string>;

export function dockerOf(engine: Engine): Docker {
  return async (...args: string[]) => {
    const r = await runLocal("docker", [...engine.dockerArgs, ...args]);
    if (r.code !== 0) throw new Error(`docker ${args.slice(0, 2).join(" ")} failed: ${r.stderr.trim()}`);
    return r.stdout.trim();
  };
}

/** The engine's unix socket, from its `-H unix://…` docker arguments. */
function socketOf(engine: Engine): string {
  const h = engine.dockerArgs[engine.dockerArgs.indexOf("-H") + 1] ?? "";
  if (!h.startsWith("unix://")) throw new Error(`the swarm part of the test executor needs a unix socket, not ${h}`);
  return h.slice("unix://".length);
}

async function runCommand(type: string, engine: Engine, script: string, stdin: string, p: Inputs): Promise<string> {
  const r = type === "command:local:Command" ? await runLocalCommand(engine, script, stdin, p) : await runOnHost(engine.ssh, script, stdin);
  if (r.code !== 0) throw new Error(`command failed (exit ${r.code}):\n${r.stdout}${r.stderr}`.trimEnd());
  return r.stdout;
}

/** A local Command as the provider runs it: its `interpreter` with the script as the last argument, its `environment` added to this process's. */
function runLocalCommand(engine: Engine, script: string, stdin: string, p: Inputs) {
  const interpreter = Array.isArray(p.interpreter) ? p.interpreter.map(String) : ["/bin/sh", "-c"];
  const argv = [...(engine.local?.netns ? ["nsenter", `--net=/var/run/netns/${engine.local.netns}`] : []), ...interpreter, script];
  const env = { ...process.env, ...((p.environment ?? {}) as Record<string, string>), ...engine.local?.env };
  return runLocal(argv[0], argv.slice(1), stdin, env);
}

/** Types with nothing on the host: their state is all there is. */
export function stateOnly(type: string): boolean {
  return type.startsWith("pulumi:providers:") || type.startsWith("random:") || type.startsWith("copilotos:") || type === "pulumi:pulumi:Stack";
}

export async function create(res: RecordedResource, p: Inputs, engine: Engine): Promise<Live> {
  const docker = dockerOf(engine);
  switch (res.type) {
    case "docker:index/network:Network":
      await docker("network", "create", "--driver", String(p.driver ?? "bridge"), ...(p.attachable ? ["--attachable"] : []), ...labelArgs(p), String(p.name));
      return { real: {}, name: String(p.name) };
    case "docker:index/volume:Volume":
      await docker("volume", "create", ...labelArgs(p), String(p.name));
      return { real: {}, name: String(p.name) };
    case "docker:index/remoteImage:RemoteImage": {
      // No registry here: the image must already be on the engine (the test loads it), as after a pull.
      const local = res.name.endsWith("-source");
      const args = ["image", "inspect", "--format", "{{.Id}}", String(p.name)];
      const id = local ? (await runLocal("docker", args)).stdout.trim() : await docker(...args).catch(() => "");
      if (!id) throw new Error(`image ${String(p.name)} is not on the engine (no registry to pull from)`);
      // Pushed to a registry (the swarm rig's), it has a digest every node can pull; else its ID stands in.
      const digest = local ? "" : await docker("image", "inspect", "--format", "{{if .RepoDigests}}{{index .RepoDigests 0}}{{end}}", String(p.name));
      const fake = fakeOutputs(res.type, res.name, res.inputs) as { imageId: string; repoDigest: string };
      return { real: { [fake.imageId]: id, [fake.repoDigest]: digest || id } };
    }
    case "docker:index/container:Container":
      return createContainer(res, p, engine, docker);
    case "command:remote:Command":
    case "command:local:Command":
      return { real: {}, output: await runCommand(res.type, engine, String(p.create ?? ""), typeof p.stdin === "string" ? p.stdin : "", p) };
    case "docker:index/secret:Secret":
    case "docker:index/serviceConfig:ServiceConfig": {
      const id = await createObject(socketOf(engine), res.type.endsWith("Secret") ? "secrets" : "configs", p);
      return { real: { [`${res.name}-id`]: id }, id };
    }
    case "docker:index/service:Service": {
      const id = await applyService(socketOf(engine), p, 240);
      return { real: { [`${res.name}-id`]: id }, name: String(p.name), id };
    }
    default:
      if (stateOnly(res.type)) return { real: {} };
      throw new Error(`the test executor does not apply ${res.type}`);
  }
}

async function createContainer(res: RecordedResource, p: Inputs, engine: Engine, docker: Docker): Promise<Live> {
  const name = String(p.name);
  // The engine refuses a second container of one name ("Conflict. The container name … is already in use").
  const id = await docker("create", ...containerArgs(p));
  const live: Live = { real: { [`${res.name}-id`]: id }, name, id };
  const uploads = (p.uploads as { file: string; content: string; permissions?: string }[] | undefined) ?? [];
  try {
    if (uploads.length) await copyIn(engine, name, uploads);
    await docker("start", id);
  } catch (e) {
    throw new PartialCreate((e as Error).message, live);
  }
  if (p.wait === true) {
    try {
      await waitHealthy(engine, docker, name, id, Number(p.waitTimeout ?? 60));
    } catch (e) {
      throw new PartialCreate((e as Error).message, live);
    }
  }
  const state = await docker("inspect", "--format", "{{.State.Status}}", id);
  if (state !== "running" && p.mustRun !== false) {
    await removeContainer(docker, id, p);
    throw new Error(`container ${name} is not running after its start (${state}); the provider removed it`);
  }
  return live;
}

/** A changed resource whose provider updates it in place. */
export async function update(res: RecordedResource, p: Inputs, changed: string[], before: Live, engine: Engine): Promise<Live> {
  const docker = dockerOf(engine);
  switch (res.type) {
    case "command:remote:Command":
    case "command:local:Command":
      return { real: {}, output: await runCommand(res.type, engine, String(p.update ?? p.create ?? ""), typeof p.stdin === "string" ? p.stdin : "", p) };
    case "docker:index/container:Container": {
      if (changed.some((k) => CONTAINER_UPDATED.includes(k))) {
        await docker(
          "update",
          ...(p.restart ? ["--restart", String(p.restart)] : []),
          // The provider sends MemorySwap only when it is set (0, "unchanged", otherwise), as the CLI does without --memory-swap.
          ...(p.memory ? ["--memory", `${Number(p.memory)}m`] : []),
          ...(p.memorySwap ? ["--memory-swap", `${Number(p.memorySwap)}m`] : []),
          ...(p.cpuShares ? ["--cpu-shares", String(p.cpuShares)] : []),
          ...(p.cpuSet ? ["--cpuset-cpus", String(p.cpuSet)] : []),
          String(before.id),
        );
      }
      return before;
    }
    case "docker:index/service:Service": {
      const id = await applyService(socketOf(engine), p, 240);
      return { real: { [`${res.name}-id`]: id }, name: String(p.name), id };
    }
    default:
      if (stateOnly(res.type) || res.type === "docker:index/remoteImage:RemoteImage") return before;
      throw new Error(`the test executor does not update ${res.type} in place`);
  }
}

/** Deletes what a resource's provider made, from its last recorded inputs. */
export async function remove(type: string, p: Inputs, live: Live, engine: Engine): Promise<string | undefined> {
  const docker = dockerOf(engine);
  switch (type) {
    case "docker:index/container:Container":
      await removeContainer(docker, String(live.id), p);
      return;
    case "docker:index/network:Network":
      await docker("network", "rm", String(p.name));
      return;
    case "docker:index/volume:Volume":
      await docker("volume", "rm", String(p.name));
      return;
    case "command:remote:Command":
    case "command:local:Command":
      return typeof p.delete === "string" ? runCommand(type, engine, p.delete, "", p) : undefined;
    case "docker:index/secret:Secret":
    case "docker:index/serviceConfig:ServiceConfig":
    case "docker:index/service:Service": {
      const kind = type.endsWith("Secret") ? "secrets" : type.endsWith("ServiceConfig") ? "configs" : "services";
      await engineApi(socketOf(engine), "DELETE", `/${kind}/${live.id}`);
      return;
    }
    default:
      // RemoteImages keep their image (the program sets keepLocally); the rest is state only.
      return;
  }
}

/**
 * The provider's delete: a stop with the grace period (0 when unset), whose failure fails the delete
 * (a container removed by hand fails it: `No such container`, until a refresh drops it), then a
 * forced remove, where `No such container` is ignored.
 */
async function removeContainer(docker: Docker, id: string, p: Inputs): Promise<void> {
  await docker("stop", "-t", String(Number(p.destroyGraceSeconds ?? 0)), id).catch((e: Error) => {
    throw new Error(`Error stopping container ${id}: ${e.message}`);
  });
  await docker("rm", "-f", ...(p.removeVolumes === false ? [] : ["-v"]), id).catch((e: Error) => {
    if (!/No such container/.test(e.message)) throw e;
  });
}

/** Whether the engine still has a container (by ID), network or volume (by name): what a refresh reads. */
export async function exists(engine: Engine, kind: "container" | "network" | "volume", what: string): Promise<boolean> {
  const r = await runLocal("docker", [...engine.dockerArgs, kind, "inspect", "--format", "{{.Name}}", what]);
  if (r.code === 0) return true;
  if (/No such|not found/i.test(r.stderr)) return false;
  throw new Error(`refresh: docker ${kind} inspect ${what} failed: ${r.stderr.trim()}`);
}

const labelArgs = (p: Inputs) => ((p.labels as { label: string; value: string }[] | undefined) ?? []).flatMap((l) => ["--label", `${l.label}=${l.value}`]);

/** `docker create` arguments for the docker provider's Container inputs the program uses. */
export function containerArgs(p: Inputs): string[] {
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

/**
 * The provider's `wait`: until the container is healthy (or running, without a health check), at
 * most `timeoutSeconds`. Event-driven: the engine's own `health_status` events, subscribed before
 * the state is read so a check that passes in between is not missed (by ID: a container of the same
 * name removed a moment ago is not this one); no polling.
 */
async function waitHealthy(engine: Engine, docker: Docker, name: string, id: string, timeoutSeconds: number): Promise<void> {
  const status = () => docker("inspect", "--format", "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}", name);
  const since = String(Math.floor(Date.now() / 1000) - 1);
  const events = spawn(
    "docker",
    [...engine.dockerArgs, "events", "--since", since, "--filter", `container=${id}`, "--filter", "event=health_status", "--format", "{{.Status}}"],
    { stdio: ["ignore", "pipe", "ignore"] },
  );
  try {
    const healthy = new Promise<boolean>((resolve) => {
      let seen = "";
      events.stdout.on("data", (b: Buffer) => {
        seen += b.toString();
        if (seen.split("\n").includes("health_status: healthy")) resolve(true);
      });
      events.on("close", () => resolve(false));
      setTimeout(() => resolve(false), timeoutSeconds * 1000).unref();
    });
    const now = await status();
    if (now === "running healthy" || now === "running ") return;
    if (await healthy) return;
    throw new Error(`container ${name} was not healthy within ${timeoutSeconds}s (${await status().catch(() => "gone")})`);
  } finally {
    events.kill();
  }
}

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
import type { RecordedResource } from "../../../scripts/mockRuntime/harness";
import { runLocal, runOnHost } from "../../../scripts/stack/hostExec";
import { fakeOutputs } from "../../../scripts/mockRuntime/mockValues";
import { createContainer, labelArgs, removeContainer } from "./containers";
import { CONTAINER_UPDATED } from "./diff";
import { dockerOf, Engine, Inputs, Live } from "./engine";

export { dockerOf, PartialCreate, type Docker, type Engine, type Live } from "./engine";
import { applyService, createObject, engineApi } from "../swarmApply";

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
      const real = await readImage(res, engine);
      if (!real) throw new Error(`image ${String(p.name)} is not on the engine (no registry to pull from)`);
      return { real };
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
 * A RemoteImage as the provider reads it: the image of its name on the engine (a `-source` one, a
 * build's, on this machine's), its ID and digest in place of the mock's made-up outputs; undefined
 * when there is none. Pushed to a registry (the swarm rig's), it has a digest every node can pull;
 * else its ID stands in.
 */
export async function readImage(res: Pick<RecordedResource, "type" | "name" | "inputs">, engine: Engine): Promise<Record<string, string> | undefined> {
  const local = res.name.endsWith("-source");
  const name = String(res.inputs.name);
  const inspect = (format: string) => runLocal("docker", [...(local ? [] : engine.dockerArgs), "image", "inspect", "--format", format, name]);
  const id = (await inspect("{{.Id}}")).stdout.trim();
  if (!id) return undefined;
  const digest = local ? "" : (await inspect("{{if .RepoDigests}}{{index .RepoDigests 0}}{{end}}")).stdout.trim();
  const fake = fakeOutputs(res.type, res.name, res.inputs) as { imageId: string; repoDigest: string };
  return { [fake.imageId]: id, [fake.repoDigest]: digest || id };
}

/** Whether the engine still has a container (by ID), network or volume (by name): what a refresh reads. */
export async function exists(engine: Engine, kind: "container" | "network" | "volume", what: string): Promise<boolean> {
  const r = await runLocal("docker", [...engine.dockerArgs, kind, "inspect", "--format", "{{.Name}}", what]);
  if (r.code === 0) return true;
  if (/No such|not found/i.test(r.stderr)) return false;
  throw new Error(`refresh: docker ${kind} inspect ${what} failed: ${r.stderr.trim()}`);
}

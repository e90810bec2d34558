/**
 * The docker provider's Container, on a real engine: create (networks, uploads, start unless
 * `start: false`, `wait`),
 * delete (stop with the grace period, then a forced remove) and the `docker create` arguments for
 * the inputs the program uses. Sources in docs/testing.md.
 */
import { spawn } from "node:child_process";
import * as tar from "tar-stream";
import type { RecordedResource } from "../../../scripts/mockRuntime/harness";
import { Docker, Engine, Inputs, Live, PartialCreate } from "./engine";
import { shq } from "../../../components/renderers/shell";

export async function createContainer(res: RecordedResource, p: Inputs, engine: Engine, docker: Docker): Promise<Live> {
  const name = String(p.name);
  // The engine refuses a second container of one name ("Conflict. The container name … is already in use").
  const id = await docker("create", ...containerArgs(p));
  const live: Live = { real: { [`${res.name}-id`]: id }, name, id };
  const uploads = (p.uploads as { file: string; content: string; permissions?: string }[] | undefined) ?? [];
  try {
    if (uploads.length) await copyIn(engine, name, uploads);
    // `start: false` (the provider's default is true): created, its files copied in, never started.
    if (p.start !== false) await docker("start", id);
  } catch (e) {
    throw new PartialCreate((e as Error).message, live);
  }
  if (p.wait === true && p.start !== false) {
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

/**
 * The provider's delete: a stop with the grace period (0 when unset), whose failure fails the delete
 * (a container removed by hand fails it: `No such container`, until a refresh drops it), then a
 * forced remove, where `No such container` is ignored.
 */
export async function removeContainer(docker: Docker, id: string, p: Inputs): Promise<void> {
  await docker("stop", "-t", String(Number(p.destroyGraceSeconds ?? 0)), id).catch((e: Error) => {
    throw new Error(`Error stopping container ${id}: ${e.message}`);
  });
  await docker("rm", "-f", ...(p.removeVolumes === false ? [] : ["-v"]), id).catch((e: Error) => {
    if (!/No such container/.test(e.message)) throw e;
  });
}

export const labelArgs = (p: Inputs) =>
  ((p.labels as { label: string; value: string }[] | undefined) ?? []).flatMap((l) => ["--label", `${l.label}=${l.value}`]);

/** `docker create` arguments for the docker provider's Container inputs the program uses. */
function containerArgs(p: Inputs): string[] {
  const a = ["--name", String(p.name), ...labelArgs(p)];
  const nets = (p.networksAdvanced as { name: string; aliases?: string[] }[] | undefined) ?? [];
  for (const [i, n] of nets.entries()) {
    if (i > 0) throw new Error("the test executor attaches one network");
    a.push("--network", n.name, ...(n.aliases ?? []).flatMap((al) => ["--network-alias", al]));
  }
  if (p.networkMode !== undefined) {
    if (nets.length) throw new Error("the test executor takes networksAdvanced or networkMode, not both");
    a.push("--network", String(p.networkMode));
  }
  for (const e of (p.envs as string[] | undefined) ?? []) a.push("-e", e);
  const hc = p.healthcheck as { tests: string[]; interval?: string; timeout?: string; retries?: number; startPeriod?: string } | undefined;
  if (hc) {
    // The CLI takes a shell command only: the exec form (which the provider sends as such) becomes its
    // words quoted for sh, the same program and arguments where the image has a shell (every stand-in has).
    if (hc.tests[0] !== "CMD-SHELL" && hc.tests[0] !== "CMD") throw new Error(`health check form ${hc.tests[0]} is not applied by the test executor`);
    a.push("--health-cmd", hc.tests[0] === "CMD" ? hc.tests.slice(1).map(shq).join(" ") : hc.tests[1]);
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
  if (p.readOnly) a.push("--read-only");
  for (const [at, opts] of Object.entries((p.tmpfs as Record<string, string> | undefined) ?? {})) a.push("--tmpfs", opts ? `${at}:${opts}` : at);
  for (const o of (p.securityOpts as string[] | undefined) ?? []) a.push("--security-opt", o);
  const caps = p.capabilities as { adds?: string[]; drops?: string[] } | undefined;
  for (const c of caps?.drops ?? []) a.push("--cap-drop", c);
  for (const c of caps?.adds ?? []) a.push("--cap-add", c);
  for (const port of (p.ports as { internal: number; external: number; ip?: string; protocol?: string }[] | undefined) ?? []) {
    a.push("-p", `${port.ip ?? "0.0.0.0"}:${port.external}:${port.internal}/${port.protocol ?? "tcp"}`);
  }
  type Mount = { type: string; source?: string; target: string; readOnly?: boolean; bindOptions?: { propagation?: string } };
  for (const m of (p.mounts as Mount[] | undefined) ?? []) {
    if (m.type !== "bind") throw new Error(`mount type ${m.type} is not applied by the test executor`);
    const opts = [
      `type=bind`,
      `source=${m.source}`,
      `target=${m.target}`,
      ...(m.readOnly ? ["readonly"] : []),
      ...(m.bindOptions?.propagation ? [`bind-propagation=${m.bindOptions.propagation}`] : []),
    ];
    a.push("--mount", opts.join(","));
  }
  // A named volume, or without a name an anonymous one (the container's own, removed with it: `rm -v`).
  for (const v of (p.volumes as { volumeName?: string; hostPath?: string; containerPath: string; readOnly?: boolean }[] | undefined) ?? []) {
    if (v.hostPath) throw new Error("the test executor does not bind host paths as volumes");
    a.push("-v", `${v.volumeName ? `${v.volumeName}:` : ""}${v.containerPath}${v.readOnly ? ":ro" : ""}`);
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

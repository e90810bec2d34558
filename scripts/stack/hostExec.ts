/**
 * Runs a host-side script from the deploy machine: through the system ssh client with the pinned
 * host key (the same files and options the Docker provider uses), or with `sh -c` for the local engine.
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { sshClientOptions, SshTarget } from "../../components/renderers/hosts/ssh";

/** Where host scripts run: over SSH, or here (`dockerHost`: the engine they address, else docker's default). */
export type HostTarget = { kind: "local"; dockerHost?: string } | ({ kind: "ssh" } & SshTarget);

/** argv that runs `script` on the target. Pure. */
export function hostArgv(target: HostTarget, script: string): [string, string[]] {
  if (target.kind === "local") return ["sh", ["-c", script]];
  return ["ssh", [...sshClientOptions(target), "-p", String(target.port), `${target.user}@${target.address}`, "--", script]];
}

/** A name for messages: `deploy@203.0.113.10:22` or `the local engine`. */
export function describeTarget(target: HostTarget): string {
  return target.kind === "local" ? "the local engine" : `${target.user}@${target.address}:${target.port}`;
}

export type HostProcess = ChildProcessByStdio<Writable, Readable, Readable>;

export function spawnOnHost(target: HostTarget, script: string): HostProcess {
  const [cmd, args] = hostArgv(target, script);
  const env = target.kind === "local" && target.dockerHost ? { ...process.env, DOCKER_HOST: target.dockerHost } : process.env;
  return spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], env });
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a script to completion, collecting its output; `input` goes to its stdin. */
export function runOnHost(target: HostTarget, script: string, input?: string, onStdout?: (s: string) => void): Promise<RunResult> {
  return collect(spawnOnHost(target, script), input, onStdout);
}

/** Runs a local command (the deploy machine's docker CLI) to completion. */
export function runLocal(cmd: string, args: string[], input?: string, env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return collect(spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], ...(env ? { env } : {}) }), input);
}

function collect(child: HostProcess, input?: string, onStdout?: (s: string) => void): Promise<RunResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on("data", (b: Buffer) => {
    out.push(b);
    onStdout?.(b.toString());
  });
  child.stderr.on("data", (b: Buffer) => err.push(b));
  child.stdin.on("error", () => undefined);
  child.stdin.end(input ?? "");
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
  });
}

/** A host step that failed; the message names the step, the host and what went wrong. */
export class HostStepError extends Error {
  override name = "HostStepError";
  constructor(
    message: string,
    public readonly result: RunResult,
  ) {
    super(message);
  }
}

/**
 * Runs a named step; a refused or unreachable SSH connection and a failing script are told apart.
 * `onStdout` sees the output as it comes (a long step's progress).
 */
export async function runHostStep(target: HostTarget, step: string, script: string, input?: string, onStdout?: (s: string) => void): Promise<RunResult> {
  const r = await runOnHost(target, script, input, onStdout);
  const where = describeTarget(target);
  if (r.code === 255 && target.kind === "ssh") {
    throw new HostStepError(`${step}: cannot reach ${where} over SSH: ${r.stderr.trim().split("\n").pop() ?? ""}`, r);
  }
  if (r.code !== 0) throw new HostStepError(`${step} failed on ${where} (exit ${r.code}):\n${r.stderr.trim()}`, r);
  return r;
}

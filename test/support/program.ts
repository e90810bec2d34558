/** Runs the real program under the mock runtime for a committed stack, with extra config. */
import * as path from "node:path";
import type { ProgramRun, RecordedOptions, RecordedResource } from "../../scripts/mockRuntime/harness";

export const ROOT = path.resolve(__dirname, "..", "..");
/** A recognisable fake API key: tests assert it never appears where secrets must not. */
export const SAPTIVA_KEY = "sk-test-saptiva-key-0123456789abcdefghijklmnop";

export async function runStack(stack: string, config: string[] = [], secrets: string[] = [], dir = ROOT): Promise<ProgramRun> {
  // A fresh SDK per run: the program is required again under new mocks.
  jest.resetModules();
  const { runProgram } = await import("../../scripts/mockRuntime/harness");
  const { loadStackConfig } = await import("../../scripts/stack/stackConfig");
  const input = loadStackConfig({ stack, dir, config, secrets: [`copilotos:saptivaApiKey=${SAPTIVA_KEY}`, ...secrets] });
  return runProgram({ stack, config: input.config, secretKeys: input.secretKeys, secretPaths: input.secretPaths });
}

export const ofType = (run: ProgramRun, type: string): RecordedResource[] => run.resources.filter((r) => r.type === type);
export const CONTAINER = "docker:index/container:Container";
export const VOLUME = "docker:index/volume:Volume";
export const NETWORK = "docker:index/network:Network";
export const PASSWORD = "random:index/randomPassword:RandomPassword";

export function containerOf(run: ProgramRun, service: string): RecordedResource {
  const found = ofType(run, CONTAINER).find((c) =>
    (c.inputs.labels as { label: string; value: string }[]).some((l) => l.label === "copilotos.service" && l.value === service),
  );
  if (!found) throw new Error(`no ${service} container`);
  return found;
}

export function uploadOf(c: RecordedResource, file: string): string {
  const u = (c.inputs.uploads as { file: string; content: string }[]).find((x) => x.file === file);
  if (!u) throw new Error(`${c.name} has no upload ${file}`);
  return u.content;
}

type Mount = { volumeName: string; containerPath: string; readOnly?: boolean };
const mountsOf = (c: RecordedResource) => (c.inputs.volumes as Mount[] | undefined) ?? [];
/** `w` is a files writer that fills what `m` mounts: never started, mounting that volume writable at that folder. */
const fills = (w: RecordedResource, m: Mount) =>
  w.inputs.start === false && mountsOf(w).some((v) => v.volumeName === m.volumeName && v.containerPath === m.containerPath && v.readOnly !== true);

/**
 * The files writer (components/services/serviceFiles.ts) that fills the volume `c` mounts at
 * `folder`: created, never started, mounting that same volume at that folder. Throws naming what is
 * missing, and when `c` mounts it writable.
 */
export function writerOf(run: ProgramRun, c: RecordedResource, folder: string): RecordedResource {
  const mount = mountsOf(c).find((v) => v.containerPath === folder);
  if (!mount) throw new Error(`${c.name} mounts nothing at ${folder}`);
  if (mount.readOnly !== true) throw new Error(`${c.name} mounts ${mount.volumeName} at ${folder} writable`);
  const writer = ofType(run, CONTAINER).find((w) => fills(w, mount));
  if (!writer) throw new Error(`no files writer fills ${mount.volumeName}, which ${c.name} mounts at ${folder}`);
  return writer;
}

/** `file` as container `c` reads it: from the volume it mounts at the file's folder, as its writer copied it in. */
export function fileOf(run: ProgramRun, c: RecordedResource, file: string): string {
  return uploadOf(writerOf(run, c, path.posix.dirname(file)), file);
}

/** Every file `c` reads from volumes a writer filled: their paths, sorted. */
export function filesOf(run: ProgramRun, c: RecordedResource): string[] {
  return mountsOf(c)
    .flatMap((m) =>
      ofType(run, CONTAINER)
        .filter((w) => fills(w, m))
        .map((w) => [w, m] as const),
    )
    .flatMap(([w, m]) => ((w.inputs.uploads as { file: string }[]) ?? []).map((u) => u.file).filter((f) => path.posix.dirname(f) === m.containerPath))
    .sort();
}

/** The off-host repository's files as the program writes them (its step's secret stdin, `<name> <base64>` a line): name → content. */
export function offsiteFilesOf(run: ProgramRun): Record<string, string> {
  const files = run.resources.find((r) => r.name === "copilotos-offsite-files");
  if (!files) throw new Error("no copilotos-offsite-files step");
  return Object.fromEntries(
    String(files.inputs.stdin)
      .trim()
      .split("\n")
      .map((l) => l.split(" "))
      .map(([name, b64]) => [name, Buffer.from(b64, "base64").toString()]),
  );
}

/** The committed stacks' pinned host key: a real ed25519 key line. */
export const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC14sYWFiDHgTKJ0Qp2N7SZUdlgOt/qxwjm5T3A8C1kT";
/** The aws fixture's deploy key (public half, with its comment). */
export const DEPLOY_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBmQW0kRKl3lQvIEmg5pUO3dXRFKtt0n8PSfJ1l8Hk3T deploy";
/** Minimal valid `host` blocks of each remote kind. */
export const SSH_HOST = { kind: "ssh", address: "203.0.113.10", user: "deploy", hostKey: HOST_KEY };
export const SWARM_HOST = {
  kind: "swarm",
  address: "203.0.113.20",
  user: "deploy",
  hostKey: HOST_KEY,
  nodes: [{ name: "node-1", role: "manager" }],
  dataNode: "node-1",
};
export const AWS_HOST = { kind: "aws", region: "eu-west-1", availabilityZone: "eu-west-1a", publicKey: DEPLOY_PUBLIC_KEY, sshCidrs: ["203.0.113.7/32"] };

/** `npm run check` in-process, on a fresh copy of the modules (the SDK keeps one program per load). */
export async function check(...argv: string[]): Promise<import("../../scripts/check").CheckResult> {
  jest.resetModules();
  return (await import("../../scripts/check")).check(argv);
}

/** A hand-made resource as the harness records one (for the executor's small graphs). */
export function recorded(
  type: string,
  name: string,
  inputs: Record<string, unknown> = {},
  opts: Partial<RecordedOptions> = {},
  deps: string[] = [],
): RecordedResource {
  return {
    type,
    name,
    id: `${name}-id`,
    urn: `urn:pulumi:t::p::${type}::${name}`,
    inputs,
    secretPaths: [],
    opts: { protect: false, retainOnDelete: false, dependsOn: [], ...opts },
    deps,
  };
}

/** A program run of just these resources. */
export function graphOf(...resources: RecordedResource[]): ProgramRun {
  return { resources, invokes: [], outputs: {}, secretValues: new Set(), passwords: {}, unknowns: new Map() };
}

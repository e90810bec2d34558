/**
 * Registry-less image delivery, the I/O half: `docker save` on the deploy machine, streamed over
 * SSH into `docker load` on the host, with the layers the host already has left out. No temporary
 * file on either side. The pure half (chain IDs, scripts) is components/renderers/delivery.ts.
 */
import { spawn } from "node:child_process";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import * as tar from "tar-stream";
import {
  chainIds,
  hostInventoryScript,
  hostLoadScript,
  layersToOmit,
  parseInventory,
  PARTIAL_REFUSED_EXIT,
  retagManifest,
  SaveManifestEntry,
} from "../../components/renderers/delivery";
import { describeTarget, HostTarget, runHostStep, runLocal, spawnOnHost } from "./hostExec";

export interface DeliverOptions {
  /** Image in the deploy machine's engine: a reference or an ID. */
  image: string;
  /** Tag it gets on the host, e.g. `copilotos-staging-api:1a2b3c4`. */
  tag: string;
  target: HostTarget;
  /** gzip the stream (level 1). @default false */
  compress?: boolean;
  /** Receives progress lines. @default no output */
  progress?: (line: string) => void;
  /** Seconds between progress lines. @default 1 */
  progressIntervalSeconds?: number;
  /** Aborts the transfer (both ends are killed; the host keeps no partial image). */
  signal?: AbortSignal;
}

export interface DeliverResult {
  imageId: string;
  /** unchanged: the host had the image; partial: layers left out; full: whole archive. */
  mode: "unchanged" | "partial" | "full";
  /** Bytes written into the SSH stream. */
  sentBytes: number;
  omittedLayers: number;
  /** Why a partial delivery became a full one. */
  fallback?: string;
}

export class DeliveryError extends Error {
  override name = "DeliveryError";
}

interface LocalImage {
  id: string;
  size: number;
  diffIds: string[];
}

/** The image in the local engine; refuses a missing or empty one (the post-mortem's empty tar). */
export async function inspectLocal(image: string): Promise<LocalImage> {
  const r = await runLocal("docker", ["image", "inspect", "--format", "{{json .Id}} {{json .Size}} {{json .RootFS.Layers}}", image]);
  if (r.code !== 0) {
    throw new DeliveryError(`image ${image} is not in the local Docker engine (build or load it first): ${r.stderr.trim()}`);
  }
  const [id, size, layers] = r.stdout
    .trim()
    .split(" ")
    .map((s) => JSON.parse(s) as unknown);
  const diffIds = (layers as string[] | null) ?? [];
  if (!(Number(size) > 0) || diffIds.length === 0) {
    throw new DeliveryError(`image ${image} is empty (${Number(size)} bytes, ${diffIds.length} layers); refusing to send it`);
  }
  return { id: String(id), size: Number(size), diffIds };
}

/** Sends `image` to the host as `tag`, sending only what the host lacks; verifies the ID there. */
export async function deliverImage(opts: DeliverOptions): Promise<DeliverResult> {
  const local = await inspectLocal(opts.image);
  const where = describeTarget(opts.target);
  const inv = await runHostStep(opts.target, `listing the images for ${opts.tag}`, hostInventoryScript(local.id, opts.tag));
  const inventory = parseInventory(inv.stdout);
  if (inventory.present) {
    opts.progress?.(`deliver ${opts.tag}: ${where} already has ${local.id.slice(0, 19)}; nothing sent`);
    return { imageId: local.id, mode: "unchanged", sentBytes: 0, omittedLayers: 0 };
  }

  let omit = new Set<string>();
  let total = local.size;
  if (chainIds(local.diffIds).some((c) => inventory.chains.has(c))) {
    const layout = await scanArchive(opts.image);
    omit = new Set(layersToOmit(layout.manifest[0], local.diffIds, inventory.chains));
    total = layout.sizes.reduce((sum, [name, size]) => (omit.has(name) ? sum : sum + size), 0);
  }
  try {
    const sentBytes = await stream(opts, local.id, omit, total);
    return { imageId: local.id, mode: omit.size ? "partial" : "full", sentBytes, omittedLayers: omit.size };
  } catch (e) {
    if (!(e instanceof PartialRefused)) throw e;
    const fallback = `the engine on ${where} refused an archive with ${omit.size} layer(s) left out; sent the full archive`;
    opts.progress?.(`deliver ${opts.tag}: ${fallback}`);
    const sentBytes = await stream(opts, local.id, new Set(), local.size);
    return { imageId: local.id, mode: "full", sentBytes, omittedLayers: 0, fallback };
  }
}

class PartialRefused extends Error {}

/** First pass: the archive's manifest and entry sizes, reading past the layer data. */
async function scanArchive(image: string): Promise<{ manifest: SaveManifestEntry[]; sizes: [string, number][] }> {
  const save = spawn("docker", ["save", image], { stdio: ["ignore", "pipe", "pipe"] });
  const extract = tar.extract();
  const done = pipeline(save.stdout, extract);
  done.catch(() => undefined); // awaited below
  let manifest: SaveManifestEntry[] | undefined;
  const sizes: [string, number][] = [];
  for await (const entry of extract) {
    sizes.push([entry.header.name, entry.header.size ?? 0]);
    if (entry.header.name === "manifest.json") manifest = JSON.parse((await readAll(entry)).toString()) as SaveManifestEntry[];
    else entry.resume();
  }
  await done;
  if (!manifest) throw new DeliveryError(`docker save ${image} produced no manifest.json`);
  return { manifest, sizes };
}

async function readAll(r: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of r) parts.push(b as Buffer);
  return Buffer.concat(parts);
}

/** ssh's own exit status when the connection fails or drops (the remote command's status otherwise). */
const SSH_FAILED = 255;

/** Second pass: save → filter/retag → [gzip] → count → ssh docker load. Returns bytes sent. */
async function stream(opts: DeliverOptions, imageId: string, omit: Set<string>, total: number): Promise<number> {
  const save = spawn("docker", ["save", opts.image], { stdio: ["ignore", "pipe", "pipe"] });
  const load = spawnOnHost(opts.target, hostLoadScript(opts.tag, imageId));
  let loadErr = "";
  load.stderr.on("data", (b: Buffer) => (loadErr += b.toString()));
  load.stdout.resume();
  const loadExit = new Promise<number>((resolve) => load.on("close", (code) => resolve(code ?? 1)));
  const abort = () => {
    load.stdin.destroy();
    save.kill("SIGKILL");
    load.kill("SIGKILL");
  };
  opts.signal?.addEventListener("abort", abort, { once: true });

  let sent = 0;
  let lastReport = Date.now();
  const interval = (opts.progressIntervalSeconds ?? 1) * 1000;
  const report = () =>
    opts.progress?.(`deliver ${opts.tag}: ${mb(sent)} of ~${mb(total)} sent (${total ? Math.min(100, Math.round((100 * sent) / total)) : 100}%)`);
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      sent += chunk.length;
      if (Date.now() - lastReport >= interval) {
        lastReport = Date.now();
        report();
      }
      cb(null, chunk);
    },
  });

  const pack = tar.pack();
  const filtering = filter(save.stdout, pack, omit, opts.tag);
  const stages: NodeJS.ReadWriteStream[] = opts.compress ? [createGzip({ level: 1 }), counter] : [counter];
  // A dead ssh makes late writes fail with EPIPE; its exit status is what gets reported.
  load.stdin.on("error", () => undefined);
  const sending = (pipeline as (...s: unknown[]) => Promise<void>)(pack, ...stages, load.stdin).catch((e: Error) => e);
  const filtered = await filtering.catch((e: Error) => e);
  const sendResult = await sending;
  const code = await loadExit;
  opts.signal?.removeEventListener("abort", abort);
  if (opts.signal?.aborted) throw new DeliveryError(`delivery of ${opts.tag} aborted after ${sent} bytes`);
  if (code === PARTIAL_REFUSED_EXIT) throw new PartialRefused(loadErr.trim());
  if (code === SSH_FAILED) {
    save.kill();
    const why = loadErr.trim() ? ` (ssh: ${loadErr.trim().split("\n").at(-1)})` : "";
    throw new DeliveryError(
      `the SSH connection to ${describeTarget(opts.target)} dropped after ${sent} bytes of ${opts.tag}${why}; ` +
        "nothing was tagged on the host (a cut stream fails inside docker load); run the delivery again (pulumi up) once the host answers",
    );
  }
  if (code !== 0) {
    save.kill();
    throw new DeliveryError(`loading ${opts.tag} on ${describeTarget(opts.target)} failed (exit ${code}): ${loadErr.trim() || String(sendResult)}`);
  }
  if (filtered instanceof Error) throw new DeliveryError(`docker save ${opts.image} failed: ${filtered.message}`);
  report();
  return sent;
}

async function filter(source: Readable, pack: tar.Pack, omit: Set<string>, tag: string): Promise<void> {
  const extract = tar.extract();
  const reading = pipeline(source, extract);
  reading.catch(() => undefined); // awaited below; this only keeps an early exit from leaving it unhandled
  try {
    for await (const entry of extract) {
      const h = entry.header;
      if (omit.has(h.name) || h.name === "repositories") {
        entry.resume();
      } else if (h.name === "manifest.json") {
        const manifest = retagManifest(JSON.parse((await readAll(entry)).toString()) as SaveManifestEntry[], tag);
        await new Promise<void>((res, rej) => pack.entry({ ...h }, JSON.stringify(manifest), (e) => (e ? rej(e) : res())));
      } else {
        await pipeline(entry, pack.entry({ ...h }));
      }
    }
    await reading;
    pack.finalize();
  } catch (e) {
    pack.destroy(e as Error);
    throw e;
  }
}

function mb(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

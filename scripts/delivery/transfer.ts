/**
 * Registry-less image delivery, the I/O half: an archive of the image, streamed over SSH into
 * `docker load` on the host, with the layers the host already has left out. The archive is built
 * from the local engine's layer store, reading only the layers that are sent (layerStore.ts), or,
 * where that store cannot be read, rewritten from `docker save` (saveArchive.ts). No temporary
 * file on either side. The pure half (chain IDs, scripts) is components/renderers/services/delivery.ts.
 */
import { Transform } from "node:stream";
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
} from "../../components/renderers/services/delivery";
import { describeTarget, HostTarget, runHostStep, runLocal, spawnOnHost } from "../stack/hostExec";
import { openStoreImage, StoreImage, storeArchiveBytes, StoreUnavailable, writeStoreArchive } from "./layerStore";
import {
  ArchiveLayout,
  defaultLayerMapFile,
  filterArchive,
  learnLayers,
  omitFromMap,
  readLayerMap,
  SaveFailed,
  scanArchive,
  spawnSave,
  writeLayerMap,
} from "./saveArchive";

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
  /** Read layers straight from the local engine's store when it can be read; false: always through `docker save`. @default true */
  readStore?: boolean;
  /** Where the names of `docker save`'s layer entries are kept between deliveries. @default `$XDG_CACHE_HOME/copilotos/save-layers.json` */
  layerMapFile?: string;
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
  /** Where the image was read: straight from the local engine's layer store, or through `docker save`. */
  source?: "store" | "save";
  /** Why the layer store could not be read (then `source` is `save`). */
  storeSkipped?: string;
  /** Through `docker save`: how many times it read the whole image (1, or 2 with a layout pass first). */
  savePasses?: number;
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
  const hostHas = chainIds(local.diffIds).map((c) => inventory.chains.has(c));
  if (opts.readStore === false) return fromSave(opts, local, hostHas, where);
  try {
    return await fromStore(opts, await openStoreImage(local.id, local.diffIds), hostHas, where);
  } catch (e) {
    if (!(e instanceof StoreUnavailable)) throw e;
    opts.progress?.(`deliver ${opts.tag}: reading the image through docker save: ${e.message}`);
    return { ...(await fromSave(opts, local, hostHas, where)), storeSkipped: e.message };
  }
}

/** Layers straight from the local engine's store: only those the host lacks are read. */
async function fromStore(opts: DeliverOptions, image: StoreImage, hostHas: boolean[], where: string): Promise<DeliverResult> {
  const omit = new Set(hostHas.flatMap((has, i) => (has ? [i] : [])));
  const send = (o: Set<number>) => sendArchive(opts, image.id, (pack) => writeStoreArchive(pack, image, o, opts.tag), storeArchiveBytes(image, o), true);
  const base = { imageId: image.id, source: "store" as const };
  try {
    return { ...base, mode: omit.size ? "partial" : "full", sentBytes: await send(omit), omittedLayers: omit.size };
  } catch (e) {
    if (!(e instanceof PartialRefused)) throw e;
    const fallback = refusedMessage(opts, where, omit.size);
    return { ...base, mode: "full", sentBytes: await send(new Set()), omittedLayers: 0, fallback };
  }
}

/**
 * Through `docker save`, which stages the whole image before it streams. One pass when the host has
 * none of the layers, or when earlier passes named every layer it has ({@link LayerMap}); otherwise
 * a layout pass first. Each pass teaches the map this archive's layer names.
 */
async function fromSave(opts: DeliverOptions, local: LocalImage, hostHas: boolean[], where: string): Promise<DeliverResult> {
  const chains = chainIds(local.diffIds);
  const mapFile = opts.layerMapFile ?? defaultLayerMapFile();
  let map = readLayerMap(mapFile);
  const learn = (layout: ArchiveLayout) => {
    map = learnLayers(map, layout.manifest[0]?.Layers ?? [], chains, new Map(layout.sizes));
    return layout;
  };
  let passes = 0;
  let omitted = 0; // entries the last pass really left out (a stale map entry names none)
  let omit: Set<string>;
  let total: number;
  const known = hostHas.some(Boolean) ? omitFromMap(map, chains, hostHas) : { names: new Set<string>(), bytes: 0 };
  if (known) {
    omit = known.names;
    total = Math.max(0, local.size - known.bytes);
  } else {
    const layout = await scanArchive(opts.image).catch(saveError(opts.image));
    passes++;
    learn(layout);
    try {
      omit = new Set(layersToOmit(layout.manifest[0], local.diffIds, new Set(chains.filter((_, i) => hostHas[i]))));
    } catch (e) {
      throw new DeliveryError((e as Error).message); // the archive does not match the image
    }
    total = layout.sizes.reduce((sum, [name, size]) => (omit.has(name) ? sum : sum + size), 0);
  }
  const send = (o: Set<string>, t: number) => {
    passes++;
    return sendArchive(
      opts,
      local.id,
      async (pack) => {
        const save = spawnSave(opts.image);
        let saveErr = "";
        save.stderr.on("data", (b: Buffer) => (saveErr += b.toString()));
        const closed = new Promise((resolve) => save.on("close", resolve));
        try {
          const layout = learn(await filterArchive(save.stdout, pack, o, opts.tag));
          omitted = layout.sizes.filter(([name]) => o.has(name)).length;
        } catch (e) {
          save.kill();
          await closed;
          // docker save's own failure says so on its stderr; otherwise the host's side cut the stream.
          throw saveErr.trim() ? new SaveFailed(`docker save ${opts.image} failed: ${saveErr.trim()}`) : e;
        }
      },
      t,
      false,
    );
  };
  const base = { imageId: local.id, source: "save" as const };
  try {
    try {
      const sentBytes = await send(omit, total);
      return { ...base, mode: omitted ? "partial" : "full", sentBytes, omittedLayers: omitted, savePasses: passes };
    } catch (e) {
      if (!(e instanceof PartialRefused)) throw e;
      const fallback = refusedMessage(opts, where, omit.size);
      return { ...base, mode: "full", sentBytes: await send(new Set(), local.size), omittedLayers: 0, fallback, savePasses: passes };
    }
  } finally {
    writeLayerMap(mapFile, map);
  }
}

function refusedMessage(opts: DeliverOptions, where: string, omitted: number): string {
  const fallback = `the engine on ${where} refused an archive with ${omitted} layer(s) left out; sent the full archive`;
  opts.progress?.(`deliver ${opts.tag}: ${fallback}`);
  return fallback;
}

const saveError = (image: string) => (e: Error) => {
  throw new DeliveryError(`docker save ${image} failed: ${e.message}`);
};

class PartialRefused extends Error {}

/** ssh's own exit status when the connection fails or drops (the remote command's status otherwise). */
const SSH_FAILED = 255;

/**
 * Streams the archive `produce` writes → [gzip] → count → ssh docker load, with progress (bytes of
 * `total`, and the time). Returns bytes sent. A producer's failure cuts the stream, so the host's
 * `docker load` fails and tags nothing; the producer's error is what is thrown.
 */
async function sendArchive(opts: DeliverOptions, imageId: string, produce: (pack: tar.Pack) => Promise<void>, total: number, exact: boolean): Promise<number> {
  const load = spawnOnHost(opts.target, hostLoadScript(opts.tag, imageId));
  let loadErr = "";
  load.stderr.on("data", (b: Buffer) => (loadErr += b.toString()));
  load.stdout.resume();
  const loadExit = new Promise<number>((resolve) => load.on("close", (code) => resolve(code ?? 1)));
  const abort = () => {
    load.stdin.destroy();
    load.kill("SIGKILL");
  };
  opts.signal?.addEventListener("abort", abort, { once: true });

  const started = Date.now();
  let sent = 0;
  let lastReport = started;
  const interval = (opts.progressIntervalSeconds ?? 1) * 1000;
  const report = () => {
    const pct = total ? Math.min(100, Math.round((100 * sent) / total)) : 100;
    opts.progress?.(`deliver ${opts.tag}: ${mb(sent)} of ${exact ? "" : "~"}${mb(total)} sent (${pct}%, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  };
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
  const producing = produce(pack).catch((e: Error) => {
    pack.destroy(e);
    abort();
    return e;
  });
  const stages: NodeJS.ReadWriteStream[] = opts.compress ? [createGzip({ level: 1 }), counter] : [counter];
  // A dead ssh makes late writes fail with EPIPE; its exit status is what gets reported.
  load.stdin.on("error", () => undefined);
  const sending = (pipeline as (...s: unknown[]) => Promise<void>)(pack, ...stages, load.stdin).catch((e: Error) => e);
  const produced = await producing;
  const sendResult = await sending;
  const code = await loadExit;
  opts.signal?.removeEventListener("abort", abort);
  if (opts.signal?.aborted) throw new DeliveryError(`delivery of ${opts.tag} aborted after ${sent} bytes`);
  // The host's side first: a dropped connection or a refusal explains a producer cut off by it.
  if (code === SSH_FAILED) {
    const why = loadErr.trim() ? ` (ssh: ${loadErr.trim().split("\n").at(-1)})` : "";
    throw new DeliveryError(
      `the SSH connection to ${describeTarget(opts.target)} dropped after ${sent} bytes of ${opts.tag}${why}; ` +
        "nothing was tagged on the host (a cut stream fails inside docker load); run the delivery again (pulumi up) once the host answers",
    );
  }
  if (produced instanceof StoreUnavailable) throw produced;
  if (code === PARTIAL_REFUSED_EXIT) throw new PartialRefused(loadErr.trim());
  if (produced instanceof SaveFailed) throw new DeliveryError(produced.message);
  if (code !== 0)
    throw new DeliveryError(`loading ${opts.tag} on ${describeTarget(opts.target)} failed (exit ${code}): ${loadErr.trim() || String(sendResult)}`);
  if (produced instanceof Error) throw new DeliveryError(produced.message);
  report();
  return sent;
}

function mb(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

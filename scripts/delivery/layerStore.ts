/**
 * An image read straight from the deploy machine's engine store (the overlay2 graph driver), so a
 * delivery reads only the layers the host lacks. `docker save` cannot do that: Docker 20.10 first
 * writes the whole image into a temporary directory, then streams it (about 3 s for 320 MB here,
 * before the first byte), however little of it the host needs.
 *
 * Everything read is checked against its content address: the config's sha256 must be the image ID
 * and each layer tar's sha256 its diff ID, or the archive is cut off and the delivery reads through
 * `docker save` instead ({@link StoreUnavailable}). Where the store cannot be read (another graph
 * driver, a remote engine, Docker Desktop's VM, a user without read access to the data root) the
 * same fallback applies, and the message says why.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { gunzipSync } from "node:zlib";
import type * as tar from "tar-stream";
import { chainIds, retagManifest } from "../../components/renderers/services/delivery";
import { runLocal } from "../stack/hostExec";
import { insideLayer, parseTarSplit, tarSize, TarSplitEntry } from "./tarSplit";

/** The store cannot serve this image; the caller reads through `docker save`. */
export class StoreUnavailable extends Error {
  override name = "StoreUnavailable";
}

export interface StoreImage {
  id: string;
  /** The image config's exact bytes (their sha256 is `id`). */
  config: Buffer;
  chains: string[];
  diffIds: string[];
  /** Where the engine keeps it, for messages. */
  root: string;
}

const hex = (digest: string) => digest.replace(/^sha256:/, "");

/** Where the local engine keeps its data and with which graph driver (`docker info`). */
export async function localEngineStore(): Promise<{ root: string; driver: string }> {
  const info = await runLocal("docker", ["info", "--format", "{{json .DockerRootDir}} {{json .Driver}}"]);
  if (info.code !== 0) throw new StoreUnavailable(`docker info failed: ${info.stderr.trim()}`);
  const [root, driver] = info.stdout
    .trim()
    .split(" ")
    .map((s) => JSON.parse(s) as string);
  return { root, driver };
}

/**
 * Locates the image in the engine's store; throws {@link StoreUnavailable} saying why it cannot be used.
 * @param engine the store to read. @default the local engine's ({@link localEngineStore})
 */
export async function openStoreImage(imageId: string, diffIds: string[], engine?: { root: string; driver: string }): Promise<StoreImage> {
  const { root, driver } = engine ?? (await localEngineStore());
  if (driver !== "overlay2") throw new StoreUnavailable(`the local engine's storage driver is ${driver}, not overlay2`);
  const configFile = path.join(root, "image", "overlay2", "imagedb", "content", "sha256", hex(imageId));
  let config: Buffer;
  try {
    config = fs.readFileSync(configFile);
  } catch (e) {
    throw new StoreUnavailable(`cannot read the engine's store at ${root} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  if (`sha256:${createHash("sha256").update(config).digest("hex")}` !== imageId) {
    throw new StoreUnavailable(`the config in ${root} is not image ${imageId} (is the engine remote?)`);
  }
  return { id: imageId, config, chains: chainIds(diffIds), diffIds, root };
}

/** One layer's tar: its size (exact, from the metadata) and its entries, read only when asked for. */
export function storeLayer(image: StoreImage, index: number): StoreLayer {
  const known = read.get(image)?.get(index);
  if (known) return known;
  const layer = readLayer(image, index);
  read.set(image, (read.get(image) ?? new Map<number, StoreLayer>()).set(index, layer));
  return layer;
}

interface StoreLayer {
  /** The tar's exact length. */
  size: number;
  entries: TarSplitEntry[];
  /** The unpacked layer the files are read from. */
  dir: string;
}

const read = new WeakMap<StoreImage, Map<number, StoreLayer>>();

function readLayer(image: StoreImage, index: number): StoreLayer {
  const layerDir = path.join(image.root, "image", "overlay2", "layerdb", "sha256", hex(image.chains[index]));
  try {
    const diff = fs.readFileSync(path.join(layerDir, "diff"), "utf8").trim();
    if (diff !== image.diffIds[index]) throw new StoreUnavailable(`layer ${index + 1} in ${layerDir} has diff ${diff}, not ${image.diffIds[index]}`);
    const cacheId = fs.readFileSync(path.join(layerDir, "cache-id"), "utf8").trim();
    const entries = parseTarSplit(gunzipSync(fs.readFileSync(path.join(layerDir, "tar-split.json.gz"))).toString());
    return { size: tarSize(entries), entries, dir: path.join(image.root, "overlay2", insideLayer(cacheId), "diff") };
  } catch (e) {
    if (e instanceof StoreUnavailable) throw e;
    throw new StoreUnavailable(`cannot read layer ${index + 1} of ${image.id.slice(0, 19)} from ${layerDir}: ${(e as Error).message}`);
  }
}

/** The layer's tar bytes, rebuilt from its metadata and files; fails unless their sha256 is `diffId`. */
export async function* layerBytes(entries: TarSplitEntry[], dir: string, diffId: string): AsyncGenerator<Buffer> {
  const hash = createHash("sha256");
  for (const e of entries) {
    if (e.kind === "segment") {
      hash.update(e.bytes);
      yield e.bytes;
      continue;
    }
    if (e.size === 0) continue;
    let read = 0;
    try {
      for await (const chunk of fs.createReadStream(path.join(dir, insideLayer(e.name)), { start: 0, end: e.size - 1 })) {
        read += (chunk as Buffer).length;
        hash.update(chunk as Buffer);
        yield chunk as Buffer;
      }
    } catch (err) {
      throw new StoreUnavailable(`cannot read ${e.name} of layer ${diffId.slice(0, 19)}: ${(err as Error).message}`);
    }
    if (read !== e.size) throw new StoreUnavailable(`${e.name} of layer ${diffId.slice(0, 19)} has ${read} bytes, its metadata says ${e.size}`);
  }
  const got = `sha256:${hash.digest("hex")}`;
  if (got !== diffId) throw new StoreUnavailable(`layer rebuilt from the store hashes to ${got.slice(0, 19)}, not ${diffId.slice(0, 19)}`);
}

/** Archive path of layer `index` in the archives this module writes. */
export const storeLayerPath = (image: StoreImage, index: number) => `${hex(image.chains[index])}/layer.tar`;

/**
 * Writes a `docker load` archive of `image`, tagged `tag`, into `pack`: the config, every layer whose
 * index is not in `omit`, and a manifest naming all of them (the host has the omitted ones).
 */
export async function writeStoreArchive(pack: tar.Pack, image: StoreImage, omit: ReadonlySet<number>, tag: string): Promise<void> {
  try {
    const configName = `${hex(image.id)}.json`;
    await entry(pack, { name: configName, size: image.config.length }, [image.config]);
    for (let i = 0; i < image.chains.length; i++) {
      if (omit.has(i)) continue;
      const layer = storeLayer(image, i);
      await entry(pack, { name: storeLayerPath(image, i), size: layer.size }, layerBytes(layer.entries, layer.dir, image.diffIds[i]));
    }
    const layers = image.chains.map((_, i) => storeLayerPath(image, i));
    const manifest = Buffer.from(JSON.stringify(retagManifest([{ Config: configName, RepoTags: null, Layers: layers }], tag)));
    await entry(pack, { name: "manifest.json", size: manifest.length }, [manifest]);
    pack.finalize();
  } catch (e) {
    pack.destroy(e as Error); // the archive ends unfinished: `docker load` fails on it and tags nothing
    throw e;
  }
}

/** Bytes the archive's layers need, for progress: the layers that are sent, exactly. */
export function storeArchiveBytes(image: StoreImage, omit: ReadonlySet<number>): number {
  return image.chains.reduce((sum, _, i) => (omit.has(i) ? sum : sum + storeLayer(image, i).size), image.config.length);
}

function entry(pack: tar.Pack, header: { name: string; size: number }, chunks: Iterable<Buffer> | AsyncIterable<Buffer>): Promise<void> {
  return pipeline(Readable.from(chunks, { objectMode: false }), pack.entry({ ...header, mode: 0o644, mtime: new Date(0) }));
}

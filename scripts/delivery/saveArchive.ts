/**
 * The `docker save` side of a delivery, used where the engine's store cannot be read
 * (scripts/delivery/layerStore.ts): the archive's layout from one pass, and the archive rewritten on the
 * fly for the host (layers it has left out, tagged only as the stack's tag).
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as tar from "tar-stream";
import { retagManifest, SaveManifestEntry } from "../../components/renderers/services/delivery";

export class SaveFailed extends Error {
  override name = "SaveFailed";
}

export function spawnSave(image: string): ChildProcessByStdio<null, Readable, Readable> {
  return spawn("docker", ["save", image], { stdio: ["ignore", "pipe", "pipe"] });
}

export interface ArchiveLayout {
  manifest: SaveManifestEntry[];
  /** Every entry's name and size, in the archive's order. */
  sizes: [string, number][];
}

/** A pass over the archive for its manifest and entry sizes, reading past the layer data. */
export async function scanArchive(image: string): Promise<ArchiveLayout> {
  const save = spawnSave(image);
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
  if (!manifest) throw new SaveFailed(`docker save ${image} produced no manifest.json`);
  return { manifest, sizes };
}

/**
 * Copies the archive from `source` into `pack` without the `omit` entries, tagged only as `tag`;
 * returns its layout (the manifest and every entry's size), as a layout pass would.
 */
export async function filterArchive(source: Readable, pack: tar.Pack, omit: ReadonlySet<string>, tag: string): Promise<ArchiveLayout> {
  const extract = tar.extract();
  const reading = pipeline(source, extract);
  reading.catch(() => undefined); // awaited below; this only keeps an early exit from leaving it unhandled
  let original: SaveManifestEntry[] | undefined;
  const sizes: [string, number][] = [];
  for await (const entry of extract) {
    const h = entry.header;
    sizes.push([h.name, h.size ?? 0]);
    if (omit.has(h.name) || h.name === "repositories") {
      entry.resume();
    } else if (h.name === "manifest.json") {
      original = JSON.parse((await readAll(entry)).toString()) as SaveManifestEntry[];
      const manifest = retagManifest(original, tag);
      await new Promise<void>((res, rej) => pack.entry({ ...h }, JSON.stringify(manifest), (e) => (e ? rej(e) : res())));
    } else {
      await pipeline(entry, pack.entry({ ...h }));
    }
  }
  await reading;
  if (!original) throw new SaveFailed("the archive has no manifest.json");
  pack.finalize();
  return { manifest: original, sizes };
}

async function readAll(r: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of r) parts.push(b as Buffer);
  return Buffer.concat(parts);
}

/**
 * What earlier passes learned about `docker save`'s archives: entry name → the layer's chain ID and
 * the entry's size. Docker names a layer below the top the same in every image that has it (its
 * legacy v1 ID is a hash of the chain and the parent's ID; newer engines name it by its digest),
 * so a code-only update can leave out the base layers while its single pass streams. A wrong entry
 * costs nothing but time: the host refuses the archive and gets the full one.
 */
export type LayerMap = Record<string, { chain: string; size: number }>;

/** Entries kept in the map (newest first win); a few hundred images' worth of layers. */
export const LAYER_MAP_LIMIT = 4096;

/** `$XDG_CACHE_HOME/copilotos/save-layers.json` (or `~/.cache/...`). */
export function defaultLayerMapFile(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "copilotos", "save-layers.json");
}

/** The map in `file`; a missing or unreadable file is an empty map (it is only a cache). */
export function readLayerMap(file: string): LayerMap {
  try {
    const m = JSON.parse(fs.readFileSync(file, "utf8")) as unknown;
    return m && typeof m === "object" && !Array.isArray(m) ? (m as LayerMap) : {};
  } catch {
    return {};
  }
}

/** Writes the map atomically (a rename), best effort: a delivery never fails for its cache. */
export function writeLayerMap(file: string, map: LayerMap): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}`;
    fs.writeFileSync(tmp, JSON.stringify(map));
    fs.renameSync(tmp, file);
  } catch {
    // not cached: the next delivery makes a layout pass again
  }
}

/** The map with this archive's layers added (newest last; the oldest beyond the limit dropped). Pure. */
export function learnLayers(map: LayerMap, layers: string[], chains: string[], sizes: ReadonlyMap<string, number>): LayerMap {
  if (layers.length !== chains.length) return map;
  const next: LayerMap = { ...map };
  layers.forEach((name, i) => {
    delete next[name];
    next[name] = { chain: chains[i], size: sizes.get(name) ?? 0 };
  });
  const names = Object.keys(next);
  for (const name of names.slice(0, Math.max(0, names.length - LAYER_MAP_LIMIT))) delete next[name];
  return next;
}

/**
 * Entry names to leave out of this image's archive in one pass: one per layer the host has, or
 * undefined when the map does not name every one of them (then a layout pass is needed). Pure.
 */
export function omitFromMap(map: LayerMap, chains: string[], hostHas: boolean[]): { names: Set<string>; bytes: number } | undefined {
  const byChain = new Map(Object.entries(map).map(([name, v]) => [v.chain, { name, size: v.size }]));
  const names = new Set<string>();
  let bytes = 0;
  for (const [i, chain] of chains.entries()) {
    if (!hostHas[i]) continue;
    const known = byChain.get(chain);
    if (!known) return undefined;
    names.add(known.name);
    bytes += known.size;
  }
  return { names, bytes };
}

/**
 * Reading an image from an engine's layer store without docker (scripts/delivery/tarSplit.ts,
 * layerStore.ts): a store laid out in a temporary directory exactly as Docker's overlay2 keeps it.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import { gzipSync } from "node:zlib";
import * as tar from "tar-stream";
import { chainIds } from "../components/renderers/services/delivery";
import { layerBytes, openStoreImage, StoreImage, storeArchiveBytes, StoreUnavailable, writeStoreArchive } from "../scripts/delivery/layerStore";
import { insideLayer, parseTarSplit, tarSize } from "../scripts/delivery/tarSplit";

const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const b64 = (s: string | Buffer) => Buffer.from(s).toString("base64");

/** A one-file tar (`./app/code.txt`), and its tar-split: header segment, the file, the padding and end. */
async function oneFileTar(content: string): Promise<{ tarBytes: Buffer; split: string }> {
  const pack = tar.pack();
  pack.entry({ name: "./app/code.txt", mode: 0o644, mtime: new Date(0) }, content);
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const b of pack) parts.push(b as Buffer);
  const tarBytes = Buffer.concat(parts);
  const n = Buffer.byteLength(content);
  const split = [
    JSON.stringify({ type: 2, payload: b64(tarBytes.subarray(0, 512)), position: 0 }),
    JSON.stringify({ type: 1, name: "./app/code.txt", size: n, payload: null, position: 1 }),
    JSON.stringify({ type: 2, payload: b64(tarBytes.subarray(512 + n)), position: 2 }),
  ].join("\n");
  return { tarBytes, split };
}

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of chunks) parts.push(b);
  return Buffer.concat(parts);
}

describe("tar-split metadata", () => {
  test("segments, files and their sizes are read as written; a directory's file entry has no size", () => {
    const text = [
      JSON.stringify({ type: 2, payload: b64("HDR"), position: 0 }),
      JSON.stringify({ type: 1, name: "./", payload: null, position: 1 }),
      JSON.stringify({ type: 1, name: "./bin/sh", size: 7, payload: "AAAAAAAAAAA=", position: 2 }),
      "",
    ].join("\n");
    const entries = parseTarSplit(text);
    expect(entries).toEqual([
      { kind: "segment", bytes: Buffer.from("HDR") },
      { kind: "file", name: "./", size: 0 },
      { kind: "file", name: "./bin/sh", size: 7 },
    ]);
    expect(tarSize(entries)).toBe(10);
  });

  test.each([
    [{ type: 3, payload: null }, "tar-split line 1: unknown entry type 3"],
    [{ type: 1, name: "./../../etc/shadow", size: 5 }, 'tar-split line 1: file name "./../../etc/shadow" leaves the layer\'s directory'],
    [{ type: 1, name: "/etc/shadow", size: 5 }, 'tar-split line 1: file name "/etc/shadow" leaves the layer\'s directory'],
    [{ type: 1, name_raw: b64("\xff"), size: 5 }, "tar-split line 1: a file name that is not UTF-8 (not read here)"],
    [{ type: 1, name: "./a", size: -1 }, "tar-split line 1: bad size -1"],
  ])("refuses %j", (entry, message) => {
    expect(() => parseTarSplit(JSON.stringify(entry))).toThrow(message);
  });

  test("names inside the layer are made relative", () => {
    expect(insideLayer("./usr/bin/x")).toBe("usr/bin/x");
    expect(insideLayer("usr/../etc/x")).toBe("etc/x");
  });
});

describe("a layer rebuilt from its files", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "cpt-layer-"));
    fs.mkdirSync(path.join(dir, "app"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("is the layer's tar byte for byte", async () => {
    const { tarBytes, split } = await oneFileTar("print('v2')\n");
    fs.writeFileSync(path.join(dir, "app", "code.txt"), "print('v2')\n");
    const entries = parseTarSplit(split);
    expect(tarSize(entries)).toBe(tarBytes.length);
    expect((await collect(layerBytes(entries, dir, sha(tarBytes)))).equals(tarBytes)).toBe(true);
  });

  test.each([
    ["a file whose bytes changed", "print('v3')\n", /^layer rebuilt from the store hashes to sha256:[0-9a-f]{12}, not sha256:[0-9a-f]{12}$/],
    ["a file that got shorter", "print(2)\n", /^\.\/app\/code\.txt of layer sha256:[0-9a-f]{12} has 9 bytes, its metadata says 12$/],
    ["a missing file", undefined, /^cannot read \.\/app\/code\.txt of layer sha256:[0-9a-f]{12}: ENOENT/],
  ])("fails on %s", async (_what, onDisk, message) => {
    const { tarBytes, split } = await oneFileTar("print('v2')\n");
    if (onDisk !== undefined) fs.writeFileSync(path.join(dir, "app", "code.txt"), onDisk);
    const err = await collect(layerBytes(parseTarSplit(split), dir, sha(tarBytes))).catch((e: Error) => e);
    expect(err).toBeInstanceOf(StoreUnavailable);
    expect((err as Error).message).toMatch(message);
  });
});

describe("an image in a store laid out like Docker's overlay2", () => {
  let root: string;
  let config: Buffer;
  let diffIds: string[];
  let layerTars: Buffer[];
  beforeEach(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "cpt-store-"));
    layerTars = [];
    diffIds = [];
    for (const [i, content] of ["base\n", "code v2\n"].entries()) {
      const { tarBytes, split } = await oneFileTar(content);
      layerTars.push(tarBytes);
      diffIds.push(sha(tarBytes));
      const cacheId = `cache${i}`;
      fs.mkdirSync(path.join(root, "overlay2", cacheId, "diff", "app"), { recursive: true });
      fs.writeFileSync(path.join(root, "overlay2", cacheId, "diff", "app", "code.txt"), content);
      const chain = chainIds(diffIds)[i].slice("sha256:".length);
      const layerDir = path.join(root, "image", "overlay2", "layerdb", "sha256", chain);
      fs.mkdirSync(layerDir, { recursive: true });
      fs.writeFileSync(path.join(layerDir, "diff"), diffIds[i]);
      fs.writeFileSync(path.join(layerDir, "cache-id"), cacheId);
      fs.writeFileSync(path.join(layerDir, "tar-split.json.gz"), gzipSync(split));
    }
    config = Buffer.from(JSON.stringify({ rootfs: { type: "layers", diff_ids: diffIds } }));
    const contentDir = path.join(root, "image", "overlay2", "imagedb", "content", "sha256");
    fs.mkdirSync(contentDir, { recursive: true });
    fs.writeFileSync(path.join(contentDir, sha(config).slice("sha256:".length)), config);
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  const open = () => openStoreImage(sha(config), diffIds, { root, driver: "overlay2" });

  async function archive(image: StoreImage, omit: Set<number>): Promise<Map<string, Buffer>> {
    const pack = tar.pack();
    const extract = tar.extract();
    const reading = pipeline(pack, extract);
    const writing = writeStoreArchive(pack, image, omit, "copilotos-staging-api:v2");
    writing.catch(() => undefined); // awaited below, or its error ends the extraction first
    reading.catch(() => undefined);
    const out = new Map<string, Buffer>();
    for await (const e of extract) out.set(e.header.name, await collect(e as AsyncIterable<Buffer>));
    await writing;
    await reading;
    return out;
  }

  test("an archive without the layer the host has: the config, the new layer's exact tar, a manifest naming both", async () => {
    const image = await open();
    expect(image.config.equals(config)).toBe(true);
    const [c0, c1] = chainIds(diffIds).map((c) => c.slice("sha256:".length));
    const out = await archive(image, new Set([0]));
    const configName = `${sha(config).slice("sha256:".length)}.json`;
    expect([...out.keys()]).toEqual([configName, `${c1}/layer.tar`, "manifest.json"]);
    expect(out.get(`${c1}/layer.tar`)?.equals(layerTars[1])).toBe(true);
    expect(out.get(configName)?.equals(config)).toBe(true);
    expect(JSON.parse(out.get("manifest.json")!.toString())).toEqual([
      { Config: configName, RepoTags: ["copilotos-staging-api:v2"], Layers: [`${c0}/layer.tar`, `${c1}/layer.tar`] },
    ]);
    expect(storeArchiveBytes(image, new Set([0]))).toBe(config.length + layerTars[1].length);
    expect(storeArchiveBytes(image, new Set())).toBe(config.length + layerTars[0].length + layerTars[1].length);
  });

  test("an omitted layer's files are never read", async () => {
    fs.rmSync(path.join(root, "overlay2", "cache0"), { recursive: true });
    const out = await archive(await open(), new Set([0]));
    expect(out.size).toBe(3);
  });

  test.each([
    ["another graph driver", () => openStoreImage(sha(config), diffIds, { root, driver: "vfs" }), "the local engine's storage driver is vfs, not overlay2"],
    [
      "a store without the image",
      () => openStoreImage(sha(config), diffIds, { root: path.join(root, "nope"), driver: "overlay2" }),
      /^cannot read the engine's store at \/.*\/nope \(ENOENT\)$/,
    ],
    [
      "a config that is another image",
      () => openStoreImage(`sha256:${"0".repeat(64)}`, diffIds, { root, driver: "overlay2" }),
      /^cannot read the engine's store/,
    ],
  ])("refuses %s", async (_what, f, message) => {
    const err = await f().catch((e: Error) => e);
    expect(err).toBeInstanceOf(StoreUnavailable);
    expect((err as Error).message).toMatch(message);
  });

  test("a config whose bytes are not the image ID is refused (e.g. a remote engine with a store path here)", async () => {
    const file = path.join(root, "image", "overlay2", "imagedb", "content", "sha256", sha(config).slice("sha256:".length));
    fs.writeFileSync(file, Buffer.concat([config, Buffer.from(" ")]));
    await expect(open()).rejects.toThrow(`the config in ${root} is not image ${sha(config)} (is the engine remote?)`);
  });

  test("a layer whose metadata names another diff is refused before anything of it is written", async () => {
    const chain = chainIds(diffIds)[1].slice("sha256:".length);
    fs.writeFileSync(path.join(root, "image", "overlay2", "layerdb", "sha256", chain, "diff"), diffIds[0]);
    const err = await archive(await open(), new Set([0])).catch((e: Error) => e);
    expect(err).toBeInstanceOf(StoreUnavailable);
    expect((err as Error).message).toBe(
      `layer 2 in ${path.join(root, "image", "overlay2", "layerdb", "sha256", chain)} has diff ${diffIds[0]}, not ${diffIds[1]}`,
    );
  });
});

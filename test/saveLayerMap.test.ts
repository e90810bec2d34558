/**
 * The map of `docker save`'s layer entry names that lets a code-only update through docker save
 * read the image once (scripts/delivery/saveArchive.ts). Pure, plus the file it is kept in.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LAYER_MAP_LIMIT, learnLayers, omitFromMap, readLayerMap, writeLayerMap } from "../scripts/delivery/saveArchive";

const sizes = new Map([
  ["aaa/layer.tar", 320_000_512],
  ["bbb/layer.tar", 5_001_216],
]);

describe("the layer map", () => {
  test("learns each layer's entry name, chain and size", () => {
    expect(learnLayers({}, ["aaa/layer.tar", "bbb/layer.tar"], ["sha256:c1", "sha256:c2"], sizes)).toEqual({
      "aaa/layer.tar": { chain: "sha256:c1", size: 320_000_512 },
      "bbb/layer.tar": { chain: "sha256:c2", size: 5_001_216 },
    });
  });

  test("learns nothing from a manifest that does not match the image's layers", () => {
    expect(learnLayers({}, ["aaa/layer.tar"], ["sha256:c1", "sha256:c2"], sizes)).toEqual({});
  });

  test("names every layer the host has, so the update needs no layout pass; the bytes they would have cost", () => {
    const map = learnLayers({}, ["aaa/layer.tar", "bbb/layer.tar"], ["sha256:c1", "sha256:c2"], sizes);
    // The next image: the same base, a new code layer the host lacks.
    expect(omitFromMap(map, ["sha256:c1", "sha256:c9"], [true, false])).toEqual({ names: new Set(["aaa/layer.tar"]), bytes: 320_000_512 });
  });

  test("a layer the host has but the map does not name means a layout pass", () => {
    const map = learnLayers({}, ["aaa/layer.tar"], ["sha256:c1"], sizes);
    expect(omitFromMap(map, ["sha256:c1", "sha256:c2"], [true, true])).toBeUndefined();
  });

  test("keeps the newest entries up to its limit", () => {
    const many = Array.from({ length: LAYER_MAP_LIMIT + 2 }, (_, i) => `l${i}/layer.tar`);
    const map = learnLayers(
      {},
      many,
      many.map((_, i) => `sha256:c${i}`),
      new Map(),
    );
    const names = Object.keys(map);
    expect(names).toHaveLength(LAYER_MAP_LIMIT);
    expect(names[0]).toBe("l2/layer.tar");
    expect(names.at(-1)).toBe(`l${LAYER_MAP_LIMIT + 1}/layer.tar`);
    // Learning an entry again makes it the newest.
    expect(Object.keys(learnLayers(map, ["l2/layer.tar"], ["sha256:c2"], new Map())).at(-1)).toBe("l2/layer.tar");
  });

  test("is kept in a file; a missing, corrupt or unwritable one is an empty map and never an error", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cpt-map-"));
    try {
      const file = path.join(dir, "cache", "save-layers.json");
      expect(readLayerMap(file)).toEqual({});
      const map = learnLayers({}, ["aaa/layer.tar"], ["sha256:c1"], sizes);
      writeLayerMap(file, map);
      expect(readLayerMap(file)).toEqual(map);
      expect(fs.readdirSync(path.dirname(file))).toEqual(["save-layers.json"]); // no temporary file left
      fs.writeFileSync(file, "[1,2");
      expect(readLayerMap(file)).toEqual({});
      fs.writeFileSync(file, "[1,2]");
      expect(readLayerMap(file)).toEqual({});
      fs.writeFileSync(path.join(dir, "blocker"), "");
      expect(() => writeLayerMap(path.join(dir, "blocker", "save-layers.json"), map)).not.toThrow();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

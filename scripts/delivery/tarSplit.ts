/**
 * Docker keeps each layer as an unpacked directory plus its tar-split metadata
 * (`layerdb/sha256/<chain>/tar-split.json.gz`, the format of github.com/vbatts/tar-split): one JSON
 * object per line, either a segment (type 2: raw tar bytes, headers and padding, base64) or a file
 * (type 1: a name and a size whose bytes are read from the layer's directory). Writing the segments
 * and the files' bytes in order gives back the layer's tar byte for byte, whose sha256 is its diff ID.
 * This module is the pure half: parsing, the tar's size, and safe file names.
 */
import * as path from "node:path";

export type TarSplitEntry = { kind: "segment"; bytes: Buffer } | { kind: "file"; name: string; size: number };

interface RawEntry {
  type?: number;
  name?: string;
  name_raw?: string;
  size?: number;
  payload?: string | null;
}

const FILE = 1;
const SEGMENT = 2;

/** Parses tar-split's JSON lines; refuses an unknown entry type or a file name that leaves the layer. */
export function parseTarSplit(text: string): TarSplitEntry[] {
  const out: TarSplitEntry[] = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    const e = JSON.parse(line) as RawEntry;
    if (e.type === SEGMENT) {
      out.push({ kind: "segment", bytes: Buffer.from(e.payload ?? "", "base64") });
    } else if (e.type === FILE) {
      if (e.name_raw) throw new Error(`tar-split line ${i + 1}: a file name that is not UTF-8 (not read here)`);
      const name = e.name ?? "";
      const size = e.size ?? 0;
      if (!Number.isSafeInteger(size) || size < 0) throw new Error(`tar-split line ${i + 1}: bad size ${String(e.size)}`);
      if (size > 0) insideLayer(name, i + 1);
      out.push({ kind: "file", name, size });
    } else {
      throw new Error(`tar-split line ${i + 1}: unknown entry type ${String(e.type)}`);
    }
  });
  return out;
}

/** The layer tar's length in bytes: every segment plus every file's content. */
export function tarSize(entries: TarSplitEntry[]): number {
  return entries.reduce((sum, e) => sum + (e.kind === "segment" ? e.bytes.length : e.size), 0);
}

/** `./usr/bin/x` → `usr/bin/x`; refuses `..` and absolute names (they would read outside the layer). */
export function insideLayer(name: string, line = 0): string {
  const rel = path.posix.normalize(name.replace(/^(\.\/)+/, ""));
  if (rel === ".." || rel.startsWith("../") || path.posix.isAbsolute(rel)) {
    throw new Error(`tar-split line ${line}: file name ${JSON.stringify(name)} leaves the layer's directory`);
  }
  return rel;
}

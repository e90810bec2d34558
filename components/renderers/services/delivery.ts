/**
 * Registry-less image delivery, the pure half: which layers the host already has, how the saved
 * archive is rewritten, and the host-side scripts that answer the inventory, load and prune.
 *
 * `docker load` (Docker 20.10's graph-driver store) looks each layer up by its chain ID and never
 * opens the file of a layer it already has, so an archive without those files loads to the same
 * image ID. The I/O half is scripts/delivery/transfer.ts.
 */
import { createHash } from "node:crypto";
import { lines, shq, STRICT } from "../shell";

/** One entry of a `docker save` archive's manifest.json. */
export interface SaveManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

/** Exit status of the load script when the engine refuses an archive with layers left out. */
export const PARTIAL_REFUSED_EXIT = 3;

/** Chain IDs of a layer stack: chain[0] = diff[0], chain[n] = sha256(chain[n-1] + " " + diff[n]). */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const diff of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? diff : `sha256:${createHash("sha256").update(`${prev} ${diff}`).digest("hex")}`);
  }
  return out;
}

/**
 * Archive paths of the layers the host already has (same chain ID), which need not be sent.
 * `diffIds` are the image's RootFS layers, in the order of `manifest.Layers`.
 */
export function layersToOmit(manifest: SaveManifestEntry, diffIds: string[], hostChains: ReadonlySet<string>): string[] {
  if (manifest.Layers.length !== diffIds.length) {
    throw new Error(`the archive lists ${manifest.Layers.length} layers but the image has ${diffIds.length}`);
  }
  const chains = chainIds(diffIds);
  return manifest.Layers.filter((_, i) => hostChains.has(chains[i]));
}

/** The manifest with the image tagged only as `tag` on the host (the stack's own repository). */
export function retagManifest(manifest: SaveManifestEntry[], tag: string): SaveManifestEntry[] {
  if (manifest.length !== 1) throw new Error(`expected one image in the archive, found ${manifest.length}`);
  return [{ ...manifest[0], RepoTags: [tag] }];
}

/** `copilotos-staging-api`: the host-side repository of a stack's delivered images. */
export function deliveredRepository(prefix: string, service: string): string {
  return `${prefix}-${service}`;
}

/**
 * Inventory, run on the host. If the image is already there it is (re)tagged and nothing else is
 * printed but `present yes`; otherwise the storage driver and every image's RootFS layers.
 */
export function hostInventoryScript(imageId: string, tag: string): string {
  return lines(
    STRICT,
    `if docker image inspect --format '{{.Id}}' ${shq(imageId)} >/dev/null 2>&1; then`,
    `  docker tag ${shq(imageId)} ${shq(tag)}`,
    "  echo 'present yes'",
    "  exit 0",
    "fi",
    "echo 'present no'",
    `echo "driver $(docker info --format '{{.Driver}}')"`,
    "docker image ls -aq --no-trunc | sort -u | xargs -r docker image inspect --format 'layers {{json .RootFS.Layers}}'",
  );
}

export interface Inventory {
  present: boolean;
  driver?: string;
  /** Chain IDs of every layer stack the host's images have. */
  chains: Set<string>;
}

/** Parses what {@link hostInventoryScript} printed. */
export function parseInventory(stdout: string): Inventory {
  const inv: Inventory = { present: false, chains: new Set() };
  for (const line of stdout.split("\n")) {
    if (line === "present yes") inv.present = true;
    else if (line.startsWith("driver ")) inv.driver = line.slice("driver ".length);
    else if (line.startsWith("layers ")) {
      const diffs = JSON.parse(line.slice("layers ".length)) as string[] | null;
      for (const chain of chainIds(diffs ?? [])) inv.chains.add(chain);
    }
  }
  return inv;
}

/**
 * Load, run on the host with the archive on stdin (gzip or plain: `docker load` detects it).
 * Verifies that `tag` names `imageId` afterwards; exits {@link PARTIAL_REFUSED_EXIT} when the engine
 * wants a layer file the archive left out. A cut stream fails inside `docker load`, before tagging.
 */
export function hostLoadScript(tag: string, imageId: string): string {
  return lines(
    STRICT,
    "if ! err=$(docker load -q 2>&1 >/dev/null); then",
    '  case "$err" in',
    `    *"no such file or directory"*) printf 'copilotos: the engine refused a partial archive: %s\\n' "$err" >&2; exit ${PARTIAL_REFUSED_EXIT} ;;`,
    "  esac",
    `  printf 'copilotos: docker load failed: %s\\n' "$err" >&2`,
    "  exit 1",
    "fi",
    `id=$(docker image inspect --format '{{.Id}}' ${shq(tag)})`,
    `if [ "$id" != ${shq(imageId)} ]; then`,
    `  printf 'copilotos: %s is %s after load, expected %s\\n' ${shq(tag)} "$id" ${shq(imageId)} >&2`,
    "  exit 1",
    "fi",
    `echo "loaded ${tag} $id"`,
  );
}

/**
 * Keeps the newest `keep` tags of the stack's repository and removes older ones (a tag a container
 * still uses stays). Only `repository` is touched: one stack never prunes another's images.
 */
export function hostPruneScript(repository: string, keep: number): string {
  return lines(
    STRICT,
    `docker image ls --format '{{.Repository}}:{{.Tag}}' ${shq(repository)} | grep -v ':<none>$' | tail -n +${keep + 1} | while read -r ref; do`,
    '  if docker image rm "$ref" >/dev/null 2>&1; then echo "pruned $ref"; else echo "kept $ref (in use)"; fi',
    "done",
  );
}

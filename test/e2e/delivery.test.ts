/**
 * Registry-less delivery against a real second Docker engine over real SSH (test/support/testHost.ts).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { chainIds, hostPruneScript } from "../../components/renderers/services/delivery";
import { runHostStep } from "../../scripts/stack/hostExec";
import { requireTestHost } from "../support/testHost";
import { busyboxImage } from "../support/testImages";
import { deliverImage, DeliveryError } from "../../scripts/delivery/transfer";

const host = requireTestHost();
const quiet = { stdio: ["pipe", "pipe", "pipe"] as "pipe"[] };
const remote = (...args: string[]) =>
  execFileSync("docker", ["-H", `unix://${host.remoteSocket}`, ...args], quiet)
    .toString()
    .trim();
const remoteTry = (...args: string[]) => {
  try {
    return remote(...args);
  } catch {
    return undefined;
  }
};
const local = (...args: string[]) =>
  execFileSync("docker", args, { ...quiet, env: { ...process.env, DOCKER_BUILDKIT: "0" } })
    .toString()
    .trim();
const REPO = "copilotos-e2edeliver-api";

/** Builds `cpt-e2e/app:<version>`: the shared base plus one small layer, like a code-only update. */
function buildApp(version: string, extraBytes = 64 * 1024): string {
  const ctx = fs.mkdtempSync(path.join(os.tmpdir(), "cpt-ctx-"));
  fs.writeFileSync(path.join(ctx, "code.bin"), Buffer.alloc(extraBytes, version));
  fs.writeFileSync(path.join(ctx, "Dockerfile"), "FROM cpt-e2e/base:1\nCOPY code.bin /app/code.bin\n");
  local("build", "-q", "-t", `cpt-e2e/app:${version}`, ctx);
  fs.rmSync(ctx, { recursive: true });
  return local("image", "inspect", "--format", "{{.Id}}", `cpt-e2e/app:${version}`);
}

beforeAll(() => {
  busyboxImage([], "cpt-e2e/base:1", { files: { "/opt/base.bin": Buffer.alloc(8 * 1024 * 1024, 7) } });
});

afterAll(() => {
  const tags = remoteTry("image", "ls", "--format", "{{.Repository}}:{{.Tag}}", REPO);
  if (tags) remote("image", "rm", "-f", ...tags.split("\n"));
  local("image", "rm", "-f", ...local("image", "ls", "--format", "{{.Repository}}:{{.Tag}}", "cpt-e2e/*").split("\n").filter(Boolean));
});

describe("deliverImage over SSH", () => {
  const progress: string[] = [];
  const target = host.target;

  test("first delivery sends the whole image and the host has the same image ID under the stack's tag", async () => {
    const id = buildApp("v1");
    const r = await deliverImage({ image: "cpt-e2e/app:v1", tag: `${REPO}:v1`, target, progress: (l) => progress.push(l) });
    expect(r).toMatchObject({ imageId: id, mode: "full", omittedLayers: 0, source: "store" });
    expect(r.storeSkipped).toBeUndefined();
    expect(r.sentBytes).toBeGreaterThan(8 * 1024 * 1024);
    expect(remote("image", "inspect", "--format", "{{.Id}}", `${REPO}:v1`)).toBe(id);
    expect(remoteTry("image", "inspect", "cpt-e2e/app:v1")).toBeUndefined(); // only the stack's tag
    // Bytes sent of bytes needed (exact: the store knows each layer's size), and the time.
    expect(progress.at(-1)).toMatch(new RegExp(`^deliver ${REPO}:v1: ([0-9.]+) MB of \\1 MB sent \\(100%, [0-9]+\\.[0-9] s\\)$`));
  });

  test("a code-only update sends only the new layer", async () => {
    const id = buildApp("v2");
    const r = await deliverImage({ image: "cpt-e2e/app:v2", tag: `${REPO}:v2`, target });
    expect(r).toMatchObject({ imageId: id, mode: "partial", omittedLayers: 1, source: "store" });
    expect(r.sentBytes).toBeLessThan(200 * 1024); // 64 KiB layer + config + tar headers, not the 8 MiB base
    expect(remote("image", "inspect", "--format", "{{.Id}}", `${REPO}:v2`)).toBe(id);
    // The loaded image really works: its files are there.
    expect(remote("run", "--rm", `${REPO}:v2`, "wc", "-c", "/app/code.bin", "/opt/base.bin")).toContain("8388608 /opt/base.bin");
  });

  test("through docker save (where the store cannot be read) a code-only update sends only the new layer, reading the image once when the layer names are known", async () => {
    const layerMapFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cpt-map-")), "save-layers.json");
    const save = (v: string, lines: string[] = []) =>
      deliverImage({ image: `cpt-e2e/app:${v}`, tag: `${REPO}:${v}`, target, readStore: false, layerMapFile, progress: (l) => lines.push(l) });
    // Nothing learned yet: a layout pass, then the stream.
    const id1 = buildApp("v2s");
    const lines: string[] = [];
    const r1 = await save("v2s", lines);
    expect(r1).toMatchObject({ imageId: id1, mode: "partial", omittedLayers: 1, source: "save", savePasses: 2 });
    expect(r1.sentBytes).toBeLessThan(200 * 1024);
    expect(lines.at(-1)).toMatch(new RegExp(`^deliver ${REPO}:v2s: [0-9.]+ MB of ~[0-9.]+ MB sent \\(100%, [0-9]+\\.[0-9] s\\)$`));
    expect(remote("image", "inspect", "--format", "{{.Id}}", `${REPO}:v2s`)).toBe(id1);
    // The next code-only update: the base's entry name is known, one pass.
    const id2 = buildApp("v2t");
    const r2 = await save("v2t");
    expect(r2).toMatchObject({ imageId: id2, mode: "partial", omittedLayers: 1, source: "save", savePasses: 1 });
    expect(r2.sentBytes).toBeLessThan(200 * 1024);
    expect(remote("image", "inspect", "--format", "{{.Id}}", `${REPO}:v2t`)).toBe(id2);
    // A stale entry (the base's name bound to another chain, as a map from another engine could be)
    // leaves nothing out wrongly: the base is sent and the image is right.
    const map = JSON.parse(fs.readFileSync(layerMapFile, "utf8")) as Record<string, { chain: string; size: number }>;
    const base = chainIds(JSON.parse(local("image", "inspect", "--format", "{{json .RootFS.Layers}}", id2)) as string[])[0];
    for (const v of Object.values(map)) if (v.chain === base) v.chain = `sha256:${"0".repeat(64)}`;
    map["stale/layer.tar"] = { chain: base, size: 1 };
    fs.writeFileSync(layerMapFile, JSON.stringify(map));
    const id3 = buildApp("v2u");
    const r3 = await save("v2u");
    expect(r3).toMatchObject({ imageId: id3, mode: "full", omittedLayers: 0, source: "save", savePasses: 1 });
    expect(r3.sentBytes).toBeGreaterThan(8 * 1024 * 1024);
    expect(remote("image", "inspect", "--format", "{{.Id}}", `${REPO}:v2u`)).toBe(id3);
    fs.rmSync(path.dirname(layerMapFile), { recursive: true });
  });

  test("a layer whose files changed in the local store is never tagged on the host", async () => {
    // A byte flipped in the unpacked code layer (same size): the store's rebuilt tar no longer
    // hashes to the layer's diff ID, so the delivery reads through docker save, which refuses it too.
    const id = buildApp("v7");
    const chain = chainIds(JSON.parse(local("image", "inspect", "--format", "{{json .RootFS.Layers}}", id)) as string[])
      .at(-1)!
      .slice(7);
    const root = local("info", "--format", "{{.DockerRootDir}}");
    const cacheId = fs.readFileSync(path.join(root, "image", "overlay2", "layerdb", "sha256", chain, "cache-id"), "utf8").trim();
    const file = path.join(root, "overlay2", cacheId, "diff", "app", "code.bin");
    const bytes = fs.readFileSync(file);
    bytes[0] ^= 1;
    fs.writeFileSync(file, bytes);
    const lines: string[] = [];
    const layerMapFile = path.join(os.tmpdir(), `cpt-map-${process.pid}.json`); // not the user's cache
    const err = await deliverImage({ image: id, tag: `${REPO}:v7`, target, layerMapFile, progress: (l) => lines.push(l) }).catch((e: Error) => e);
    fs.rmSync(layerMapFile, { force: true });
    expect(err).toBeInstanceOf(DeliveryError);
    expect((err as Error).message).toMatch(/^docker save sha256:[0-9a-f]{64} failed: /);
    expect(lines).toContainEqual(
      expect.stringMatching(/^deliver copilotos-e2edeliver-api:v7: reading the image through docker save: layer rebuilt from the store hashes to sha256:/),
    );
    expect(remoteTry("image", "inspect", `${REPO}:v7`)).toBeUndefined();
    local("image", "rm", "-f", "cpt-e2e/app:v7");
  });

  test("an unchanged image sends nothing and re-points the tag", async () => {
    const lines: string[] = [];
    const started = Date.now();
    const r = await deliverImage({ image: "cpt-e2e/app:v2", tag: `${REPO}:v2-again`, target, progress: (l) => lines.push(l) });
    // One SSH round trip and a tag: under CI's parallel suites it took up to 1.35 s (sentBytes below is what proves nothing was sent).
    expect(Date.now() - started).toBeLessThan(3000);
    expect(r).toMatchObject({ mode: "unchanged", sentBytes: 0 });
    expect(lines).toEqual([expect.stringContaining("already has sha256:")]);
    expect(remote("image", "inspect", "--format", "{{.Id}}", `${REPO}:v2-again`)).toBe(r.imageId);
  });

  test("gzip on the wire loads the same image", async () => {
    const id = buildApp("v3", 256 * 1024);
    const r = await deliverImage({ image: "cpt-e2e/app:v3", tag: `${REPO}:v3`, target, compress: true });
    expect(r).toMatchObject({ imageId: id, mode: "partial" });
    expect(r.sentBytes).toBeLessThan(64 * 1024); // the layer is one repeated byte
    expect(remote("image", "inspect", "--format", "{{.Id}}", `${REPO}:v3`)).toBe(id);
  });

  test("a transfer cut in the middle leaves no image tagged, and the next run succeeds", async () => {
    const id = buildApp("v4", 4 * 1024 * 1024);
    const ctl = new AbortController();
    await expect(
      deliverImage({
        image: "cpt-e2e/app:v4",
        tag: `${REPO}:v4`,
        target,
        progressIntervalSeconds: 0,
        signal: ctl.signal,
        progress: (l) => {
          if (/ [1-9][0-9.]* MB of/.test(l)) ctl.abort();
        },
      }),
    ).rejects.toThrow(/aborted after \d+ bytes/);
    expect(remoteTry("image", "inspect", `${REPO}:v4`)).toBeUndefined();
    const r = await deliverImage({ image: "cpt-e2e/app:v4", tag: `${REPO}:v4`, target });
    expect(remote("image", "inspect", "--format", "{{.Id}}", `${REPO}:v4`)).toBe(id);
    expect(r.mode).toBe("partial");
  });

  test("an engine that refuses a partial archive gets the full one, says so, and ends with the right image", async () => {
    // Docker 20.10 accepts archives with known layers left out; an engine that does not (e.g. one on
    // a containerd image store) is stood in for by a `docker` wrapper first on the SSH session's
    // PATH, whose `load` fails like such an engine when the archive lacks a layer it names.
    const realDocker = (await runHostStep(target, "which docker", "command -v docker")).stdout.trim();
    const home = (await runHostStep(target, "home", 'echo "$HOME"')).stdout.trim();
    const wrapper = [
      "#!/bin/sh",
      'if [ "$1" != load ]; then exec ' + realDocker + ' "$@"; fi',
      "shift; tmp=$(mktemp -d); trap 'rm -rf \"$tmp\"' EXIT",
      'cat > "$tmp/a.tar"',
      'tar -tf "$tmp/a.tar" > "$tmp/entries"',
      `tar -xOf "$tmp/a.tar" manifest.json | sed -n 's/.*"Layers":\\[\\([^]]*\\)\\].*/\\1/p' | tr ',' '\\n' | tr -d '"' > "$tmp/layers"`,
      'while read -r l; do grep -qxF "$l" "$tmp/entries" || { echo "open /var/lib/docker/tmp/docker-import-1/$l: no such file or directory" >&2; exit 1; }; done < "$tmp/layers"',
      `${realDocker} load "$@" < "$tmp/a.tar"`,
      "",
    ].join("\n");
    const setEnv = `mkdir -p "$HOME/.ssh" "$HOME/e2e-strict-bin" && cat > "$HOME/e2e-strict-bin/docker" <<'W'\n${wrapper}W\nchmod 755 "$HOME/e2e-strict-bin/docker" && echo "PATH=${home}/e2e-strict-bin:/usr/local/bin:/usr/bin:/bin" > "$HOME/.ssh/environment"`;
    await runHostStep(target, "strict engine", setEnv);
    try {
      expect((await runHostStep(target, "which docker", "command -v docker")).stdout.trim()).toBe(`${home}/e2e-strict-bin/docker`);
      const id = buildApp("v5", 32 * 1024);
      const lines: string[] = [];
      const r = await deliverImage({ image: "cpt-e2e/app:v5", tag: `${REPO}:v5`, target, progress: (l) => lines.push(l) });
      expect(r).toMatchObject({
        imageId: id,
        mode: "full",
        omittedLayers: 0,
        fallback: expect.stringMatching(/refused an archive with 1 layer\(s\) left out; sent the full archive$/),
      });
      expect(r.sentBytes).toBeGreaterThan(8 * 1024 * 1024);
      expect(lines).toContainEqual(`deliver ${REPO}:v5: ${r.fallback}`);
      expect(remote("image", "inspect", "--format", "{{.Id}}", `${REPO}:v5`)).toBe(id);
    } finally {
      await runHostStep(target, "normal engine", 'rm -rf "$HOME/.ssh/environment" "$HOME/e2e-strict-bin"');
    }
    expect((await runHostStep(target, "which docker", "command -v docker")).stdout.trim()).toBe(realDocker);
  });

  test("a missing image fails before anything is sent", async () => {
    await expect(deliverImage({ image: "cpt-e2e/app:nope", tag: `${REPO}:nope`, target })).rejects.toThrow(
      /image cpt-e2e\/app:nope is not in the local Docker engine/,
    );
    expect(remoteTry("image", "inspect", `${REPO}:nope`)).toBeUndefined();
  });

  test("an empty image (the post-mortem's 4 KB tar) is refused before sending", async () => {
    execFileSync("docker", ["import", "-", "cpt-e2e/empty:1"], { input: execFileSync("tar", ["-c", "-T", "/dev/null"]) });
    const err = await deliverImage({ image: "cpt-e2e/empty:1", tag: `${REPO}:empty`, target }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect((err as Error).message).toMatch(/^image cpt-e2e\/empty:1 is empty \(0 bytes, 1 layers\); refusing to send it$/);
    expect(remoteTry("image", "inspect", `${REPO}:empty`)).toBeUndefined();
  });

  test("a rejected SSH key and a host key mismatch name the host and the step", async () => {
    await expect(deliverImage({ image: "cpt-e2e/app:v1", tag: `${REPO}:x`, target: { ...target, identityFile: host.rejectedKeyFile } })).rejects.toThrow(
      /^listing the images for copilotos-e2edeliver-api:x: cannot reach cptdeploy@10\.201\.0\.2:22 over SSH: .*Permission denied/,
    );
    await expect(deliverImage({ image: "cpt-e2e/app:v1", tag: `${REPO}:x`, target: { ...target, knownHostsFile: host.wrongKnownHostsFile } })).rejects.toThrow(
      /cannot reach cptdeploy@10\.201\.0\.2:22 over SSH: Host key verification failed\./,
    );
  });

  test("pruning keeps the newest K of the stack's images and never touches another repository", async () => {
    remote("tag", `${REPO}:v1`, "copilotos-otherstack-api:v1");
    const r = await runHostStep(target, "prune", hostPruneScript(REPO, 2));
    const left = remote("image", "ls", "--format", "{{.Tag}}", REPO).split("\n").sort();
    expect(left).toHaveLength(2);
    expect(r.stdout).toMatch(/^pruned copilotos-e2edeliver-api:/m);
    expect(remote("image", "inspect", "--format", "{{.Id}}", "copilotos-otherstack-api:v1")).toMatch(/^sha256:/);
    remote("image", "rm", "copilotos-otherstack-api:v1");
  });
});

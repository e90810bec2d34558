import { execFileSync } from "node:child_process";
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Service, StackIdentity, stackPrefix } from "../renderers/names";
import type { MonitoringPart } from "../renderers/monitoring/containers";
import { deliverCommand, versionOfRef } from "../renderers/services/version";
import type { BuildSpec, StackConfig } from "../config";
import type { DockerHost } from "../hosts/dockerHost";
import { deliveredRepository, hostPruneScript } from "../renderers/services/delivery";
import { parseImageRef } from "../renderers/services/imageRef";
import { pruneDoes } from "../renderers/operations/stepDescriptions";
import { hostCommand } from "../operations/hostCommand";
import { checkoutSource, shownUrl } from "./gitSource";

export interface AppImageArgs {
  host: DockerHost;
  identity: StackIdentity;
  /** The service, or monitoring part, the image is for: its config key is `images.<service>`. */
  service: Service | MonitoringPart;
  /** An image reference, or a build spec the program builds on this machine. */
  source: string | BuildSpec;
  /** registry: the host pulls by digest. transfer: this machine sends the image over SSH (config `delivery.mode`). */
  mode: "registry" | "transfer";
  /** Versions of the app kept on the host, in both modes (config `delivery.keep`). */
  keep: number;
  /** gzip the transfer (config `delivery.compress`). */
  compress: boolean;
  /** Folder build contexts are relative to. @default process.cwd() */
  root?: string;
  /** This machine's Docker engine (builds, and the source of transfers). @default "unix:///var/run/docker.sock" */
  localDocker?: string;
  /** What must succeed before anything reaches the host (the pre-flight). @default [] */
  after?: pulumi.Resource[];
  /** Build args the stack knows (the web's public API URL); a build spec's own `args` win. @default {} */
  buildArgs?: Record<string, pulumi.Input<string>>;
}

/**
 * The image an app container runs, present on the host: built from source when asked, then pulled
 * by digest (registry mode) or sent over SSH layer by layer (transfer mode). `image` changes when
 * the content does (a digest or an image ID), so a new image is a visible replacement in the preview.
 */
export class AppImage extends pulumi.ComponentResource {
  /** What the container's `image` is set to: `repo@sha256:…` (registry) or `sha256:…` (transfer/local). */
  public readonly image: pulumi.Output<string>;
  /** The reference as configured or built, for the stack's outputs and rollback. */
  public readonly ref: pulumi.Output<string>;
  /** Resources the container must wait for. */
  public readonly ready: pulumi.Resource[];

  constructor(name: string, args: AppImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("copilotos:app:AppImage", name, {}, opts);
    const mode = args.mode;
    const conn = args.host.connection;
    let local: docker.Provider | undefined;
    const localProvider = () =>
      (local ??= new docker.Provider(`${name}-local-docker`, { host: args.localDocker ?? "unix:///var/run/docker.sock" }, { parent: this }));

    let ref: pulumi.Output<string>;
    let built: docker.Image | undefined;
    if (typeof args.source === "string") {
      ref = pulumi.output(args.source);
    } else {
      const spec = args.source;
      const base = spec.git ? checkoutSource(spec.git, `images.${args.service}.git`, (m) => void pulumi.log.info(m, this)) : (args.root ?? process.cwd());
      // Not fetched (the offline dry run): the source is named, its version is the deploy's to learn.
      const context = base === undefined ? `${shownUrl(spec.git!.url)}#${spec.git!.ref}:${spec.context}` : path.resolve(base, spec.context);
      if (spec.git && base !== undefined && path.relative(base, context).startsWith(".."))
        throw new Error(`images.${args.service}.context: ${spec.context} leaves the repository of images.${args.service}.git; name a folder inside it`);
      const version = spec.version ?? (base === undefined ? "fetched-at-deploy" : gitVersion(context, args.service));
      built = new docker.Image(
        `${name}-build`,
        {
          build: { context, dockerfile: path.join(context, spec.dockerfile), target: spec.target, args: { ...args.buildArgs, ...spec.args } },
          imageName: `${spec.repository ?? `copilotos-${args.service}`}:${version}`,
          skipPush: mode !== "registry" || !conn,
        },
        // Built on this machine: with the host's engine when it is local, else this machine's.
        { parent: this, provider: conn ? localProvider() : args.host.provider },
      );
      ref = mode === "registry" && conn ? built.repoDigest : built.imageName;
    }
    this.ref = ref;

    if (conn && mode === "transfer") {
      const source = new docker.RemoteImage(
        `${name}-source`,
        { name: ref, keepLocally: true },
        { parent: this, provider: localProvider(), dependsOn: built ? [built] : [] },
      );
      const tag = pulumi.interpolate`${deliveredRepository(stackPrefix(args.identity), args.service)}:${ref.apply(versionOfRef)}`;
      const send = new command.local.Command(
        `${name}-send`,
        {
          create: pulumi
            .all([ref, tag, conn.host])
            .apply(([image, t, address]) =>
              deliverCommand({ image, tag: t, address, port: conn.port, user: conn.user, ...conn.files, keep: args.keep, compress: args.compress }),
            ),
          triggers: [source.imageId, tag],
        },
        // The provider writes the pinned known_hosts and key files the ssh client reads.
        { parent: this, dependsOn: [args.host.provider, ...(args.after ?? [])] },
      );
      this.image = pulumi.all([source.imageId, send.stdout]).apply(([id]) => id);
      this.ready = [send];
    } else {
      const onHost = new docker.RemoteImage(
        `${name}-pull`,
        { name: ref, keepLocally: true },
        { parent: this, provider: args.host.provider, dependsOn: [...(built ? [built] : []), ...(args.after ?? [])] },
      );
      this.image = conn ? onHost.repoDigest : onHost.imageId;
      this.ready = [onHost];
      // Registry mode on a remote host: the app's older pulled versions are pruned, the newest `keep` kept
      // (an image a container still uses always stays; only this app's repository is touched).
      if (conn && mode === "registry" && (args.service === "api" || args.service === "web")) {
        const script = ref.apply((r) => hostPruneScript(repositoryOf(r), args.keep));
        const does = ref.apply((r) => pruneDoes(repositoryOf(r), args.keep));
        hostCommand(`${name}-prune`, { host: args.host, script, does, triggers: [onHost.repoDigest] }, { parent: this, dependsOn: [onHost] });
      }
    }
    this.registerOutputs({ image: this.image, ref: this.ref });
  }
}

/** The short git SHA of the build context (`-dirty` with uncommitted changes); a clear error without git. */
function gitVersion(context: string, service: string): string {
  try {
    const sha = execFileSync("git", ["-C", context, "rev-parse", "--short=12", "HEAD"], { stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .trim();
    const dirty = execFileSync("git", ["-C", context, "status", "--porcelain", "--", "."], { stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .trim();
    return dirty ? `${sha}-dirty` : sha;
  } catch {
    throw new Error(
      `images.${service}.version is not set and ${context} is not in a git checkout; set it: pulumi config set --path copilotos:images.${service}.version <tag>`,
    );
  }
}

/** `ghcr.io/acme/copilotos-api:1.2@sha256:…` → `ghcr.io/acme/copilotos-api`: what `docker image ls` filters by. */
export function repositoryOf(ref: string): string {
  const parsed = parseImageRef(ref);
  if (!parsed) return ref;
  return parsed.domain ? `${parsed.domain}/${parsed.path}` : parsed.path;
}

/**
 * One {@link AppImage} per service or monitoring part, `${prefix}-<part>-image`, each from its
 * `images.<part>` and delivered as config `delivery` says, after `after`; `buildArgs` per part.
 */
export function appImagesOf<K extends Service | MonitoringPart>(
  parent: pulumi.Resource,
  prefix: string,
  parts: K[],
  a: {
    host: DockerHost;
    identity: StackIdentity;
    cfg: Pick<StackConfig, "images" | "delivery">;
    root?: string;
    after: pulumi.Resource[];
    buildArgs?: Partial<Record<K, Record<string, pulumi.Input<string>>>>;
  },
): Record<K, AppImage> {
  const d = a.cfg.delivery;
  return Object.fromEntries(
    parts.map((part) => [
      part,
      new AppImage(
        `${prefix}-${part}-image`,
        {
          host: a.host,
          identity: a.identity,
          service: part,
          source: a.cfg.images[part],
          mode: d.mode,
          keep: d.keep,
          compress: d.compress,
          root: a.root,
          after: a.after,
          buildArgs: a.buildArgs?.[part] ?? {},
        },
        { parent },
      ),
    ]),
  ) as Record<K, AppImage>;
}

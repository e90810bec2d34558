/** `images.api` and `images.web`: an image reference, or a build spec the program builds (from a folder, or a git repository it fetches). */
import { z } from "zod";
import { envMap, imageRef, text } from "./values";

/**
 * restic's upstream image (0.18.0) by digest: the digest is what runs, the tag says which release it is.
 * Upstream's image has restic at /usr/bin/restic and ssh for SFTP repositories.
 */
export const RESTIC_IMAGE = "restic/restic:0.18.0@sha256:4cf4a61ef9786f4de53e9de8c8f5c040f33830eb0a10bf3d614410ee2fcb6120";

/**
 * netshoot (0.16) by digest: a network toolbox with nft (nftables) and sh, which the host firewall runs
 * on the host's network with NET_ADMIN only.
 */
export const FIREWALL_IMAGE = "nicolaka/netshoot:v0.16@sha256:b09d9b21381f47a79b3cbcb30da25266dc17186ea00ae65e99fdc51396f48e70";

/**
 * certbot's upstream image (5.7.0) by digest: certbot on PATH, and python3 with `cryptography`, which
 * reads the served certificate's names and expiry (tls.acme).
 */
export const CERTBOT_IMAGE = "certbot/certbot:v5.7.0@sha256:34ee91d2f43008eb78a007d22f23ed4b2eaa9a454cb27ca2c042b49527a695b4";

/** An app image built from source by the program (instead of a reference). */
const buildSpec = z.strictObject({
  /** Build context folder, relative to the project (or, with `git`, to the repository's root). */
  context: text("the build context folder"),
  /** Build from a git repository (the app's public one, say) instead of a checkout: fetched into ~/.copilotos/src at `ref` on every run. */
  git: z
    .strictObject({
      url: text("a git URL (https://…, ssh://…, file://…)").regex(/^(https|ssh|file|git):\/\/\S+$/, {
        error: "must be a git URL (https://…, ssh://…, git://… or file://…)",
      }),
      ref: text()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/, { error: "must be a branch, tag or commit" })
        .default("main"),
    })
    .optional(),
  /** Dockerfile path inside the context. */
  dockerfile: text().default("Dockerfile"),
  target: text().optional(),
  args: envMap,
  /** Tag of the built image; unset: the short git SHA of the context. */
  version: text()
    .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, { error: "must be a valid image tag" })
    .optional(),
  /** Repository of the built image (a registry path in registry mode). */
  repository: text().optional(),
});
export type BuildSpec = z.output<typeof buildSpec>;
export const appImage = z.union([imageRef({ pinned: false }), buildSpec], {
  error: "must be an image reference (name:tag) or a build spec ({ context, dockerfile, target, args, version, git })",
});

/** Upstream Prometheus (3.5, a long-term-support release) by digest. */
export const PROMETHEUS_IMAGE = "prom/prometheus:v3.5.0@sha256:63805ebb8d2b3920190daf1cb14a60871b16fd38bed42b857a3182bc621f4996";
/** Upstream Alertmanager (0.28.1) by digest. */
export const ALERTMANAGER_IMAGE = "prom/alertmanager:v0.28.1@sha256:27c475db5fb156cab31d5c18a4251ac7ed567746a2483ff264516437a39b15ba";
/** Upstream blackbox exporter (0.27.0) by digest. */
export const BLACKBOX_IMAGE = "prom/blackbox-exporter:v0.27.0@sha256:a50c4c0eda297baa1678cd4dc4712a67fdea713b832d43ce7fcc5f9bea05094d";
/** Upstream node exporter (1.9.1) by digest. */
export const NODE_EXPORTER_IMAGE = "prom/node-exporter:v1.9.1@sha256:d00a542e409ee618a4edc67da14dd48c5da66726bbd5537ab2af9c1dfc442c8a";
/** The Redis exporter (1.67.0) by digest, from its author's quay.io repository. */
export const REDIS_EXPORTER_IMAGE = "quay.io/oliver006/redis_exporter:v1.67.0@sha256:120f7ec77293459ccfdad66bb1db75ab72e8bfeab99f58b1cc2564cadcd7a9e7";

/** `copilotos:images`: the apps (references or build specs) and every pinned tool image the stack runs. */
export const imagesSchema = z
  .strictObject({
    api: appImage.describe("an image ref (`name:tag`, `name@sha256:…`) or a build spec `{ context, dockerfile, target, args, version, repository }`"),
    web: appImage.describe("same as `images.api`, for the web app"),
    mongo: imageRef({ pinned: true }).default("mongo:7").describe("Mongo image; a version tag or digest, never `latest`"),
    redis: imageRef({ pinned: true }).default("redis:7-alpine").describe("Redis image; a version tag or digest, never `latest`"),
    proxy: imageRef({ pinned: true }).default("nginx:1.27-alpine").describe("the stack's reverse proxy (nginx), which owns the web and API ports"),
    restic: imageRef({ pinned: true })
      .default(RESTIC_IMAGE)
      .describe("restic for the off-host backups (backup.offsite); upstream's image by digest, its binary at /usr/bin/restic"),
    certbot: imageRef({ pinned: true })
      .default(CERTBOT_IMAGE)
      .describe("certbot for `tls.acme` (gets and renews the certificate on the host); upstream's image by digest"),
    firewall: imageRef({ pinned: true })
      .default(FIREWALL_IMAGE)
      .describe("an image with `nft` and `sh` for the host firewall of an ssh host (`host.firewall`); netshoot by digest"),
    prometheus: imageRef({ pinned: true }).default(PROMETHEUS_IMAGE).describe("Prometheus for `monitoring`; upstream's image by digest"),
    alertmanager: imageRef({ pinned: true }).default(ALERTMANAGER_IMAGE).describe("Alertmanager for `monitoring`; upstream's image by digest"),
    blackbox: imageRef({ pinned: true })
      .default(BLACKBOX_IMAGE)
      .describe("the blackbox exporter (the probes through the proxy) for `monitoring`; upstream's image by digest"),
    nodeExporter: imageRef({ pinned: true })
      .default(NODE_EXPORTER_IMAGE)
      .describe("the node exporter (the host's disk and memory) for `monitoring`; upstream's image by digest"),
    redisExporter: imageRef({ pinned: true }).default(REDIS_EXPORTER_IMAGE).describe("the Redis exporter for `monitoring`; its author's image by digest"),
  })
  // Parsed even when absent, so the error names images.api / images.web, not images.
  .prefault({} as { api: string; web: string });

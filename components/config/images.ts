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

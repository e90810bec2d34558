/**
 * `npm run images -- <stack> [--stack-dir dir]`: the image references the stack runs, as a JSON list
 * (the pull-request workflow's scan matrix: Trivy scans each). Builds from source are left out
 * (they have no reference until built), and so are app images behind the stack's `registry` login.
 * Reads only the stack's config file: no secrets, no host. Exit 0, 2 usage or a config error.
 */
import * as path from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, parseConfig, rawFromAllConfig } from "../components/config";
import { projectRoot } from "./stack/project";
import { loadStackConfig } from "./stack/stackConfig";
import { UNUSED_SECRETS } from "./stack/stackTarget";

export const USAGE = "usage: npm run images -- <stack> [--stack-dir dir]\nexample: npm run images -- prod\n";

/** The flags it takes (its usage names each). */
export const OPTIONS = { "stack-dir": { type: "string" } } as const;

/** Docker's own rule: a first path part with a dot or a colon (or `localhost`) names a registry host. */
const onARegistry = (ref: string) => ref.includes("/") && /[.:]|^localhost$/.test(ref.split("/")[0]);

/**
 * The stack's image references: the databases, the proxy, restic with off-host backups, and the apps
 * when they are references on a public registry (a bare `copilotos-api:1.2` is a local name nobody can pull).
 */
export function stackImages(cfg: ReturnType<typeof parseConfig>): string[] {
  const apps = cfg.registry ? [] : [cfg.images.api, cfg.images.web].filter((i): i is string => typeof i === "string" && onARegistry(i));
  return [...new Set([...apps, cfg.images.mongo, cfg.images.redis, cfg.images.proxy, ...(cfg.backup.offsite ? [cfg.images.restic] : [])])];
}

export async function images(argv: string[], io: { out: (s: string) => void; err: (s: string) => void }): Promise<number> {
  let a;
  try {
    a = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  } catch (e) {
    io.err(`images: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const [stack, ...extra] = a.positionals;
  if (!stack || extra.length) {
    io.err(USAGE);
    return 2;
  }
  try {
    const input = loadStackConfig({
      stack,
      dir: path.resolve(a.values["stack-dir"] ?? projectRoot()),
      // Secrets are not needed to list images.
      secrets: UNUSED_SECRETS,
    });
    io.out(`${JSON.stringify(stackImages(parseConfig(rawFromAllConfig(input.config))))}\n`);
    return 0;
  } catch (e) {
    io.err(`images: ${e instanceof ConfigError ? e.message : (e as Error).message}\n`);
    return 2;
  }
}

export async function main(argv: string[]): Promise<number> {
  return images(argv, { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) });
}

/**
 * `node scripts/run.js deliver --image <ref> --tag <repo:version> --host user@address:port --known-hosts <file> [--identity <file>] [--keep N] [--compress]`
 * Sends an image from this machine's engine to the host (scripts/delivery/transfer.ts), prunes the stack's
 * older versions there, prints `image <id> mode=<mode> sent=<bytes> read=<store|save>`. Progress goes to stderr, which
 * `pulumi up` shows while the local command runs.
 */
import { parseArgs } from "node:util";
import { hostPruneScript } from "../components/renderers/services/delivery";
import { runHostStep } from "./stack/hostExec";
import { deliverImage } from "./delivery/transfer";

export const USAGE =
  "usage: deliver --image <ref> --tag <repo:version> --host <user@address:port> --known-hosts <file> [--identity <file>] [--connect-timeout <s>] [--keep <n>] [--compress]\n" +
  "example: npm run deliver -- --image copilotos-api:1.4.0 --tag copilotos-staging-api:1.4.0 --host deploy@203.0.113.10:22 --known-hosts ~/.ssh/copilotos/known_hosts\n";

/** The flags it takes (its usage names each). */
export const OPTIONS = {
  image: { type: "string" },
  tag: { type: "string" },
  host: { type: "string" },
  "known-hosts": { type: "string" },
  identity: { type: "string" },
  "connect-timeout": { type: "string", default: "10" },
  keep: { type: "string", default: "5" },
  compress: { type: "boolean", default: false },
} as const;

export async function main(argv: string[]): Promise<number> {
  let v;
  try {
    v = parseArgs({
      args: argv,
      options: OPTIONS,
    }).values;
  } catch (e) {
    process.stderr.write(`deliver: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const m = /^([^@]+)@(.+):(\d+)$/.exec(v.host ?? "");
  const keep = Number(v.keep);
  if (!v.image || !v.tag || !m || !v["known-hosts"] || !(keep >= 1)) {
    process.stderr.write(USAGE);
    return 2;
  }
  const target = {
    kind: "ssh" as const,
    user: m[1],
    address: m[2].replace(/^\[(.*)\]$/, "$1"),
    port: Number(m[3]),
    knownHostsFile: v["known-hosts"],
    identityFile: v.identity,
    connectTimeoutSeconds: Number(v["connect-timeout"]),
  };
  try {
    const r = await deliverImage({ image: v.image, tag: v.tag, target, compress: v.compress, progress: (l) => process.stderr.write(`${l}\n`) });
    if (r.fallback) process.stderr.write(`deliver: ${r.fallback}\n`);
    const pruned = await runHostStep(target, "pruning old images", hostPruneScript(v.tag.replace(/:[^:/]*$/, ""), keep));
    if (pruned.stdout) process.stderr.write(pruned.stdout);
    process.stdout.write(`image ${r.imageId} mode=${r.mode} sent=${r.sentBytes}${r.source ? ` read=${r.source}` : ""}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`deliver: ${(e as Error).message}\n`);
    return 1;
  }
}

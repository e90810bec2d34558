/**
 * `npm run docs:config [-- --check]`: writes the config reference (docs/configuration.md) and the
 * required-key declarations of Pulumi.yaml from the zod schema (scripts/reference/configTable.ts); with
 * --check, only says whether both are up to date (exit 1 if not).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { configSchema } from "../components/config";
import { configTable, PULUMI_END, PULUMI_START, pulumiConfigBlock, TABLE_END, TABLE_START, withBlock } from "./reference/configTable";
import { projectRoot } from "./stack/project";

export const USAGE =
  "usage: npm run docs:config [-- --check]\nexample: npm run docs:config -- --check   (exits 1 when docs/configuration.md or Pulumi.yaml is stale)\n";

/** The flags it takes (its usage names each). */
export const OPTIONS = { check: { type: "boolean", default: false } } as const;

/** The generated files, relative to the project. */
export const GENERATED = [
  { file: "docs/configuration.md", start: TABLE_START, end: TABLE_END, render: () => configTable(configSchema) },
  { file: "Pulumi.yaml", start: PULUMI_START, end: PULUMI_END, render: () => pulumiConfigBlock(configSchema) },
];

export function docsConfig(argv: string[], root = projectRoot()): { code: number; message: string } {
  const { values } = parseArgs({ args: argv, options: OPTIONS });
  const stale: { file: string; next: string }[] = [];
  for (const g of GENERATED) {
    const file = path.join(root, g.file);
    const current = fs.readFileSync(file, "utf8");
    const next = withBlock(current, g.render(), g);
    if (next !== current) stale.push({ file, next });
  }
  const names = stale.map((s) => path.relative(root, s.file)).join(", ");
  if (stale.length === 0) return { code: 0, message: "docs:config: docs/configuration.md and Pulumi.yaml are up to date\n" };
  if (values.check) return { code: 1, message: `docs:config: ${names} stale; run npm run docs:config\n` };
  for (const s of stale) fs.writeFileSync(s.file, s.next);
  return { code: 0, message: `docs:config: ${names} rewritten\n` };
}

export async function main(argv: string[]): Promise<number> {
  try {
    const r = docsConfig(argv);
    (r.code === 0 ? process.stdout : process.stderr).write(r.message);
    return r.code;
  } catch (e) {
    process.stderr.write(`docs:config: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
}

/**
 * `npm run docs:config [-- --check]`: writes the README's config reference from the zod schema
 * (scripts/lib/configTable.ts); with --check, only says whether the README is up to date (exit 1 if not).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { configSchema } from "../components/config";
import { configTable, withTable } from "./lib/configTable";
import { projectRoot } from "./lib/project";

export const USAGE = "usage: npm run docs:config [-- --check]\n";

export function docsConfig(argv: string[], readmePath = path.join(projectRoot(), "README.md")): { code: number; message: string } {
  const { values } = parseArgs({ args: argv, options: { check: { type: "boolean", default: false } } });
  const current = fs.readFileSync(readmePath, "utf8");
  const next = withTable(current, configTable(configSchema));
  if (next === current) return { code: 0, message: "docs:config: README.md config reference is up to date\n" };
  if (values.check) return { code: 1, message: "docs:config: README.md config reference is stale; run npm run docs:config\n" };
  fs.writeFileSync(readmePath, next);
  return { code: 0, message: "docs:config: README.md config reference rewritten\n" };
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

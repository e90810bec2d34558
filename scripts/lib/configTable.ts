/**
 * The README's config reference, generated from the zod schema: every key path, its type, its
 * default and whether it is required or secret come from the schema; only the sentence saying
 * what a key is for comes from {@link CONFIG_DOCS}. Pure.
 */
import type { z } from "zod";
import { isSecretPath } from "../../components/config/keys";
import { CONFIG_DOCS } from "./configDocs";

interface Def {
  type: string;
  innerType?: z.ZodType;
  defaultValue?: unknown;
  in?: z.ZodType;
  out?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  options?: z.ZodType[];
  discriminator?: string;
  entries?: Record<string, string>;
  values?: unknown[];
  element?: z.ZodType;
}
const defOf = (s: z.ZodType) => (s as unknown as { _zod: { def: Def } })._zod.def;

export interface ConfigRow {
  /** `host.address`; keys of one host kind carry it: `host.address` (ssh). */
  key: string;
  /** The host kind the key belongs to, if any. */
  kind?: string;
  type: string;
  /** JSON of the default; undefined when there is none. */
  default?: string;
  required: boolean;
  secret: boolean;
}

/** Peels defaults, optionals and preprocessing off a schema. */
function peel(s: z.ZodType): { node: z.ZodType; default?: unknown; optional: boolean; prefault?: unknown } {
  let node = s;
  let dflt: unknown;
  let optional = false;
  let prefault: unknown;
  for (;;) {
    const d = defOf(node);
    if (d.type === "default") dflt ??= d.defaultValue;
    else if (d.type === "prefault") prefault ??= d.defaultValue;
    else if (d.type === "optional") optional = true;
    else if (d.type === "pipe") {
      node = defOf(d.in!).type === "transform" ? d.out! : d.in!;
      continue;
    } else return { node, default: dflt, optional, prefault };
    node = d.innerType!;
  }
}

function typeName(s: z.ZodType): string {
  const d = defOf(s);
  switch (d.type) {
    case "string":
      return "string";
    case "number":
      return (d as { checks?: { _zod: { def: { format?: string } } }[] }).checks?.some((c) => c._zod.def.format === "safeint") ? "integer" : "number";
    case "boolean":
      return "boolean";
    case "enum":
      return Object.values(d.entries!).map((v) => `\`${v}\``).join(" \\| ");
    case "literal":
      return d.values!.map((v) => `\`${String(v)}\``).join(" \\| ");
    case "array":
      return `list of ${typeName(peel(d.element!).node)}`;
    case "record":
      return "map of NAME → string";
    case "union":
      return d.options!.map((o) => (defOf(peel(o).node).type === "object" ? "build spec" : typeName(peel(o).node))).join(" or ");
    case "object":
      return "object";
    default:
      return d.type;
  }
}

/** Every leaf key of the schema, in schema order. */
export function configRows(schema: z.ZodType): ConfigRow[] {
  const rows: ConfigRow[] = [];
  const visit = (s: z.ZodType, path: string[], kind: string | undefined, parentOptional: boolean) => {
    const p = peel(s);
    const d = defOf(p.node);
    const key = path.join(".");
    const secret = isSecretPath(key);
    if (d.type === "object") {
      for (const [k, child] of Object.entries(d.shape!)) visit(child, [...path, k], kind, parentOptional || p.optional);
      return;
    }
    if (d.type === "union" && d.discriminator) {
      const disc = d.discriminator;
      const shapes = d.options!.map((o) => defOf(peel(o).node).shape!);
      const kinds = shapes.map((shape) => String(defOf(shape[disc]).values![0]));
      const chosen = (p.prefault as Record<string, unknown> | undefined)?.[disc];
      rows.push({ key: [...path, disc].join("."), type: kinds.map((k) => `\`${k}\``).join(" \\| "), default: chosen === undefined ? undefined : JSON.stringify(chosen), required: chosen === undefined, secret: false });
      shapes.forEach((shape, i) => {
        for (const [k, child] of Object.entries(shape)) if (k !== disc) visit(child, [...path, k], kinds[i], false);
      });
      return;
    }
    const row: ConfigRow = { key, type: typeName(p.node), required: p.default === undefined && !p.optional && !parentOptional, secret };
    if (kind) row.kind = kind;
    if (p.default !== undefined) row.default = JSON.stringify(p.default);
    rows.push(row);
  };
  visit(schema, [], undefined, false);
  return rows;
}

const docKey = (r: ConfigRow) => (r.kind ? `${r.key}@${r.kind}` : r.key);

/** The markdown table; throws naming every key without a description, or a description without a key. */
export function configTable(schema: z.ZodType, docs: Record<string, string> = CONFIG_DOCS): string {
  const rows = configRows(schema);
  const missing = rows.map(docKey).filter((k) => docs[k] === undefined);
  const stale = Object.keys(docs).filter((k) => !rows.some((r) => docKey(r) === k));
  if (missing.length || stale.length) {
    throw new Error(
      [missing.length ? `config keys without a description in scripts/lib/configDocs.ts: ${missing.join(", ")}` : "", stale.length ? `descriptions of keys the schema does not have: ${stale.join(", ")}` : ""]
        .filter(Boolean)
        .join("; "),
    );
  }
  const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
  const defaultOf = (r: ConfigRow) => (r.default === undefined ? (r.required ? "**required**" : "unset") : r.default.length > 40 ? "see below" : `\`${cell(r.default.replace(/^"(.*)"$/, "$1"))}\``);
  const lines = ["| Key | Type | Default | Meaning |", "|---|---|---|---|"];
  for (const r of rows) {
    const flags = [r.kind ? `${r.kind} host` : "", r.secret ? "secret" : ""].filter(Boolean).join(", ");
    lines.push(`| \`${r.key}\` | ${r.type} | ${defaultOf(r)} | ${flags ? `(${flags}) ` : ""}${cell(docs[docKey(r)])} |`);
  }
  return lines.join("\n");
}

export const TABLE_START = "<!-- config-table:start (npm run docs:config) -->";
export const TABLE_END = "<!-- config-table:end -->";

/** The README with its table replaced; throws when the markers are missing. */
export function withTable(readme: string, table: string): string {
  const a = readme.indexOf(TABLE_START);
  const b = readme.indexOf(TABLE_END);
  if (a < 0 || b < a) throw new Error(`README.md has no ${TABLE_START} … ${TABLE_END} markers`);
  return `${readme.slice(0, a + TABLE_START.length)}\n${table}\n${readme.slice(b)}`;
}

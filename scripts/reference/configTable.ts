/**
 * The config reference, generated from the zod schema: every key path, its type, its default,
 * whether it is required or secret, and what it is for (the schema's `.describe()`). Pure.
 */
import type { z } from "zod";
import { isSecretPath } from "../../components/config/keys";

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
  /** What the key is for, from the schema; undefined when the schema has none (an error for the docs). */
  description?: string;
}

/** Peels defaults, optionals and preprocessing off a schema. */
function peel(s: z.ZodType): { node: z.ZodType; default?: unknown; optional: boolean; prefault?: unknown; description?: string } {
  let node = s;
  let dflt: unknown;
  let optional = false;
  let prefault: unknown;
  let description: string | undefined;
  for (;;) {
    description ??= node.description;
    const d = defOf(node);
    if (d.type === "default") dflt ??= d.defaultValue;
    else if (d.type === "prefault") prefault ??= d.defaultValue;
    else if (d.type === "optional") optional = true;
    else if (d.type === "pipe") {
      node = defOf(d.in!).type === "transform" ? d.out! : d.in!;
      continue;
    } else return { node, default: dflt, optional, prefault, description };
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
      return Object.values(d.entries!)
        .map((v) => `\`${v}\``)
        .join(" \\| ");
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
      rows.push({
        key: [...path, disc].join("."),
        type: kinds.map((k) => `\`${k}\``).join(" \\| "),
        default: chosen === undefined ? undefined : JSON.stringify(chosen),
        required: chosen === undefined,
        secret: false,
        description: p.description,
      });
      shapes.forEach((shape, i) => {
        for (const [k, child] of Object.entries(shape)) if (k !== disc) visit(child, [...path, k], kinds[i], false);
      });
      return;
    }
    const row: ConfigRow = {
      key,
      type: typeName(p.node),
      required: p.default === undefined && !p.optional && !parentOptional,
      secret,
      description: p.description,
    };
    if (kind) row.kind = kind;
    if (p.default !== undefined) row.default = JSON.stringify(p.default);
    rows.push(row);
  };
  visit(schema, [], undefined, false);
  return rows;
}

const keyName = (r: ConfigRow) => (r.kind ? `${r.key} (${r.kind} host)` : r.key);

/** The markdown table; throws naming every key whose schema has no `.describe()`. */
export function configTable(schema: z.ZodType): string {
  const rows = configRows(schema);
  const missing = rows.filter((r) => !r.description).map(keyName);
  if (missing.length) throw new Error(`config keys without a description (add .describe() in components/config/): ${missing.join(", ")}`);
  const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
  const defaultOf = (r: ConfigRow) =>
    r.default === undefined
      ? r.required
        ? "**required**"
        : "unset"
      : r.default.length > 40
        ? "see below"
        : `\`${cell(r.default.replace(/^"(.*)"$/, "$1"))}\``;
  const lines = ["| Key | Type | Default | Meaning |", "|---|---|---|---|"];
  for (const r of rows) {
    const flags = [r.kind ? `${r.kind} host` : "", r.secret ? "secret" : ""].filter(Boolean).join(", ");
    lines.push(`| \`${r.key}\` | ${r.type} | ${defaultOf(r)} | ${flags ? `(${flags}) ` : ""}${cell(r.description!)} |`);
  }
  return lines.join("\n");
}

export const TABLE_START = "<!-- config-table:start (npm run docs:config) -->";
export const TABLE_END = "<!-- config-table:end -->";
export const PULUMI_START = "# config:start (npm run docs:config)";
export const PULUMI_END = "# config:end";

/** `text` with what lies between the markers replaced by `block`; throws naming `file` when they are missing. */
export function withBlock(text: string, block: string, markers: { start: string; end: string; file: string }): string {
  const a = text.indexOf(markers.start);
  const b = text.indexOf(markers.end);
  if (a < 0 || b < a) throw new Error(`${markers.file} has no ${markers.start} … ${markers.end} markers`);
  return `${text.slice(0, a + markers.start.length)}\n${block}\n${text.slice(b)}`;
}

/**
 * Pulumi.yaml's `config:` declarations: only the keys the program cannot run without, so the Pulumi
 * CLI asks for them before it starts. An optional key is not declared there (a declaration without
 * a default makes the CLI require it, and its default lives in the schema).
 */
export function pulumiConfigBlock(schema: z.ZodType): string {
  const required = configRows(schema).filter((r) => r.required && !r.kind);
  const tops = [...new Set(required.map((r) => r.key.split(".")[0]))];
  const lines = ["config:"];
  for (const top of tops) {
    const rows = required.filter((r) => r.key === top || r.key.startsWith(`${top}.`));
    const leaf = rows.length === 1 && rows[0].key === top ? rows[0] : undefined;
    lines.push(`  ${top}:`);
    if (leaf?.type === "string") lines.push("    type: string");
    if (leaf?.secret) lines.push("    secret: true");
    const about = leaf ? leaf.description! : rows.map((r) => `${r.key}: ${r.description}`).join("; ");
    lines.push(`    description: ${JSON.stringify(about)}`);
  }
  return lines.join("\n");
}

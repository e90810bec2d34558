/**
 * Config errors that name the bad key and the command that fixes it. Pure: works on any zod object
 * schema (components/config/index.ts passes its own) and never prints a secret value.
 */
import { z } from "zod";
import { isSecretPath, NAMESPACE } from "./keys";

// --- errors ------------------------------------------------------------------------------------

export interface ConfigProblem {
  /** Full key path, e.g. `copilotos:ports.web`. */
  key: string;
  message: string;
  /** A command that fixes it. */
  fix: string;
}

/** Thrown for invalid config; its message lists every bad key with a fix, and never a secret value. */
export class ConfigError extends Error {
  constructor(public readonly problems: ConfigProblem[]) {
    super(
      `Invalid ${NAMESPACE} config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p.key}: ${p.message}\n    fix: ${p.fix}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

/** The schema at a key path, or undefined when the path is not in the schema. */
function schemaAt(schema: z.ZodType, path: (string | number)[]): z.ZodType | undefined {
  let shape: z.ZodType | undefined = schema;
  for (const part of path) {
    const inner = unwrapSchema(shape);
    if (inner instanceof z.ZodDiscriminatedUnion) {
      shape = inner.options.map((o) => ((o as z.ZodObject).shape as Record<string, z.ZodType>)[String(part)]).find(Boolean);
    } else if (inner instanceof z.ZodObject) {
      shape = (inner.shape as Record<string, z.ZodType>)[String(part)];
    } else {
      return undefined;
    }
    if (!shape) return undefined;
  }
  return shape;
}

function hasDefault(schema: z.ZodType, path: string): boolean {
  const s = schemaAt(schema, path.split("."));
  return s !== undefined && ["default", "prefault", "optional"].includes((s as unknown as { _zod: { def: { type: string } } })._zod.def.type);
}

function fixFor(schema: z.ZodType, path: string, missing: boolean): string {
  if (path === "saptivaApiKey") return `pulumi config set --secret ${NAMESPACE}:saptivaApiKey <your-saptiva-api-key>`;
  const setter = path.includes(".") ? "--path " : "";
  if (isSecretPath(path)) return `pulumi config set ${setter}--secret ${NAMESPACE}:${path} <value>`;
  return missing || !hasDefault(schema, path)
    ? `pulumi config set ${setter}${NAMESPACE}:${path} <value>`
    : `pulumi config set ${setter}${NAMESPACE}:${path} <value> (or remove it to use the default: pulumi config rm ${setter}${NAMESPACE}:${path})`;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}

/** The keys the schema knows at a path, for "did you mean" hints. */
function knownKeysAt(schema: z.ZodType, path: (string | number)[]): string[] {
  const s = schemaAt(schema, path);
  const inner = s && unwrapSchema(s);
  if (inner instanceof z.ZodObject) return Object.keys(inner.shape);
  if (inner instanceof z.ZodDiscriminatedUnion) return [...new Set(inner.options.flatMap((o) => Object.keys((o as z.ZodObject).shape)))];
  return [];
}

function unwrapSchema(s: z.ZodType): z.ZodType {
  let cur: z.ZodType = s;
  for (;;) {
    const def = (cur as unknown as { _zod: { def: { innerType?: z.ZodType; in?: z.ZodType; schema?: z.ZodType } } })._zod.def;
    const next = def.innerType ?? def.in ?? def.schema;
    if (!next || next === cur) return cur;
    cur = next;
  }
}

/** The value at `path` in raw config, or undefined; own properties only (a key named __proto__ is just a key). */
function valueAt(raw: unknown, path: PropertyKey[]): unknown {
  let cur = raw;
  for (const part of path) {
    if (cur === null || typeof cur !== "object" || !Object.prototype.hasOwnProperty.call(cur, part)) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[part];
  }
  return cur;
}

/** One problem per zod issue (one per unknown key), each with its full key and a fix. */
export function toProblems(schema: z.ZodType, error: z.ZodError, raw: unknown): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of error.issues) {
    const parent = issue.path.map(String);
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const path = [...parent, key].join(".");
        const close = knownKeysAt(schema, issue.path as string[]).filter((k) => editDistance(k.toLowerCase(), key.toLowerCase()) <= 2);
        const message =
          close[0] === key
            ? "is not a key of this host kind; it belongs to another host.kind"
            : `unknown key${close.length ? ` (did you mean "${[...parent, close[0]].join(".")}"?)` : ""}; typos are not ignored`;
        problems.push({
          key: `${NAMESPACE}:${path}`,
          message,
          fix: `pulumi config rm ${parent.length ? "--path " : ""}${NAMESPACE}:${path}`,
        });
      }
      continue;
    }
    const path = parent.join(".");
    // Missing means absent from what was given; a value of the wrong type is not "required".
    const missing = issue.code === "invalid_type" && valueAt(raw, issue.path) === undefined;
    const message = missing && !/required/.test(issue.message) ? `is required (${issue.message})` : issue.message;
    problems.push({ key: `${NAMESPACE}:${path}`, message, fix: fixFor(schema, path, missing) });
  }
  return problems;
}

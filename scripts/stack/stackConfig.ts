/**
 * Reads a stack's config the way the Pulumi CLI hands it to the program: `Pulumi.<stack>.yaml`
 * plus `--config`/`--secret` overrides in `pulumi config set --path` syntax. Encrypted values
 * (`secure:`) cannot be read without the stack's secrets provider; they are reported as such.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";

export interface StackConfigInput {
  /** `ns:key` -> value as the runtime passes it (structured values as JSON text). */
  config: Record<string, string>;
  /** Keys (top-level `ns:key`) that hold secrets. */
  secretKeys: string[];
  /** Full paths (`ns:key.sub`) of the secret values given with --secret. */
  secretPaths: string[];
  /** Full paths (`ns:key.sub`) of encrypted values that could not be read. */
  encrypted: string[];
}

export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

/** Parses `Pulumi.<stack>.yaml` text into top-level config values (structured values kept as objects). */
export function readStackYaml(text: string): { values: Record<string, Json>; encrypted: string[] } {
  const doc = (parseYaml(text) ?? {}) as { config?: Record<string, Json> };
  const values: Record<string, Json> = {};
  const encrypted: string[] = [];
  const strip = (v: Json, at: string): Json | undefined => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      if (Object.keys(v).length === 1 && "secure" in v) {
        encrypted.push(at);
        return undefined;
      }
      const out: Record<string, Json> = {};
      for (const [k, inner] of Object.entries(v)) {
        const kept = strip(inner, `${at}.${k}`);
        if (kept !== undefined) out[k] = kept;
      }
      return out;
    }
    return v;
  };
  for (const [key, value] of Object.entries(doc.config ?? {})) {
    const kept = strip(value, key);
    if (kept !== undefined) values[key] = kept;
  }
  return { values, encrypted };
}

/** `a.b[0].c` → ["a", "b", 0, "c"] (the path syntax of `pulumi config set --path`). */
export function pathSegments(keyPath: string): (string | number)[] {
  const segments: (string | number)[] = [];
  for (const part of keyPath.split(".")) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m || (m[1] === "" && segments.length === 0)) throw new Error(`config path "${keyPath}" is not valid (use a.b.c or a.list[0])`);
    if (m[1] !== "") segments.push(m[1]);
    for (const idx of m[2].match(/\d+/g) ?? []) segments.push(Number(idx));
  }
  return segments;
}

/** Sets `ns:a.b[0].c` = value inside `values`, creating maps and lists on the way (like `pulumi config set --path`). */
export function setPath(values: Record<string, Json>, fullKey: string, value: string): void {
  const colon = fullKey.indexOf(":");
  if (colon <= 0) throw new Error(`config key "${fullKey}" must be namespaced, e.g. copilotos:${fullKey}`);
  const ns = fullKey.slice(0, colon);
  const [top, ...rest] = pathSegments(fullKey.slice(colon + 1));
  const container = (next: string | number): Json => (typeof next === "number" ? [] : {});
  let parent: Record<string, Json> | Json[] = values;
  let key: string | number = `${ns}:${top}`;
  for (const next of rest) {
    // Own properties only: `ports.__proto__.x` is a key named __proto__ (refused by the schema as
    // unknown), never a way into Object.prototype.
    const cur: Json | undefined = Object.hasOwn(parent, key) ? (parent as Record<string | number, Json>)[key] : undefined;
    const fits = typeof next === "number" ? Array.isArray(cur) : !!cur && typeof cur === "object" && !Array.isArray(cur);
    const child: Json = fits ? (cur as Json) : container(next);
    setOwn(parent, key, child);
    parent = child as Record<string, Json> | Json[];
    key = next;
  }
  setOwn(parent, key, value);
}

function setOwn(target: Record<string, Json> | Json[], key: string | number, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Splits `key=value` (the value may hold `=`). */
export function splitAssignment(arg: string): [string, string] {
  const eq = arg.indexOf("=");
  // The argument is not echoed: without "=" it may be a secret value given without its key.
  if (eq <= 0) throw new Error('expected ns:key=value (e.g. copilotos:ports.web=3001); an argument without "=" or without a key is not shown');
  return [arg.slice(0, eq), arg.slice(eq + 1)];
}

export interface LoadStackOptions {
  stack: string;
  /** Project directory holding Pulumi.<stack>.yaml. */
  dir: string;
  /** `ns:path=value` pairs. */
  config?: string[];
  /** `ns:path=value` pairs that are secret. */
  secrets?: string[];
}

export function loadStackConfig(o: LoadStackOptions): StackConfigInput {
  const file = path.join(o.dir, `Pulumi.${o.stack}.yaml`);
  if (!fs.existsSync(file)) throw new Error(`no stack config file ${path.basename(file)} in ${o.dir}`);
  const { values, encrypted } = readStackYaml(fs.readFileSync(file, "utf8"));
  const secretKeys = new Set<string>();
  for (const arg of o.config ?? []) setPath(values, ...splitAssignment(arg));
  for (const arg of o.secrets ?? []) {
    const [key, value] = splitAssignment(arg);
    setPath(values, key, value);
    secretKeys.add(key.split(".")[0]);
  }
  const given = new Set([...(o.config ?? []), ...(o.secrets ?? [])].map((a) => splitAssignment(a)[0]));
  const config: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) config[k] = configText(v);
  for (const enc of encrypted) secretKeys.add(enc.split(".")[0]);
  const secretPaths = (o.secrets ?? []).map((a) => splitAssignment(a)[0]);
  return { config, secretKeys: [...secretKeys], secretPaths, encrypted: encrypted.filter((e) => !given.has(e)) };
}

/** A config value as the runtime passes it (and history records it): structured values as JSON text. */
export const configText = (v: Json): string => (typeof v === "string" ? v : JSON.stringify(v));

/** The inverse of {@link configText}: the JSON text of a map or list parsed, anything else the string itself. */
export function configValue(text: string): Json {
  const t = text.trim();
  if (!t.startsWith("{") && !t.startsWith("[")) return text;
  try {
    return JSON.parse(t) as Json;
  } catch {
    return text;
  }
}

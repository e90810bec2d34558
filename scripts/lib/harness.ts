/**
 * Runs the real Pulumi program (index.ts) under the Pulumi mock runtime and records every resource:
 * its resolved inputs (secrets unwrapped, their paths remembered), its options (protect,
 * retainOnDelete, parent, dependsOn), and the stack outputs with their secretness.
 * No engine, no CLI, no provider plugin, no host: this is the offline dry run.
 */
import { randomInt } from "node:crypto";
import * as path from "node:path";

/** The marker the Pulumi runtime wraps secret values in when it serialises them. */
export const SECRET_SIG = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

export interface RecordedOptions {
  protect: boolean;
  retainOnDelete: boolean;
  /** Logical name of the parent resource. */
  parent?: string;
  /** Logical names of explicit dependencies. */
  dependsOn: string[];
}

export interface RecordedResource {
  type: string;
  name: string;
  urn: string;
  /** Inputs with every secret unwrapped to its plain value. */
  inputs: Record<string, unknown>;
  /** Dotted paths (`uploads.0.content`) of inputs that were secret. */
  secretPaths: string[];
  opts: RecordedOptions;
}

export interface StackOutput {
  value: unknown;
  isSecret: boolean;
}

export interface ProgramRun {
  resources: RecordedResource[];
  outputs: Record<string, StackOutput>;
  /** Every secret value seen: secret inputs, secret config, generated passwords. For redaction. */
  secretValues: Set<string>;
}

export interface RunOptions {
  project?: string;
  stack: string;
  /** `copilotos:key` -> value, as `pulumi.runtime.allConfig()` returns it (structured values as JSON text). */
  config: Record<string, string>;
  /** Config keys that hold secrets (their values are redacted like other secrets). */
  secretKeys?: string[];
  /** @default the project's index.ts */
  programPath?: string;
}

const PASSWORD_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/** A stand-in for a RandomPassword result, of the requested length and character set. */
function fakePassword(inputs: Record<string, unknown>): string {
  const length = Number(inputs.length ?? 16);
  const chars = PASSWORD_CHARS + (inputs.special ? String(inputs.overrideSpecial ?? "!@#$%&*()-_=+[]{}<>:?") : "");
  return Array.from({ length }, () => chars[randomInt(chars.length)]).join("");
}

/**
 * Unwraps secret markers deeply and records the paths that were secret. A string a marker wraps
 * directly is remembered in `values` for redaction (a marker around a whole array marks its file
 * paths too, which are not secret; the secrets inside are remembered at their source).
 */
export function unwrapSecrets(value: unknown, at: string, paths: string[], values: Set<string>, inSecret = false): unknown {
  if (Array.isArray(value)) return value.map((v, i) => unwrapSecrets(v, join(at, String(i)), paths, values, inSecret));
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[SECRET_SIG] === SECRET_SIG_VALUE) {
      if (!inSecret) paths.push(at);
      if (typeof obj.value === "string" && obj.value !== "") values.add(obj.value);
      return unwrapSecrets(obj.value, at, paths, values, true);
    }
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, unwrapSecrets(v, join(at, k), paths, values, inSecret)]));
  }
  return value;
}

const join = (a: string, b: string) => (a ? `${a}.${b}` : b);

/** Runs the program once. Call after `jest.resetModules()` (tests) or in a fresh process (CLI). */
export async function runProgram(opts: RunOptions): Promise<ProgramRun> {
  // Loaded here, not at the top, so the program and this harness share one fresh copy of the SDK.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pulumi: typeof import("@pulumi/pulumi") = require("@pulumi/pulumi");
  const project = opts.project ?? "copilotos";
  const secretValues = new Set<string>();
  for (const key of opts.secretKeys ?? []) if (opts.config[key]) collectStrings(opts.config[key], secretValues);

  const recorded = new Map<string, RecordedResource>();
  const pendingOpts = new Map<string, RecordedOptions>();
  const keyOf = (type: string, name: string) => `${type}::${name}`;

  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const secretPaths: string[] = [];
        const inputs = unwrapSecrets(args.inputs, "", secretPaths, secretValues) as Record<string, unknown>;
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === "random:index/randomPassword:RandomPassword") {
          const result = fakePassword(inputs);
          secretValues.add(result);
          state.result = result;
        }
        const key = keyOf(args.type, args.name);
        recorded.set(key, {
          type: args.type,
          name: args.name,
          urn: `urn:pulumi:${opts.stack}::${project}::${args.type}::${args.name}`,
          inputs,
          secretPaths,
          opts: pendingOpts.get(key) ?? { protect: false, retainOnDelete: false, dependsOn: [] },
        });
        return { id: `${args.name}-id`, state };
      },
      call() {
        return {};
      },
    },
    project,
    opts.stack,
    false,
  );
  pulumi.runtime.setAllConfig(opts.config, opts.secretKeys);

  const programPath = opts.programPath ?? path.resolve(__dirname, "../../index.ts");
  // A program that throws (e.g. a ConfigError) rejects here *and* in the SDK's own promise chains;
  // the runner reports it once, so the SDK's copies are swallowed while the program runs.
  const swallow = () => undefined;
  process.on("unhandledRejection", swallow);
  try {
    return await runInStack();
  } finally {
    // Let the SDK's rejected chains settle before the handler goes.
    await new Promise((r) => setImmediate(r));
    process.off("unhandledRejection", swallow);
  }

  async function runInStack(): Promise<ProgramRun> {
  const exported = await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation((args) => {
      const o = args.opts as Record<string, unknown>;
      const deps = Array.isArray(o.dependsOn) ? o.dependsOn : o.dependsOn ? [o.dependsOn] : [];
      pendingOpts.set(keyOf(args.type, args.name), {
        protect: o.protect === true,
        retainOnDelete: o.retainOnDelete === true,
        parent: (o.parent as { __name?: string } | undefined)?.__name,
        dependsOn: deps.map((d) => (d as { __name?: string }).__name ?? "?"),
      });
      return undefined;
    });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = require(programPath) as Record<string, unknown>;
    const outputs: Record<string, StackOutput> = {};
    for (const [name, value] of Object.entries(program)) {
      const out = pulumi.output(value) as unknown as { promise(): Promise<unknown>; isSecret: Promise<boolean> };
      outputs[name] = { value: await out.promise(), isSecret: await out.isSecret };
    }
    return outputs;
  });
  // Components register after their children's transformations; wait for every registration.
  await pulumi.runtime.disconnect();
  for (const r of recorded.values()) r.opts = pendingOpts.get(keyOf(r.type, r.name)) ?? r.opts;
  return { resources: [...recorded.values()], outputs: exported as Record<string, StackOutput>, secretValues };
  }
}

function collectStrings(raw: string, into: Set<string>) {
  into.add(raw);
  try {
    const parsed = JSON.parse(raw) as unknown;
    const walk = (v: unknown): void => {
      if (typeof v === "string" && v.length > 0) into.add(v);
      else if (v && typeof v === "object") Object.values(v).forEach(walk);
    };
    walk(parsed);
  } catch {
    /* a plain string */
  }
}

/** Replaces every known secret value in `text` by `[secret]` (longest first, so no fragment leaks). */
export function redact(text: string, secrets: Iterable<string>): string {
  // Each secret also in the forms it takes inside JSON text and inside URLs.
  const forms = [...secrets].flatMap((s) => [s, JSON.stringify(s).slice(1, -1), encodeURIComponent(s)]);
  const sorted = [...new Set(forms)].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  let out = text;
  for (const s of sorted) out = out.split(s).join("[secret]");
  return out;
}

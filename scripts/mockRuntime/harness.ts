/**
 * Runs the real Pulumi program (index.ts) under the Pulumi mock runtime and records every resource:
 * its resolved inputs (secrets unwrapped, their paths remembered), its options (protect,
 * retainOnDelete, deleteBeforeReplace, parent, dependsOn), and the stack outputs with their secretness.
 * No engine, no CLI, no provider plugin, no host: this is the offline dry run.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { secretForms } from "../../components/renderers/operations/health";
import { fakeId, fakeInvoke, fakeOutputs, fakePassword, unknownsOf, unknownsOfLookup } from "./mockValues";

/** The marker the Pulumi runtime wraps secret values in when it serialises them. */
export const SECRET_SIG = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

export interface RecordedOptions {
  protect: boolean;
  retainOnDelete: boolean;
  /** Delete the old resource before creating its replacement (fixed names and ports need it). */
  deleteBeforeReplace?: boolean;
  /** Logical name of the parent resource. */
  parent?: string;
  /** Logical names of explicit dependencies. */
  dependsOn: string[];
  /** Input changes that never update or replace the resource. */
  ignoreChanges?: string[];
}

export interface RecordedResource {
  type: string;
  name: string;
  /** The ID the mock provider gave it. */
  id: string;
  urn: string;
  /** Inputs with every secret unwrapped to its plain value. */
  inputs: Record<string, unknown>;
  /** Dotted paths (`uploads.0.content`) of inputs that were secret. */
  secretPaths: string[];
  opts: RecordedOptions;
  /**
   * Names of the custom resources its registration waited for, as the SDK sent them to the engine:
   * those behind its Output inputs, its `dependsOn` (a component stands for all its custom
   * descendants) and its provider. Its parent's own dependencies are not included (see the test executor).
   */
  deps: string[];
}

export interface StackOutput {
  value: unknown;
  isSecret: boolean;
}

/** A data source the program looked up (`aws.ec2.getAmi`...), with its resolved arguments. */
export interface RecordedInvoke {
  token: string;
  inputs: Record<string, unknown>;
}

export interface ProgramRun {
  resources: RecordedResource[];
  invokes: RecordedInvoke[];
  outputs: Record<string, StackOutput>;
  /** Every secret value seen: secret inputs, secret config, generated passwords. For redaction. */
  secretValues: Set<string>;
  /** What each RandomPassword (and RandomId: its hex) generated, by resource name, with its inputs (a later run's `priorPasswords`). */
  passwords: Record<string, { inputs: string; result: string }>;
  /** Values the mocks made up (digests, IDs, addresses), each with what a dry run prints instead. */
  unknowns: Map<string, string>;
}

export interface RunOptions {
  project?: string;
  stack: string;
  /** `copilotos:key` -> value, as `pulumi.runtime.allConfig()` returns it (structured values as JSON text). */
  config: Record<string, string>;
  /** Top-level config keys that hold secrets (as the runtime's PULUMI_CONFIG_SECRET_KEYS). */
  secretKeys?: string[];
  /** Full paths (`ns:key.sub`) of secret config values: remembered for redaction. */
  secretPaths?: string[];
  /** @default the project's index.ts */
  programPath?: string;
  /** Fetch build specs' git sources (a test with a local repository); the dry run never does. @default false */
  fetchSources?: boolean;
  /**
   * Results of an earlier run's RandomPasswords, by name: kept when the inputs are unchanged, as
   * the stack state keeps them (a keeper change still makes a new one). @default {} (all new)
   */
  priorPasswords?: Record<string, { inputs: string; result: string }>;
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
  // Config errors are reported before the SDK starts: a program that throws inside the stack's
  // init rejects in several SDK promise chains at once, which a test runner reports as unhandled.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parseConfig, rawFromAllConfig } = require("../../components/config") as typeof import("../../components/config");
  parseConfig(rawFromAllConfig(opts.config));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pulumi: typeof import("@pulumi/pulumi") = require("@pulumi/pulumi");
  const project = opts.project ?? "copilotos";
  const secretValues = new Set<string>();
  const passwords: Record<string, { inputs: string; result: string }> = {};
  const unknowns = new Map<string, string>();
  for (const p of opts.secretPaths ?? []) {
    const value = configValueAt(opts.config, p);
    if (value) secretValues.add(value);
  }

  const recorded = new Map<string, RecordedResource>();
  const invokes: RecordedInvoke[] = [];
  const pendingOpts = new Map<string, RecordedOptions>();
  const keyOf = (type: string, name: string) => `${type}::${name}`;

  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const secretPaths: string[] = [];
        const inputs = unwrapSecrets(args.inputs, "", secretPaths, secretValues) as Record<string, unknown>;
        const state: Record<string, unknown> = { ...args.inputs };
        // A random result is kept while its inputs (keepers) stay and new when they change, as the state keeps a real one.
        const kept = (make: () => string) => {
          const prior = opts.priorPasswords?.[args.name];
          const result = prior && prior.inputs === JSON.stringify(inputs) ? prior.result : make();
          passwords[args.name] = { inputs: JSON.stringify(inputs), result };
          return result;
        };
        if (args.type === "random:index/randomPassword:RandomPassword") {
          state.result = kept(() => fakePassword(inputs));
          secretValues.add(state.result as string);
        }
        if (args.type === "random:index/randomId:RandomId") state.hex = kept(() => randomBytes(Number(inputs.byteLength ?? 8)).toString("hex"));
        const outputs = fakeOutputs(args.type, args.name, inputs);
        if (typeof outputs.privateKeyOpenssh === "string") secretValues.add(outputs.privateKeyOpenssh.trim());
        Object.assign(state, outputs);
        const key = keyOf(args.type, args.name);
        const id = fakeId(args.type, args.name);
        for (const [value, shown] of unknownsOf(args.type, id, inputs, outputs, unknowns)) unknowns.set(value, shown);
        recorded.set(key, {
          type: args.type,
          name: args.name,
          id,
          urn: `urn:pulumi:${opts.stack}::${project}::${args.type}::${args.name}`,
          inputs,
          secretPaths,
          // The stack transformation has run in the resource's constructor, before it registers.
          opts: pendingOpts.get(key) ?? { protect: false, retainOnDelete: false, dependsOn: [] },
          deps: depsOf.get(key) ?? [],
        });
        return { id, state };
      },
      call(args) {
        const inputs = unwrapSecrets(args.inputs, "", [], secretValues) as Record<string, unknown>;
        invokes.push({ token: args.token, inputs });
        const result = fakeInvoke(args.token, inputs);
        for (const [value, shown] of unknownsOfLookup(inputs, result)) unknowns.set(value, shown);
        return result;
      },
    },
    project,
    opts.stack,
    false,
  );
  pulumi.runtime.setAllConfig(opts.config, opts.secretKeys);
  const depsOf = recordDependencies(keyOf);

  const programPath = opts.programPath ?? path.resolve(__dirname, "../../index");
  let programError: Error | undefined;
  const runInStack = async (): Promise<Record<string, StackOutput>> => {
    const exported = await pulumi.runtime.runInPulumiStack(async () => {
      pulumi.runtime.registerStackTransformation((args) => {
        pendingOpts.set(keyOf(args.type, args.name), recordOptions(args.opts as Record<string, unknown>));
        return undefined;
      });
      let program: Record<string, unknown>;
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        program = require(programPath) as Record<string, unknown>;
      } catch (e) {
        // Thrown inside the stack's own promise, it would surface as an unhandled rejection; report it here.
        programError = e as Error;
        return {};
      }
      const outputs: Record<string, StackOutput> = {};
      for (const [name, value] of Object.entries(program)) {
        if (value === undefined) continue; // the SDK drops an undefined export (with a warning)
        const out = pulumi.output(value) as unknown as { promise(): Promise<unknown>; isSecret: Promise<boolean> };
        outputs[name] = { value: await out.promise(), isSecret: await out.isSecret };
      }
      return outputs;
    });
    // Wait for every outstanding registration before reading what was recorded.
    await pulumi.runtime.disconnect();
    if (programError) throw programError;
    return exported as Record<string, StackOutput>;
  };

  // The program writes SSH client files under the temp dir: keep them in a private one, removed after.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "copilotos-run-"));
  const savedTmp = process.env.TMPDIR;
  const savedState = process.env.COPILOTOS_STATE_DIR;
  const savedFetch = process.env.COPILOTOS_FETCH_SOURCES;
  process.env.TMPDIR = tmp;
  process.env.COPILOTOS_STATE_DIR = tmp;
  // A build spec's git source is fetched only when asked: the dry run contacts nothing.
  process.env.COPILOTOS_FETCH_SOURCES = opts.fetchSources ? "1" : "0";
  try {
    const outputs = await runInStack();
    return { resources: [...recorded.values()], invokes, outputs, secretValues, passwords, unknowns };
  } finally {
    for (const [key, saved] of [
      ["TMPDIR", savedTmp],
      ["COPILOTOS_STATE_DIR", savedState],
      ["COPILOTOS_FETCH_SOURCES", savedFetch],
    ] as const) {
      if (saved === undefined) delete process.env[key];
      else process.env[key] = saved;
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * The dependencies the SDK sends with each registration, by `type::name`: the URNs of the custom
 * resources behind its Output inputs and `dependsOn` (`RegisterResourceRequest.dependencies`,
 * components expanded) and its provider. The mocks' `newResource` does not pass them on, so this
 * run's mock monitor (set by `setMocks` just before) has its `registerResource` wrapped.
 */
function recordDependencies(keyOf: (type: string, name: string) => string): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  type Req = { getType(): string; getName(): string; getDependenciesList(): string[]; getProvider(): string };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const settings = require("@pulumi/pulumi/runtime/settings") as { getMonitor(): { registerResource(req: Req, cb: unknown): unknown } };
  const monitor = settings.getMonitor();
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: Req, cb: unknown) => {
    const names = req.getDependenciesList().map((urn) => urn.slice(urn.lastIndexOf("::") + 2));
    // A provider reference is `<urn>::<id>`: the engine waits for the provider too.
    const provider = req.getProvider().split("::").slice(-2)[0];
    deps.set(keyOf(req.getType(), req.getName()), [...new Set([...names, ...(provider ? [provider] : [])])]);
    return original(req, cb);
  };
  return deps;
}

function recordOptions(o: Record<string, unknown>): RecordedOptions {
  const deps = Array.isArray(o.dependsOn) ? o.dependsOn : o.dependsOn ? [o.dependsOn] : [];
  const nameOf = (r: unknown) => (r as { __name?: string } | undefined)?.__name;
  return {
    protect: o.protect === true,
    retainOnDelete: o.retainOnDelete === true,
    deleteBeforeReplace: o.deleteBeforeReplace === true,
    parent: nameOf(o.parent),
    dependsOn: deps.map((d) => nameOf(d) ?? "?"),
    ...(Array.isArray(o.ignoreChanges) && o.ignoreChanges.length ? { ignoreChanges: o.ignoreChanges as string[] } : {}),
  };
}

/** The value at `ns:key.sub.path` of runtime config (structured values are JSON text). */
export function configValueAt(config: Record<string, string>, fullPath: string): string | undefined {
  const [top, ...rest] = fullPath.split(".");
  const raw = config[top];
  if (raw === undefined || rest.length === 0) return raw;
  try {
    let cur: unknown = JSON.parse(raw);
    for (const part of rest) cur = (cur as Record<string, unknown> | undefined)?.[part];
    return typeof cur === "string" ? cur : undefined;
  } catch {
    return undefined;
  }
}

/** Characters that continue a token: a secret found inside a longer run of them takes the whole run with it. */
const TOKEN_CHAR = /[A-Za-z0-9_.~+/=%-]/;
/** Shorter values are never searched for: they would cut words apart and show by the gap what they are. */
export const MIN_REDACTED_LENGTH = 8;

/**
 * Replaces every whole token that contains a known secret by `[secret]` (longest secrets first):
 * nothing around a secret is left to show by its shape what was cut out, and no fragment of a longer
 * token that carries one (a URL's user:password@, a JSON string) survives. Secrets shorter than
 * {@link MIN_REDACTED_LENGTH} are not searched for: every secret the stack generates or the app takes
 * is longer (the config check refuses shorter ones by key, without their value), and a secret env
 * value is shown by path as `[secret]` whatever its length. Linear in the text per secret.
 */
export function redact(text: string, secrets: Iterable<string>): string {
  // Each secret also in the forms it takes inside JSON text and inside URLs, longest first.
  const sorted = secretForms(secrets).filter((s) => s.length >= MIN_REDACTED_LENGTH);
  let out = text;
  for (const s of sorted) {
    const parts: string[] = [];
    let from = 0;
    for (let at = out.indexOf(s); at >= 0; at = out.indexOf(s, from)) {
      let start = at;
      while (start > from && TOKEN_CHAR.test(out[start - 1])) start--;
      let end = at + s.length;
      while (end < out.length && TOKEN_CHAR.test(out[end])) end++;
      parts.push(out.slice(from, start), "[secret]");
      from = end;
    }
    if (parts.length) out = parts.join("") + out.slice(from);
  }
  return out;
}

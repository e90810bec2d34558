/**
 * Offline dry run: `npm run check -- <stack> [--config k=v]... [--secret k=v]...`
 *
 * Runs the real program under the Pulumi mock runtime with the stack's config and prints every
 * resource it would create. Needs no Pulumi CLI, engine, state backend or Docker host. Every secret
 * (configured, placeholder or generated) is redacted by value from everything printed.
 */
// First: stand-ins for the SDK's closure serializer dependencies, before anything loads the SDK (see the module).
import "./mockRuntime/dryRunStubs";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import type { PolicyPackConfig } from "@pulumi/policy";
import { evaluate, levelOf, toGraph } from "../policies/evaluate";
import { NAMESPACE, NO_SAPTIVA_KEY } from "../components/config/keys";
import { PACK_NAME } from "../policies/rules";
import { saptivaKeySet } from "../policies/rules/saptivaKeySet";
import { describeResource, renderTable } from "./dryRun/describe";
import { ProgramRun, redact, runProgram } from "./mockRuntime/harness";
import { markUnknowns, UNKNOWN } from "./mockRuntime/mockValues";
import { projectRoot } from "./stack/project";
import { loadStackConfig } from "./stack/stackConfig";

const PROJECT_DIR = projectRoot();
const placeholder = (key: string) => `dry-run-placeholder-for-${key.replace(/[^A-Za-z0-9]/g, "-")}`.padEnd(64, "x");

export interface CheckResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  run?: ProgramRun;
}

/** The whole command, returning what it would print (tests call this in-process). */
export async function check(argv: string[]): Promise<CheckResult> {
  const out: string[] = [];
  const err: string[] = [];
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: OPTIONS,
    });
  } catch (e) {
    return { exitCode: 2, stdout: "", stderr: `${(e as Error).message}\n${usage()}` };
  }
  const [stack] = args.positionals;
  if (!stack || args.positionals.length > 1) return { exitCode: 2, stdout: "", stderr: usage() };

  // --secret-env copilotos:key=VAR takes the value from the environment: it never appears in argv
  // (which npm prints, and ps shows). An unset variable is named; no value is ever echoed.
  const secrets = [...(args.values.secret ?? [])];
  for (const arg of args.values["secret-env"] ?? []) {
    const eq = arg.indexOf("=");
    const name = arg.slice(eq + 1);
    if (eq <= 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      return { exitCode: 2, stdout: "", stderr: `check: --secret-env takes copilotos:key=ENV_VAR\n${usage()}` };
    const value = process.env[name];
    if (value === undefined) return { exitCode: 2, stdout: "", stderr: `check: --secret-env ${arg.slice(0, eq)}: ${name} is not set in the environment\n` };
    secrets.push(`${arg.slice(0, eq)}=${value}`);
  }
  const policyFile = args.values["policy-config"] ?? path.join(PROJECT_DIR, "policies", `config.${stack}.json`);
  let policyConfig: PolicyPackConfig = {};
  if (args.values["policy-config"] !== undefined || fs.existsSync(policyFile)) {
    try {
      policyConfig = JSON.parse(fs.readFileSync(policyFile, "utf8")) as PolicyPackConfig;
    } catch (e) {
      return { exitCode: 2, stdout: "", stderr: `check: cannot read policy config ${policyFile}: ${(e as Error).message}\n` };
    }
  }
  const stackDir = path.resolve(args.values["stack-dir"] ?? PROJECT_DIR);
  const load = (secrets: string[]) => loadStackConfig({ stack, dir: stackDir, config: args.values.config, secrets });
  let input;
  try {
    input = load(secrets);
    // Placeholders stand in for secrets the dry run cannot read; passed as --secret, they are
    // redacted like the real ones.
    // A SAPTIVA key is optional to the app; a stack whose policy requires one (saptiva-key-set
    // mandatory: staging, prod) is shown as it will deploy, with one.
    const keyRequired = !["advisory", "disabled"].includes(levelOf(saptivaKeySet, policyConfig));
    const noKey = !(`${NAMESPACE}:saptivaApiKey` in input.config);
    if (noKey && !keyRequired) err.push(`warning: ${NO_SAPTIVA_KEY}`);
    const missing = [...(noKey && keyRequired ? [`${NAMESPACE}:saptivaApiKey`] : []), ...input.encrypted];
    for (const key of missing) {
      err.push(
        `warning: ${key} is ${input.encrypted.includes(key) ? "encrypted in the stack file" : "not set"}; using a placeholder (pass --secret ${key}=... to check a real value)`,
      );
    }
    if (missing.length) input = load([...secrets, ...missing.map((k) => `${k}=${placeholder(k)}`)]);
  } catch (e) {
    return { exitCode: 2, stdout: "", stderr: `check: ${(e as Error).message}\n` };
  }
  const knownSecrets = new Set<string>();
  for (const arg of secrets) knownSecrets.add(arg.slice(arg.indexOf("=") + 1));

  let run: ProgramRun;
  try {
    run = await runProgram({ stack, config: input.config, secretKeys: input.secretKeys, secretPaths: input.secretPaths });
  } catch (e) {
    // A config error is built from key paths, fixed text and validated non-secret values (a region, a
    // host kind), never from a secret or free text: redacting it by value
    // could only cut words apart (a secret "short" inside "shorter") and show the secret by the gap.
    const message =
      e instanceof Error && e.name === "ConfigError" ? e.message : redact(e instanceof Error ? `${e.name}: ${e.message}` : String(e), knownSecrets);
    return { exitCode: 1, stdout: "", stderr: [...err, message, ""].join("\n") };
  }
  for (const s of knownSecrets) run.secretValues.add(s);

  const violations = evaluate(toGraph(run.resources), policyConfig);
  const mandatory = violations.filter((v) => v.level === "mandatory");

  const rows = run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack").map(describeResource);
  out.push(
    `Stack ${stack}: ${rows.length} resources would be created (offline dry run, no host contacted; ${UNKNOWN}: a digest, ID or address only the deploy learns)`,
    "",
  );
  out.push(
    renderTable(
      ["TYPE", "NAME", "KEY INPUTS"],
      rows.map((r) => [r.type, r.name, r.summary]),
    ),
    "",
  );
  if (run.invokes.length) {
    out.push("Lookups (answered by the dry run's stand-ins; the real run asks the provider):");
    for (const i of run.invokes) out.push(`  ${i.token.split(":")[1]}: ${JSON.stringify(i.inputs)}`);
    out.push("");
  }
  out.push("Outputs:");
  for (const [name, o] of Object.entries(run.outputs)) out.push(`  ${name}: ${o.isSecret ? "[secret]" : JSON.stringify(o.value)}`);
  out.push("", `Policies (${PACK_NAME}${fs.existsSync(policyFile) ? `, config ${path.relative(PROJECT_DIR, policyFile)}` : ""}):`);
  if (violations.length === 0) out.push("  no violations");
  else
    out.push(
      renderTable(
        ["RULE", "RESOURCE", "LEVEL", "MESSAGE"],
        violations.map((v) => [v.rule, v.resource ?? "(stack)", v.level, v.message]),
      ),
    );
  out.push(`${mandatory.length} mandatory, ${violations.length - mandatory.length} advisory violation(s)`);
  return {
    exitCode: mandatory.length > 0 ? 3 : 0,
    stdout: redact(markUnknowns(out.join("\n") + "\n", run.unknowns), run.secretValues),
    stderr: err.length ? redact(err.join("\n") + "\n", run.secretValues) : "",
    run,
  };
}

export const USAGE = usage();

/** The flags it takes (its usage names each). */
export const OPTIONS = {
  config: { type: "string", multiple: true },
  secret: { type: "string", multiple: true },
  "secret-env": { type: "string", multiple: true },
  "policy-config": { type: "string" },
  "stack-dir": { type: "string" },
} as const;

function usage() {
  return (
    "usage: npm run check -- <stack> [--config copilotos:key.path=value]... [--secret copilotos:key=value]... [--secret-env copilotos:key=ENV_VAR]... [--policy-config file.json] [--stack-dir dir-with-Pulumi.<stack>.yaml]\n" +
    "example: npm run check -- staging --config copilotos:ports.web=3001 --secret-env copilotos:saptivaApiKey=SAPTIVA_API_KEY\n"
  );
}

/** Entry point for scripts/run.js. */
export async function main(argv: string[]): Promise<number> {
  const r = await check(argv);
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  return r.exitCode;
}

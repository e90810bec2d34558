/**
 * `npm run adopt -- <stack> --compose-project <name> [--env-file <path>] [--yes]`
 * Reads the live compose deployment over the stack's pinned connection (containers and volumes by
 * the compose labels: images, ports, mounts, env names — never a value) and prints the plan: the
 * volumes the stack takes over by name, the ports, the secrets it copies from the env file into the
 * stack config (as Pulumi secrets, never printed), and what is missing. `--yes` writes that config;
 * nothing on the host changes in this step (the cut-over is in `pulumi up`).
 * `--cleanup` removes compose's stopped containers once the stack is healthy (never a volume);
 * `--hand-back` starts compose again by hand when an update stopped before a gate could.
 * Exit 0 done, 1 failed, 2 usage/refused.
 */
import * as fs from "node:fs";
import { parseArgs, parseEnv } from "node:util";
import { appSecretProblem } from "../components/renderers/services/appContract";
import { AdoptSpec, APP_COMPOSE_SERVICES, cleanupScript, handBackScript, inventoryScript, parseInventory } from "../components/renderers/operations/adopt";
import { COMPOSE_PROJECT_PATTERN } from "../components/config/adopt";
import { describeTarget, runHostStep } from "./stack/hostExec";
import { adoptionPlan, EnvSecrets } from "./plans/adoptPlan";
import { HOST_OPTIONS, withStackTarget } from "./stack/stackTarget";
import type { StackBackend } from "./rollback";

export const USAGE =
  "usage: npm run adopt -- <stack> --compose-project <name> [--env-file <path>] [--yes] [--identity <key file>] [--config key=value]... [--stack-dir dir]\n" +
  "       npm run adopt -- <stack> --compose-project <name> --cleanup | --hand-back\n" +
  "       (aws hosts: also --address <ip> --host-key '<type> <base64>', from `pulumi stack output sshHost`)\n" +
  "example: npm run adopt -- prod --compose-project infra --env-file ../infra/.env\n";

/** The flags it takes (its usage names each). */
export const OPTIONS = {
  "compose-project": { type: "string" },
  "env-file": { type: "string" },
  yes: { type: "boolean", default: false },
  cleanup: { type: "boolean", default: false },
  "hand-back": { type: "boolean", default: false },
  ...HOST_OPTIONS,
} as const;

export interface AdoptIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

export async function adopt(
  argv: string[],
  backendOrFactory: Pick<StackBackend, "setConfig"> | (() => Promise<Pick<StackBackend, "setConfig">>),
  io: AdoptIo,
): Promise<number> {
  let a;
  try {
    a = parseArgs({
      args: argv,
      allowPositionals: true,
      options: OPTIONS,
    });
  } catch (e) {
    io.err(`adopt: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const [stack, ...extra] = a.positionals;
  const project = a.values["compose-project"];
  if (!stack || extra.length || !project) {
    io.err(USAGE);
    return 2;
  }
  if (!COMPOSE_PROJECT_PATTERN.test(project)) {
    io.err("adopt: --compose-project must be a compose project name: lowercase letters, digits, _ - (docker compose ls lists them)\n");
    return 2;
  }
  return withStackTarget(stack, a.values, "adopt", io.err, async ({ cfg, target }) => {
    const spec: AdoptSpec = { identity: { project: "copilotos", stack }, composeProject: project, services: cfg.adopt?.services ?? APP_COMPOSE_SERVICES };
    if (a.values.cleanup || a.values["hand-back"]) {
      const r = await runHostStep(target, a.values.cleanup ? "cleanup" : "hand-back", a.values.cleanup ? cleanupScript(spec) : handBackScript(spec));
      io.out(r.stdout + r.stderr);
      return 0;
    }
    const inventory = parseInventory((await runHostStep(target, "reading the compose deployment", inventoryScript(project))).stdout);
    if (!inventory.containers.length) {
      io.err(`adopt: no container of compose project ${project} on ${describeTarget(target)} (docker compose ls lists the projects); nothing changed\n`);
      return 1;
    }
    let env: EnvSecrets = {};
    if (a.values["env-file"]) env = parseEnv(fs.readFileSync(a.values["env-file"], "utf8")) as EnvSecrets;
    const plan = adoptionPlan({ stack, spec, cfg, inventory, env, where: describeTarget(target), check: appSecretProblem });
    io.out(plan.text);
    if (plan.missing.length) {
      io.err(`adopt: cannot adopt yet, missing: ${plan.missing.join("; ")}; nothing changed\n`);
      return 1;
    }
    if (!a.values.yes) {
      io.out("Nothing changed. Run again with --yes to write this config; the cut-over then happens in `pulumi up`.\n");
      return 0;
    }
    const backend = typeof backendOrFactory === "function" ? await backendOrFactory() : backendOrFactory;
    await backend.setConfig(stack, plan.config);
    io.out(
      `Wrote ${plan.config.length} config values to stack ${stack} (${plan.config.filter((c) => c.secret).length} as secrets). Next: pulumi preview --stack ${stack}, then pulumi up.\n`,
    );
    return 0;
  });
}

export async function main(argv: string[]): Promise<number> {
  const { automationBackend } = await import("./rollback");
  return adopt(argv, automationBackend, { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) });
}

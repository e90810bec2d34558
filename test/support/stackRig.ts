/**
 * Deploys the program's own graph for a committed stack onto the real-engine test host: the stack
 * file's config, pointed at the test host (pinned host key, the run's client key) and at the
 * stand-in images, run under the mock runtime, then applied by the test executor. Keeps each
 * stack's state (applied resources, generated passwords) between deploys, as a backend would.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { ProgramRun } from "../../scripts/mockRuntime/harness";
import { requireTestHost, TEST_HOST_DIR } from "./testHost";
import { applyGraph, ApplyOptions, ApplyStep, BeforeStep, ExecState } from "./executor";
import { SAPTIVA_KEY } from "./program";
import { STANDIN_TAGS } from "./standins";

export class StackRig {
  readonly state = new ExecState();
  private passwords: ProgramRun["passwords"] = {};
  lastRun?: ProgramRun;

  constructor(readonly stack: string) {}

  /** Config that points the committed stack at the test host and the stand-ins. */
  static hostConfig(): { config: string[]; secrets: string[] } {
    const host = requireTestHost();
    const hostKey = fs.readFileSync(path.join(TEST_HOST_DIR, "host_key.pub"), "utf8").split(" ").slice(0, 2).join(" ");
    const target = host.target;
    return {
      config: [
        `copilotos:host.address=${target.address}`,
        `copilotos:host.user=${target.user}`,
        `copilotos:host.hostKey=${hostKey}`,
        ...Object.entries(STANDIN_TAGS).map(([service, tag]) => `copilotos:images.${service}=${tag}`),
        "copilotos:healthTimeoutSeconds=90",
        "copilotos:health.intervalSeconds=1",
        "copilotos:preflight.minFreeDiskMb=100",
        "copilotos:proxy.drainSeconds=15",
      ],
      secrets: [`copilotos:host.privateKey=${fs.readFileSync(target.identityFile!, "utf8")}`],
    };
  }

  /**
   * Runs the program for this stack with `config` (and `secrets`) on top and applies it with the
   * executor's `apply` options (the seed of its order, a kill after a create); returns its steps.
   */
  async deploy(
    config: string[] = [],
    log?: (line: string) => void,
    before?: BeforeStep,
    secrets: string[] = [],
    apply: ApplyOptions = {},
  ): Promise<ApplyStep[]> {
    const host = requireTestHost();
    const base = StackRig.hostConfig();
    jest.resetModules();
    const { runProgram } = await import("../../scripts/mockRuntime/harness");
    const { loadStackConfig } = await import("../../scripts/stack/stackConfig");
    const input = loadStackConfig({
      stack: this.stack,
      dir: path.resolve(__dirname, "..", ".."),
      config: [...base.config, ...config],
      secrets: [`copilotos:saptivaApiKey=${SAPTIVA_KEY}`, ...base.secrets, ...secrets],
    });
    const run = await runProgram({
      stack: this.stack,
      config: input.config,
      secretKeys: input.secretKeys,
      secretPaths: input.secretPaths,
      priorPasswords: this.passwords,
    });
    this.passwords = run.passwords;
    this.lastRun = run;
    return applyGraph(run, { dockerArgs: ["-H", `unix://${host.remoteSocket}`], ssh: host.target }, this.state, log, before, apply);
  }
}

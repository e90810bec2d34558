/**
 * Deploys the program's own graph for a committed stack onto the real-engine test host: the stack
 * file's config, pointed at the test host (pinned host key, the run's client key) and at the
 * stand-in images, run under the mock runtime, then applied by the test executor. Keeps each
 * stack's state (applied resources, generated passwords) between deploys, as a backend would.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { ProgramRun } from "../../scripts/mockRuntime/harness";
import type { HistoryEntry } from "../../scripts/plans/rollbackPlan";
import type { StackConfigInput } from "../../scripts/stack/stackConfig";
import { NETNS, requireTestHost, TEST_HOST_DIR } from "./testHost";
import { applyGraph, ApplyOptions, ApplyStep, BeforeStep, Engine, ExecState, refreshState } from "./executor";
import { updateEntry } from "./rigBackend";
import { SAPTIVA_KEY } from "./program";
import { STANDIN_TAGS } from "./standins";
import { FIREWALL_STANDIN } from "./testImages";
import type { ReadyHost } from "./otherHost";
import { TEST_BACKUP_SCHEDULE } from "./cron";

/** The stand-in images in place of the stack's, a schedule that never fires, and waits sized for the test host. */
const TEST_SETTINGS = [
  ...Object.entries(STANDIN_TAGS).map(([service, tag]) => `copilotos:images.${service}=${tag}`),
  `copilotos:images.firewall=${FIREWALL_STANDIN}`,
  "copilotos:healthTimeoutSeconds=90",
  "copilotos:health.intervalSeconds=1",
  "copilotos:preflight.minFreeDiskMb=100",
  "copilotos:proxy.drainSeconds=15",
  `copilotos:backup.schedule=${TEST_BACKUP_SCHEDULE}`,
  // Prod's monitoring needs its own stand-in images; test/e2e/monitoring.test.ts turns it on with them.
  "copilotos:monitoring.enabled=false",
];

/** HOME of a local stack's Commands (its backups and host lock), inside the test host's folder. */
export const LOCAL_HOME = path.join(TEST_HOST_DIR, "local-home");

export class StackRig {
  readonly state = new ExecState();
  private passwords: ProgramRun["passwords"] = {};
  lastRun?: ProgramRun;
  /** The whole config of the last deploy, as the program read it. */
  lastInput?: StackConfigInput;
  /** Every deploy, as `pulumi stack history` lists updates (the rollback CLI reads it). */
  readonly history: HistoryEntry[] = [];

  /**
   * `local`: the stack is a `host.kind: local` one (the committed `local` stack): its engine is the test
   * host's, by its socket, and its local Commands run in the test host's namespace, so "this machine"
   * is the test host; it gets no SAPTIVA key, as a first run has none.
   *
   * `without`: top-level keys of the committed stack file left out (`tls`: the committed prod's
   * certificate comes from Let's Encrypt for chat.example.com, which no test host is; the HTTPS
   * suites give the stack their own).
   */
  constructor(
    readonly stack: string,
    readonly opts: { local?: boolean; without?: string[] } = {},
  ) {}

  /** Another test host than this process's (test/support/otherHost.ts), once `moveTo` names one. */
  private host?: ReadyHost;

  /**
   * The stack pointed at another test host, as setting `host.address` and `host.hostKey` does: the
   * next deploy's config and engine are that host's; the state stays.
   */
  moveTo(host: ReadyHost): void {
    this.host = host;
  }

  /** Config that points the committed stack at a test host (this process's by default) and the stand-ins. */
  static hostConfig(other?: ReadyHost): { config: string[]; secrets: string[] } {
    const target = (other ?? requireTestHost()).target;
    const hostKey = other
      ? fs.readFileSync(target.knownHostsFile!, "utf8").trim().split(" ").slice(1, 3).join(" ")
      : fs.readFileSync(path.join(TEST_HOST_DIR, "host_key.pub"), "utf8").split(" ").slice(0, 2).join(" ");
    return {
      config: [
        `copilotos:host.address=${target.address}`,
        `copilotos:host.user=${target.user}`,
        `copilotos:host.hostKey=${hostKey}`,
        // The deploy user cannot become root, and the test host is this machine: its apt is not the stack's.
        // test/e2e/firewall.test.ts runs the step there (it refuses, printing what an admin runs once).
        "copilotos:host.osUpdates.enabled=false",
        ...TEST_SETTINGS,
      ],
      secrets: [`copilotos:host.privateKey=${fs.readFileSync(target.identityFile!, "utf8")}`, `copilotos:saptivaApiKey=${SAPTIVA_KEY}`],
    };
  }

  /** Config that points a local stack at the test host's engine socket and the stand-ins. */
  static localConfig(): { config: string[]; secrets: string[] } {
    return { config: [`copilotos:host.socket=unix://${requireTestHost().remoteSocket}`, ...TEST_SETTINGS], secrets: [] };
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
    const base = this.opts.local ? StackRig.localConfig() : StackRig.hostConfig(this.host);
    const { loadStackConfig } = await import("../../scripts/stack/stackConfig");
    const input = loadStackConfig({
      stack: this.stack,
      dir: path.resolve(__dirname, "..", ".."),
      config: [...base.config, ...config],
      secrets: [...base.secrets, ...secrets],
    });
    for (const key of this.opts.without ?? []) delete input.config[`copilotos:${key}`];
    return this.deployInput(input, log, before, apply);
  }

  /** Runs the program with a whole stack config (as `pulumi up` reads it) and applies it; history records the update. */
  async deployInput(input: StackConfigInput, log?: (line: string) => void, before?: BeforeStep, apply: ApplyOptions = {}): Promise<ApplyStep[]> {
    jest.resetModules();
    const { runProgram } = await import("../../scripts/mockRuntime/harness");
    const run = await runProgram({
      stack: this.stack,
      config: input.config,
      secretKeys: input.secretKeys,
      secretPaths: input.secretPaths,
      priorPasswords: this.passwords,
    });
    this.passwords = run.passwords;
    this.lastRun = run;
    this.lastInput = input;
    try {
      const steps = await applyGraph(run, this.engine(), this.state, log, before, apply);
      this.history.push(updateEntry(this.history, input, "succeeded"));
      return steps;
    } catch (e) {
      this.history.push(updateEntry(this.history, input, "failed"));
      throw e;
    }
  }

  /** `pulumi refresh`: what is gone from the engine leaves the state; returns the names dropped. */
  refresh(): Promise<string[]> {
    return refreshState(this.state, this.engine());
  }

  /** The test host's engine, its SSH target, and for a local stack where its local Commands run. */
  private engine(): Engine {
    const host = this.host ?? requireTestHost();
    if (this.opts.local) fs.mkdirSync(LOCAL_HOME, { recursive: true });
    const local = this.opts.local ? { netns: NETNS, env: { HOME: LOCAL_HOME } } : undefined;
    return { dockerArgs: ["-H", `unix://${host.remoteSocket}`], ssh: host.target, local };
  }
}

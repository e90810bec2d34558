/**
 * `npm run rollback`'s StackBackend (scripts/rollback.ts) over a rig's stack (a StackRig, the swarm
 * suite's), so the real CLI rolls a stack back on the test host or the swarm: its history is the rig's deploys (each with the whole config it
 * ran, as `pulumi stack history` records it), its config the last deploy's, config changes go
 * through `pulumi config set --path` semantics, and `up` applies that config with the executor.
 * There is no preview: the executor has none (the real backend's preview is Pulumi's).
 */
import type { StackBackend } from "../../scripts/rollback";
import { configText, configValue, setPath, type Json, type StackConfigInput } from "../../scripts/stack/stackConfig";
import type { HistoryEntry } from "../../scripts/plans/rollbackPlan";

/** A rig that keeps its stack's updates as `pulumi stack history` would (StackRig, the swarm suite's). */
export interface HistoryRig {
  readonly stack: string;
  /** Oldest first. */
  readonly history: HistoryEntry[];
  /** The config the last update ran with. */
  readonly lastInput?: StackConfigInput;
  /** Runs the program with this config and applies it, recording the update. */
  deployInput(input: StackConfigInput, log?: (line: string) => void): Promise<unknown>;
}

/** The history entry of an update that ran `input` with this `result`, numbered after `history`'s. */
export function updateEntry(history: HistoryEntry[], input: StackConfigInput, result: "succeeded" | "failed"): HistoryEntry {
  return {
    version: history.length + 1,
    kind: "update",
    result,
    startTime: new Date().toISOString(),
    config: Object.fromEntries(Object.entries(input.config).map(([k, v]) => [k, { value: v, secret: input.secretKeys.includes(k) }])),
  };
}

export class RigBackend implements StackBackend {
  private values: Record<string, Json> = {};
  private secretKeys = new Set<string>();

  constructor(
    private readonly rig: HistoryRig,
    private readonly log: (line: string) => void,
  ) {}

  /** The config `pulumi config` would show now: the last deploy's, then this backend's changes. */
  private sync(): void {
    const last = this.rig.lastInput;
    if (!last || this.synced === last) return;
    this.synced = last;
    this.values = Object.fromEntries(Object.entries(last.config).map(([k, v]) => [k, configValue(v)]));
    this.secretKeys = new Set(last.secretKeys);
  }
  private synced?: StackConfigInput;

  async stackExists(stack: string): Promise<boolean> {
    return stack === this.rig.stack && this.rig.history.length > 0;
  }

  async history(): ReturnType<StackBackend["history"]> {
    // Newest first, as the CLI and the Automation API list them.
    return [...this.rig.history].reverse();
  }

  async config(): ReturnType<StackBackend["config"]> {
    this.sync();
    return Object.fromEntries(Object.entries(this.values).map(([k, v]) => [k, { value: configText(v), secret: this.secretKeys.has(k) }]));
  }

  async removeConfig(_stack: string, keys: string[]): Promise<void> {
    this.sync();
    for (const k of keys) delete this.values[k];
  }

  async setConfig(_stack: string, entries: { key: string; value: string; secret: boolean }[]): Promise<void> {
    this.sync();
    for (const e of entries) {
      setPath(this.values, e.key, e.value);
      if (e.secret) this.secretKeys.add(e.key.split(".")[0]);
    }
  }

  async preview(_stack: string, out: (s: string) => void): Promise<void> {
    out("(the test executor has no preview)\n");
  }

  async up(): Promise<void> {
    this.sync();
    const config = Object.fromEntries(Object.entries(this.values).map(([k, v]) => [k, configText(v)]));
    await this.rig.deployInput({ config, secretKeys: [...this.secretKeys], secretPaths: this.rig.lastInput?.secretPaths ?? [], encrypted: [] }, this.log);
  }
}

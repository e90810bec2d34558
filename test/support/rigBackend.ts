/**
 * `npm run rollback`'s StackBackend (scripts/rollback.ts) over a StackRig, so the real CLI rolls a
 * stack back on the test host: its history is the rig's deploys (each with the whole config it
 * ran, as `pulumi stack history` records it), its config the last deploy's, config changes go
 * through `pulumi config set --path` semantics, and `up` applies that config with the executor.
 * There is no preview: the executor has none (the real backend's preview is Pulumi's).
 */
import type { StackBackend } from "../../scripts/rollback";
import { configText, configValue, setPath, type Json, type StackConfigInput } from "../../scripts/stack/stackConfig";
import type { StackRig } from "./stackRig";

export class RigBackend implements StackBackend {
  private values: Record<string, Json> = {};
  private secretKeys = new Set<string>();

  constructor(
    private readonly rig: StackRig,
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

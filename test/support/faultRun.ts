/**
 * Bookkeeping of the fault scenarios (test/e2e/faults.test.ts): each runs, then is judged the same
 * way — the data's fingerprints unchanged, nothing left behind, no secret in anything printed — and
 * counted for the bench line.
 */
import { execFileSync } from "node:child_process";
import { secretForms } from "../../components/renderers/operations/health";
import { routeFile } from "../../components/renderers/proxy";
import { get } from "./loadLoop";
import { StackData } from "./stackData";
import { StackRig } from "./stackRig";
import { requireTestHost } from "./testHost";

export interface Outcome {
  name: string;
  survived: boolean;
  dataLost: boolean;
  partialLeft: boolean;
  secretsLeaked: boolean;
}

/** `docker` on the test host's engine; undefined when it fails. */
export const docker = (...args: string[]): string | undefined => {
  try {
    return execFileSync("docker", ["-H", `unix://${requireTestHost().remoteSocket}`, ...args], { stdio: ["pipe", "pipe", "pipe"] })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
};

/** The container a route of a stack's proxy leads to (empty when the proxy cannot be read). */
export function routedTo(stack: string, service: "api" | "web"): string {
  return (docker("exec", `copilotos-${stack}-proxy`, "cat", routeFile(service)) ?? "").replace(/^server (.*):\d+;$/, "$1");
}

export class FaultRun {
  readonly outcomes: Outcome[] = [];
  private baseline?: ReturnType<StackData["fingerprint"]>;

  constructor(
    readonly rig: StackRig,
    readonly data: StackData,
    /** The stack's API through its proxy, e.g. `http://10.201.0.2:8101`. */
    readonly api: string,
  ) {}

  /** Fingerprints the data every scenario must end with. */
  takeBaseline(): ReturnType<StackData["fingerprint"]> {
    this.baseline = this.data.fingerprint();
    return this.baseline;
  }

  /**
   * Runs one scenario. `body` causes the fault, checks the message and the re-run, pushes everything
   * printed into `seen`, and returns what it found left behind (an empty list when nothing was).
   */
  async scenario(name: string, body: (seen: string[]) => Promise<string[]>): Promise<void> {
    const outcome: Outcome = { name, survived: false, dataLost: true, partialLeft: true, secretsLeaked: true };
    this.outcomes.push(outcome);
    const seen: string[] = [];
    const leftovers = await body(seen);
    const after = this.data.fingerprint();
    const forms = secretForms(this.rig.lastRun!.secretValues).filter((f) => f.length >= 8);
    const leaked = seen.flatMap((text, i) => forms.filter((f) => text.includes(f)).map(() => `output ${i}`));
    outcome.partialLeft = leftovers.length > 0;
    outcome.dataLost = JSON.stringify(after) !== JSON.stringify(this.baseline);
    outcome.secretsLeaked = leaked.length > 0;
    expect({ leftovers, leaked, data: after }).toEqual({ leftovers: [], leaked: [], data: this.baseline });
    outcome.survived = true;
  }

  /** The container a route of the stack's proxy leads to. */
  routedTo(service: "api" | "web"): string {
    return routedTo(this.rig.stack, service);
  }

  /** `<name> <state>` of every container of the stack. */
  containers(): string[] {
    return (docker("ps", "-a", "--filter", `label=copilotos.stack=${this.rig.stack}`, "--format", "{{.Names}} {{.State}}") ?? "").split("\n").filter(Boolean);
  }

  /** After a re-run: every container runs, each route leads to a running, healthy container, the API answers through the proxy. */
  async converged(seen: string[]): Promise<string[]> {
    const left = this.containers()
      .filter((l) => !l.endsWith(" running"))
      .map((l) => `container not running: ${l}`);
    for (const service of ["api", "web"] as const) {
      const target = this.routedTo(service);
      const state = docker("inspect", "--format", "{{.State.Status}} {{.State.Health.Status}}", target);
      if (state !== "running healthy") left.push(`${service} route leads to ${target} (${state ?? "gone"})`);
    }
    const auth = await get(`${this.api}/api/standin/auth`);
    seen.push(auth.body);
    if (auth.status !== 200 || !/"mongo":"ok","redis":"ok"/.test(auth.body)) left.push(`API through the proxy: ${auth.status} ${auth.body}`);
    return left;
  }

  /** The bench line. */
  summary(): string {
    const n = (f: (o: Outcome) => boolean) => this.outcomes.filter(f).length;
    return `faults: scenarios=${this.outcomes.length} survived=${n((o) => o.survived)} data_lost=${n((o) => o.dataLost)} partial_left=${n((o) => o.partialLeft)} secrets_leaked=${n((o) => o.secretsLeaked)}`;
  }
}

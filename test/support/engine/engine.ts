/** The test executor's view of an engine and what its providers record: shared by the providers and the container half. */
import type { HostTarget } from "../../../scripts/stack/hostExec";
import { runLocal } from "../../../scripts/stack/hostExec";

export interface Engine {
  /** `docker` arguments that reach the host's engine, e.g. `["-H", "unix:///…/docker.sock"]`. */
  dockerArgs: string[];
  /** How the program's remote Commands reach the host (the pinned SSH target). */
  ssh: HostTarget;
  /**
   * Where the program's local Commands run (a `host.kind: local` stack): this machine, or, so that
   * "this machine" is the test host, inside its network namespace, with extra env (HOME, say).
   * @default this machine, as it is
   */
  local?: { netns?: string; env?: Record<string, string> };
}

/** What a provider recorded for a resource: its real outputs (by the values the mocks made up for them). */
export interface Live {
  real: Record<string, string>;
  /** Container name and ID, a swarm object's ID. */
  name?: string;
  id?: string;
  /** What a Command printed. */
  output?: string;
}

/** A create that failed after the provider recorded the resource (a Container whose wait failed). */
export class PartialCreate extends Error {
  constructor(
    message: string,
    readonly live: Live,
  ) {
    super(message);
  }
}

export type Inputs = Record<string, unknown>;
export type Docker = (...args: string[]) => Promise<string>;

export function dockerOf(engine: Engine): Docker {
  return async (...args: string[]) => {
    const r = await runLocal("docker", [...engine.dockerArgs, ...args]);
    if (r.code !== 0) throw new Error(`docker ${args.slice(0, 2).join(" ")} failed: ${r.stderr.trim()}`);
    return r.stdout.trim();
  };
}

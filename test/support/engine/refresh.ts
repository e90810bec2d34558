/**
 * `pulumi refresh` in the test executor (../executor.ts): what the providers' Read finds on the
 * engine replaces what the state says.
 */
import type { ExecState, StateEntry } from "../executor";
import { Engine, exists, readImage } from "./providers";

/** What a refresh reads from the engine, by type: the kind of object and the recorded key it is found by. */
const REFRESHED: Record<string, { kind: "container" | "network" | "volume"; by: "id" | "name" }> = {
  "docker:index/container:Container": { kind: "container", by: "id" },
  "docker:index/network:Network": { kind: "network", by: "name" },
  "docker:index/volume:Volume": { kind: "volume", by: "name" },
};
const REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage";

/**
 * `pulumi refresh`: each container, network, volume and image the state (or a pending delete) names is
 * read from the engine; one that is gone leaves the state, as the provider's Read reports it gone, and
 * an image found has the ID found (an image of the same name on another engine is another image).
 * Returns the names it dropped.
 */
export async function refreshState(state: ExecState, engine: Engine): Promise<string[]> {
  const gone = async (e: StateEntry) => {
    if (e.type === REMOTE_IMAGE) {
      // The provider's Read looks the image up by name: gone, it leaves the state; found, its ID is the one found.
      const real = await readImage(e, engine);
      if (real) e.live = { ...e.live, real };
      return !real;
    }
    const read = REFRESHED[e.type];
    const what = read && e.live[read.by];
    return !!what && !(await exists(engine, read.kind, what));
  };
  const dropped: string[] = [];
  for (const e of [...state.resources.values()]) {
    if (!(await gone(e))) continue;
    state.resources.delete(e.key);
    dropped.push(e.name);
  }
  for (const e of [...state.pendingDeletes]) {
    if (!(await gone(e))) continue;
    state.pendingDeletes.splice(state.pendingDeletes.indexOf(e), 1);
    dropped.push(e.name);
  }
  // As the engine rebuilds its base state after a refresh: no dependency on a resource that left it.
  const kept = new Set([...state.resources.values()].map((e) => e.name));
  for (const e of state.resources.values()) e.deps = e.deps.filter((d) => kept.has(d) || !dropped.includes(d));
  return dropped;
}

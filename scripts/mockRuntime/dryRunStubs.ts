/**
 * The offline dry run (`npm run check`) never serializes a function: the program has no dynamic
 * providers and no callbacks for the engine to run. Yet the SDK's runtime loads its closure
 * serializer's dependencies, the TypeScript compiler and npm's arborist, as soon as the first
 * resource registers: most of a dry run's start-up. This module, imported first by the check CLI
 * (never by the program or a deploy), puts stand-ins for exactly those two in the module cache.
 * A stand-in answers only the questions a module loader asks (`__esModule`, `default`, its keys);
 * anything else throws, naming what was touched, so a future serialization fails loudly here, not
 * silently.
 */
import Module from "node:module";
import * as path from "node:path";

export const STUBBED = ["typescript", "@npmcli/arborist"] as const;

/** A module's exports that refuse every use but being loaded. */
export function refusingExports(name: string): object {
  return new Proxy(
    {},
    {
      get(_t, prop) {
        if (typeof prop === "symbol" || prop === "__esModule" || prop === "default" || prop === "then") return undefined;
        throw new Error(`the offline dry run does not serialize functions, yet ${name}.${prop} was used (scripts/mockRuntime/dryRunStubs.ts)`);
      },
      ownKeys: () => [],
    },
  );
}

/** Puts the stand-ins where @pulumi/pulumi's runtime will require them from. */
export function installDryRunStubs(): void {
  const sdk = path.dirname(require.resolve("@pulumi/pulumi"));
  for (const name of STUBBED) {
    let id: string;
    try {
      id = require.resolve(name, { paths: [sdk] });
    } catch {
      continue; // not installed: the SDK's own fallback applies
    }
    if (require.cache[id]) continue;
    const m = new Module(id);
    m.filename = id;
    m.loaded = true;
    m.exports = refusingExports(name);
    require.cache[id] = m;
  }
}

installDryRunStubs();

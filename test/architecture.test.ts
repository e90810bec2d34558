/**
 * The house rules of docs/architecture.md, checked on the source: product code (what `pulumi up` or
 * a CLI runs) never imports test or bench code, no module imports itself back through others, and
 * the renderers sit in the groups of the components they serve.
 */
import * as fs from "node:fs";
import * as path from "node:path";

const root = path.resolve(__dirname, "..");
const PRODUCT = ["index.ts", "components", "scripts", "policies"];

function tsFiles(p: string): string[] {
  const abs = path.join(root, p);
  if (!fs.existsSync(abs)) return [];
  if (fs.statSync(abs).isFile()) return p.endsWith(".ts") ? [p] : [];
  return fs
    .readdirSync(abs)
    .filter((e) => e !== "node_modules")
    .flatMap((e) => tsFiles(path.join(p, e)));
}

/** The repo-relative files a module imports (relative specifiers only; type-only imports count). */
function importsOf(file: string, source: string): string[] {
  const specs = [...source.matchAll(/(?:from|import|require)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)].map((m) => m[1]);
  return specs.map((s) => {
    const base = path.normalize(path.join(path.dirname(file), s));
    const hit = [`${base}.ts`, `${base}.js`, path.join(base, "index.ts")].find((c) => fs.existsSync(path.join(root, c)));
    return hit ?? base;
  });
}

/** Every import circle among `files`, each as the path that closes it. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (n: string) => {
    state.set(n, "open");
    stack.push(n);
    for (const d of graph.get(n) ?? []) {
      if (!graph.has(d)) continue;
      if (state.get(d) === "open") found.push([...stack.slice(stack.indexOf(d)), d]);
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(n, "done");
  };
  [...graph.keys()].sort().forEach((n) => state.has(n) || visit(n));
  return found;
}

const product = PRODUCT.flatMap(tsFiles).filter((f) => !f.endsWith(".d.ts"));
const graph = new Map(product.map((f) => [f, importsOf(f, fs.readFileSync(path.join(root, f), "utf8"))]));

describe("the house", () => {
  it("reads the whole product: components, renderers, CLIs and policies", () => {
    expect(product.length).toBeGreaterThan(100);
    expect(product).toEqual(expect.arrayContaining(["index.ts", "components/renderers/proxy/conf.ts", "scripts/mockRuntime/harness.ts", "policies/index.ts"]));
  });

  it("product code imports no test or bench code", () => {
    const bad = [...graph].flatMap(([f, deps]) => deps.filter((d) => /^(test|bench)\//.test(d)).map((d) => `${f} -> ${d}`));
    expect(bad).toEqual([]);
  });

  it("has no import circle", () => {
    expect(cycles(graph).map((c) => c.join(" -> "))).toEqual([]);
  });

  it("finds a circle when there is one (the check can fail)", () => {
    const g = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", ["a.ts", "d.ts"]],
      ["d.ts", []],
    ]);
    expect(cycles(g)).toEqual([["a.ts", "b.ts", "c.ts", "a.ts"]]);
  });

  it("groups the renderers like the components they serve; only the shared helpers sit at the top", () => {
    const dir = path.join(root, "components/renderers");
    const top = fs.readdirSync(dir).sort();
    expect(top).toEqual(["hosts", "monitoring", "names.ts", "operations", "proxy", "services", "shell.ts", "swarm"]);
  });

  it("keeps no catch-all scripts/lib: the CLIs' logic lives in named folders", () => {
    expect(fs.existsSync(path.join(root, "scripts/lib"))).toBe(false);
    const dirs = fs
      .readdirSync(path.join(root, "scripts"), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    expect(dirs).toEqual(["delivery", "dryRun", "mockRuntime", "plans", "reference", "stack"]);
  });
});

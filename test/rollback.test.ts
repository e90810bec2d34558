/**
 * Rollback from stack history: the plan derived from history JSON of the shape the CLI prints, and
 * the CLI's flow against a recording backend (the Automation API sits behind StackBackend).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { rollback, StackBackend } from "../scripts/rollback";
import { describePlan, formatHistory, HistoryEntry, imageRefs, planRollback } from "../scripts/plans/rollbackPlan";

const HISTORY = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "history", "staging.json"), "utf8")) as HistoryEntry[];
const v = (n: number) => HISTORY.find((h) => h.version === n)!;

describe("the plan", () => {
  test("update 3: its refs (a build spec as the tag it was built with) and its app config, by path", () => {
    const plan = planRollback("staging", HISTORY, 3);
    expect(plan.images).toEqual({ api: "copilotos-api:0.9.4", mongo: "mongo:7.0", redis: "redis:7.2-alpine", web: "copilotos-web:89abcdef0123" });
    expect(plan.remove).toEqual(["images", "api", "web", "resources", "proxy", "health", "healthTimeoutSeconds"].map((k) => `copilotos:${k}`));
    expect(plan.set).toEqual([
      { key: "copilotos:api.env.ENVIRONMENT", value: "staging", secret: false },
      { key: "copilotos:api.env.LOG_LEVEL", value: "debug", secret: false },
      { key: "copilotos:api.env.SEARCH", value: "on", secret: false },
      { key: "copilotos:resources.api.cpus", value: "0.5", secret: false },
      { key: "copilotos:resources.api.memoryMb", value: "768", secret: false },
      { key: "copilotos:images.api", value: "copilotos-api:0.9.4", secret: false },
      { key: "copilotos:images.mongo", value: "mongo:7.0", secret: false },
      { key: "copilotos:images.redis", value: "redis:7.2-alpine", secret: false },
      { key: "copilotos:images.web", value: "copilotos-web:89abcdef0123", secret: false },
    ]);
    // Host, ports and secrets are not touched.
    expect(plan.set.some((s) => /copilotos:(host|ports|saptivaApiKey)/.test(s.key))).toBe(false);
    expect(plan.startTime).toBe("2026-11-18T09:00:00.000Z");
  });

  test.each([
    [9, /^stack staging has no update 9 \(its updates: 1–4\)$/],
    [4, /^update 4 of staging is a failed update, not a succeeded update/],
    [1, /^update 1 of staging is a succeeded refresh, not a succeeded update/],
    [2, /^update 2 has no image refs in its config \(copilotos:images\)/],
  ])("update %i is refused with a clear error", (to, message) => {
    expect(() => planRollback("staging", HISTORY, to)).toThrow(message);
  });

  test("a build spec without a version from a dirty checkout has no recorded tag", () => {
    const dirty = { ...v(3), environment: { "git.head": "89abcdef0123456789", "git.dirty": "true" } };
    expect(() => imageRefs(dirty)).toThrow("update 3 built images.web without a version from a checkout with uncommitted changes");
  });

  test("a build spec from a git source without a version has no recorded tag (git.head is this project's, not the fetched repository's)", () => {
    const images = JSON.stringify({ api: { git: { url: "https://github.com/saptiva-ai/copilotos-bridge.git", ref: "main" }, context: "apps/backend" } });
    const fetched = { ...v(3), config: { "copilotos:images": images }, environment: { "git.head": "89abcdef0123456789", "git.dirty": "false" } };
    expect(() => imageRefs(fetched)).toThrow(
      "update 3 built images.api from https://github.com/saptiva-ai/copilotos-bridge.git at main without a version, so its tag (the fetched commit) is not recorded; choose another update, or set images.api.version (or a ref) by hand",
    );
  });

  test("secrets roll back only when asked, and then only if history could decrypt them", () => {
    expect(() => planRollback("staging", HISTORY, 3, { secrets: true })).toThrow(
      "the value of copilotos:saptivaApiKey in that update cannot be read ([secret]); run with access to the stack's secrets provider",
    );
    const readable = HISTORY.map((h) =>
      h.version === 3 ? { ...h, config: { ...h.config, "copilotos:saptivaApiKey": { value: "sk-old", secret: true } } } : h,
    );
    expect(planRollback("staging", readable, 3, { secrets: true }).set).toContainEqual({ key: "copilotos:saptivaApiKey", value: "sk-old", secret: true });
  });

  test("the listing and the description show refs and times, never a secret value", () => {
    expect(formatHistory("staging", HISTORY)).toBe(
      [
        "Updates of staging (newest first):",
        "   #  started                   kind/result         images",
        "   4  2026-11-20T10:00:00.000Z  update/failed       api=copilotos-api:0.9.5 web=copilotos-web:0a1b2c3d4e5f mongo=mongo:7.0 redis=redis:7.2-alpine",
        "   3  2026-11-18T09:00:00.000Z  update/succeeded    api=copilotos-api:0.9.4 web=copilotos-web:89abcdef0123 mongo=mongo:7.0 redis=redis:7.2-alpine",
        "   2  2026-11-15T08:00:00.000Z  update/succeeded    (no image refs)",
        "   1  2026-11-15T07:00:00.000Z  refresh/succeeded   (no image refs)",
        "",
      ].join("\n"),
    );
    const plan = planRollback("staging", HISTORY, 3);
    const text = describePlan(
      { ...plan, set: [...plan.set, { key: "copilotos:secretKey", value: "very-secret", secret: true }] },
      { api: "copilotos-api:0.9.5", mongo: "mongo:7.0" },
    );
    expect(text).toContain("  images.api: copilotos-api:0.9.5 -> copilotos-api:0.9.4\n");
    expect(text).toContain("  images.mongo: mongo:7.0 (unchanged)\n");
    expect(text).toContain("    copilotos:secretKey = [secret]\n");
    expect(text).not.toContain("very-secret");
  });
});

/** A backend that records every call and keeps a config it can apply and read back. */
function fakeBackend(opts: { exists?: boolean; previewFails?: boolean; setFailsAt?: number } = {}) {
  const calls: string[] = [];
  const config: Record<string, { value: string; secret?: boolean }> = {
    "copilotos:images": { value: '{"api":"copilotos-api:0.9.5","web":"copilotos-web:0.9.5"}' },
    "copilotos:api": { value: '{"env":{"LOG_LEVEL":"info"}}' },
    "copilotos:ports": { value: '{"api":8101}' },
  };
  const original = JSON.parse(JSON.stringify(config));
  const backend: StackBackend = {
    stackExists: async (s) => (calls.push(`exists ${s}`), opts.exists ?? true),
    history: async (s) => (calls.push(`history ${s}`), HISTORY),
    config: async () => JSON.parse(JSON.stringify(config)),
    removeConfig: async (_s, keys) => {
      calls.push(`remove ${keys.length} keys`);
      for (const k of keys) delete config[k];
    },
    setConfig: async (_s, entries) => {
      calls.push(`set ${entries.map((e) => e.key.replace("copilotos:", "")).join(",")}`);
      for (const [i, e] of entries.entries()) {
        if (opts.setFailsAt === i && !calls.some((c) => c.startsWith("set failed"))) {
          calls.push("set failed");
          throw new Error(`pulumi config set ${e.key}: exit status 255`);
        }
        const [top, ...rest] = e.key.split(".");
        const obj = JSON.parse(config[top]?.value ?? "{}") as Record<string, unknown>;
        let cur = obj;
        for (const p of rest.slice(0, -1)) cur = (cur[p] ??= {}) as Record<string, unknown>;
        cur[rest[rest.length - 1]] = e.value;
        config[top] = { value: JSON.stringify(obj) };
      }
    },
    preview: async (s, out) => {
      calls.push(`preview ${s}`);
      if (opts.previewFails) throw new Error("preview failed: policy violation");
      out("Previewing update (staging):\n ~ 2 to replace\n");
    },
    up: async (s) => void calls.push(`up ${s}`),
  };
  return { backend, calls, config, original };
}

const io = (answer?: string) => {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s), ask: answer === undefined ? undefined : async () => answer },
  };
};

describe("npm run rollback", () => {
  test("without --to it lists the updates and changes nothing", async () => {
    const f = fakeBackend();
    const t = io();
    expect(await rollback(["staging"], f.backend, t.io)).toBe(0);
    expect(t.out.join("")).toContain("   3  2026-11-18T09:00:00.000Z  update/succeeded    api=copilotos-api:0.9.4");
    expect(f.calls).toEqual(["exists staging", "history staging"]);
  });

  test("--to 3 --yes sets the config, previews, runs up", async () => {
    const f = fakeBackend();
    const t = io();
    expect(await rollback(["staging", "--to", "3", "--yes"], f.backend, t.io)).toBe(0);
    expect(f.calls).toEqual([
      "exists staging",
      "history staging",
      "remove 7 keys",
      "set api.env.ENVIRONMENT,api.env.LOG_LEVEL,api.env.SEARCH,resources.api.cpus,resources.api.memoryMb,images.api,images.mongo,images.redis,images.web",
      "preview staging",
      "up staging",
    ]);
    expect(JSON.parse(f.config["copilotos:images"].value)).toMatchObject({ api: "copilotos-api:0.9.4", web: "copilotos-web:89abcdef0123" });
    expect(f.config["copilotos:ports"]).toEqual(f.original["copilotos:ports"]);
    expect(t.out.join("")).toContain("~ 2 to replace");
  });

  test("declined at the prompt: the config is put back and up never runs", async () => {
    const f = fakeBackend();
    const t = io("prod");
    expect(await rollback(["staging", "--to", "3"], f.backend, t.io)).toBe(2);
    expect(f.calls).not.toContain("up staging");
    expect(f.config).toEqual(f.original);
    expect(t.err.join("")).toBe("rollback: not confirmed; the stack's config is back as it was, nothing changed\n");
  });

  test("a failing preview puts the config back too", async () => {
    const f = fakeBackend({ previewFails: true });
    const t = io("staging");
    expect(await rollback(["staging", "--to", "3"], f.backend, t.io)).toBe(1);
    expect(f.config).toEqual(f.original);
    expect(f.calls).not.toContain("up staging");
    expect(t.err.join("")).toBe("rollback: preview failed: policy violation; the stack's config is back as it was, nothing changed\n");
  });

  test.each([
    [["nosuch", "--to", "3"], { exists: false }, 1, "rollback: stack nosuch does not exist in this project's backend (pulumi stack ls lists them)\n"],
    [["staging", "--to", "9", "--yes"], {}, 1, "rollback: stack staging has no update 9 (its updates: 1–4)\n"],
    [["staging", "--to", "2", "--yes"], {}, 1, "rollback: update 2 has no image refs in its config (copilotos:images); choose another update\n"],
    [["staging", "--to", "three"], {}, 2, 'rollback: --to must be an update number (a whole number >= 1), not "three"\n'],
  ])("bad input %j fails clearly and changes nothing", async (argv, opts, code, message) => {
    const f = fakeBackend(opts);
    const t = io();
    expect(await rollback(argv, f.backend, t.io)).toBe(code);
    expect(t.err.join("")).toContain(message);
    expect(f.calls.filter((c) => /^(remove|set|preview|up)/.test(c))).toEqual([]);
    expect(f.config).toEqual(f.original);
  });

  test("no terminal and no --yes: refuses after the preview and puts the config back", async () => {
    const f = fakeBackend();
    const t = io();
    expect(await rollback(["staging", "--to", "3"], f.backend, t.io)).toBe(2);
    expect(t.err.join("")).toContain("no terminal to confirm on; pass --yes to run the update");
    expect(f.config).toEqual(f.original);
  });
});

describe("rollback defects (hardening)", () => {
  test("a config set that fails half-way puts the whole config back; nothing runs", async () => {
    const f = fakeBackend({ setFailsAt: 2 });
    const o = io();
    expect(await rollback(["staging", "--to", "3", "--yes"], f.backend, o.io)).toBe(1);
    expect(f.config).toEqual(f.original);
    expect(f.calls).not.toContain("up staging");
    expect(f.calls).not.toContain("preview staging");
    expect(o.err.join("")).toContain("exit status 255; the stack's config is back as it was, nothing changed");
  });

  test("history entries recorded as { secret: true } without a value: listed fine, and named when they would be restored", () => {
    const blind = HISTORY.map((h) =>
      h.version === 3 ? { ...h, config: { ...h.config, "copilotos:saptivaApiKey": { secret: true }, "copilotos:api": { secret: true } } } : h,
    );
    expect(formatHistory("staging", blind)).toContain("   3  ");
    expect(() => planRollback("staging", blind, 3)).toThrow(
      "the value of copilotos:api in that update cannot be read (no value recorded); run with access to the stack's secrets provider",
    );
  });

  test("--secrets keeps today's mongo.rotate: the Mongo password is never regenerated by a rollback", () => {
    const readable = HISTORY.map((h) =>
      h.version === 3
        ? {
            ...h,
            config: {
              ...h.config,
              "copilotos:saptivaApiKey": { value: "sk-old", secret: true },
              "copilotos:mongo": { value: '{"rotate":"2026-01","user":"copilotos_user"}' },
            },
          }
        : h,
    );
    const current = { "copilotos:mongo": { value: '{"rotate":"2026-11","user":"copilotos_user"}' } };
    const plan = planRollback("staging", readable, 3, { secrets: true, current });
    expect(plan.set.filter((x) => x.key.startsWith("copilotos:mongo."))).toEqual([
      { key: "copilotos:mongo.user", value: "copilotos_user", secret: false },
      { key: "copilotos:mongo.rotate", value: "2026-11", secret: false },
    ]);
    // Never rotated now: the old update's keeper stays out, and none is added.
    const none = planRollback("staging", readable, 3, { secrets: true, current: {} });
    expect(none.set.filter((x) => x.key === "copilotos:mongo.rotate")).toEqual([]);
  });
});

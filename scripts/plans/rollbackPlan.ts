/**
 * Rollback plans from stack history. Pure: history entries in (the shape `pulumi stack history
 * --json` prints and the Automation API returns), a plan out; no CLI, no backend.
 *
 * A rollback restores an earlier update's image refs *and* app config (env, resources, proxy,
 * health settings) as stack config. Secrets, host, ports, delivery and backup settings stay as
 * they are; with `secrets`, the secret keys and the Mongo rotation keeper roll back too.
 */
import { NAMESPACE } from "../../components/config/keys";
import { shownUrl } from "../../components/services/gitSource";
import { configValue } from "../stack/stackConfig";

/** A config value as history records it: `{ value, secret }`, a bare string (older CLIs), or `{ secret: true }` with no value (history read without the secrets provider). */
export type HistoryConfigValue = string | { value?: string; secret?: boolean };

export interface HistoryEntry {
  version?: number;
  kind: string;
  result: string;
  startTime: string | Date;
  message?: string;
  environment?: Record<string, string>;
  config?: Record<string, HistoryConfigValue>;
}

/** Top-level keys a rollback restores. */
export const APP_KEYS = ["images", "api", "web", "resources", "proxy", "health", "healthTimeoutSeconds"].map((k) => `${NAMESPACE}:${k}`);
/** Also restored with `secrets`: the secret overrides and the `mongo` block (its `rotate` keeper). */
export const SECRET_KEYS = ["mongoPassword", "redisPassword", "jwtSecretKey", "secretKey", "saptivaApiKey", "mongo"].map((k) => `${NAMESPACE}:${k}`);
export const SERVICES = ["api", "web", "mongo", "redis", "proxy"] as const;

export class RollbackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RollbackError";
  }
}

const valueOf = (v: HistoryConfigValue): string | undefined => (typeof v === "string" ? v : v.value);
const isSecret = (v: HistoryConfigValue) => typeof v !== "string" && v.secret === true;

/** A recorded value, structured ones parsed ({@link configValue}). */
function parsed(v: HistoryConfigValue | undefined): unknown {
  const text = v === undefined ? undefined : valueOf(v);
  return text === undefined ? undefined : configValue(text);
}

/**
 * The image refs an update ran: configured refs as they were; a build spec as the tag it was built
 * with (its `version`, else the first 12 digits of the update's `git.head`, as the program tags it).
 */
export function imageRefs(entry: HistoryEntry): Record<string, string> {
  const images = parsed(entry.config?.[`${NAMESPACE}:images`]);
  if (!images || typeof images !== "object") {
    throw new RollbackError(`update ${entry.version} has no image refs in its config (${NAMESPACE}:images); choose another update`);
  }
  const refs: Record<string, string> = {};
  for (const [service, source] of Object.entries(images as Record<string, unknown>)) {
    if (typeof source === "string") {
      refs[service] = source;
      continue;
    }
    const spec = source as { repository?: string; version?: string; git?: { url?: string; ref?: string } };
    // From a git source the tag is the fetched commit, which history does not record (its git.head is this project's).
    if (!spec.version && spec.git) {
      throw new RollbackError(
        `update ${entry.version} built images.${service} from ${spec.git.url ? shownUrl(spec.git.url) : "a git source"} at ${spec.git.ref ?? "main"} without a version, so its tag (the fetched commit) is not recorded; choose another update, or set images.${service}.version (or a ref) by hand`,
      );
    }
    const head = entry.environment?.["git.head"];
    if (!spec.version && (!head || entry.environment?.["git.dirty"] === "true")) {
      throw new RollbackError(
        `update ${entry.version} built images.${service} without a version ${head ? "from a checkout with uncommitted changes" : "outside git"}, so its tag is not recorded; choose another update or pass the ref by hand`,
      );
    }
    refs[service] = `${spec.repository ?? `${NAMESPACE}-${service}`}:${spec.version ?? head!.slice(0, 12)}`;
  }
  return refs;
}

/** One config entry to set: a full key path (`copilotos:api.env.LOG_LEVEL`) and its value. */
export interface ConfigSet {
  key: string;
  value: string;
  secret: boolean;
}

export interface RollbackPlan {
  stack: string;
  version: number;
  startTime: string;
  /** Image refs of the target update, per service. */
  images: Record<string, string>;
  /** Top-level keys removed first (all restored keys, so nothing of today's values lingers). */
  remove: string[];
  /** Then set, with `--path` semantics. */
  set: ConfigSet[];
}

/** `{ a: { b: "x" } }` under `ns:key` → `ns:key.a.b = "x"`; every leaf a string. */
function leaves(key: string, value: unknown, secret: boolean, out: ConfigSet[]): void {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) leaves(`${key}.${k}`, v, secret, out);
  } else {
    out.push({ key, value: typeof value === "string" ? value : JSON.stringify(value), secret });
  }
}

/** The config of `entry` for the restored keys, as removes and path sets. */
export function configPlan(config: Record<string, HistoryConfigValue>, keys: string[]): { remove: string[]; set: ConfigSet[] } {
  const set: ConfigSet[] = [];
  for (const key of keys) {
    const v = config[key];
    if (v === undefined) continue;
    const text = valueOf(v);
    if (text === undefined || (isSecret(v) && /^\[secret\]$|^ERROR_UNABLE_TO_DECRYPT$/.test(text))) {
      throw new RollbackError(
        `the value of ${key} in that update cannot be read (${text ?? "no value recorded"}); run with access to the stack's secrets provider`,
      );
    }
    leaves(key, parsed(v), isSecret(v), set);
  }
  return { remove: [...keys], set };
}

/** The Mongo rotation keeper: a rollback keeps today's value (see {@link planRollback}). */
export const ROTATE_KEY = `${NAMESPACE}:mongo.rotate`;

/**
 * With `secrets`, the `mongo` block comes back except `mongo.rotate`, which keeps today's value:
 * the generated password cannot be brought back (a changed keeper makes a new one, and rotates the
 * data to it), and the data holds today's password, so a rollback never changes it.
 */
export function planRollback(
  stack: string,
  history: HistoryEntry[],
  to: number,
  opts: { secrets?: boolean; current?: Record<string, HistoryConfigValue> } = {},
): RollbackPlan {
  const entry = history.find((h) => h.version === to);
  if (!entry) {
    const known = history.map((h) => h.version).filter((v): v is number => v !== undefined);
    throw new RollbackError(
      `stack ${stack} has no update ${to}${known.length ? ` (its updates: ${Math.min(...known)}–${Math.max(...known)})` : " (it has no history)"}`,
    );
  }
  if (entry.kind !== "update" || entry.result !== "succeeded") {
    throw new RollbackError(`update ${to} of ${stack} is a ${entry.result} ${entry.kind}, not a succeeded update; choose a succeeded update`);
  }
  const images = imageRefs(entry);
  const keys = [...APP_KEYS, ...(opts.secrets ? SECRET_KEYS : [])];
  const { remove, set } = configPlan(entry.config ?? {}, keys);
  // Built images come back as the refs they were built as: the program delivers them, it does not rebuild.
  const imageSets = set.filter((s) => !s.key.startsWith(`${NAMESPACE}:images.`) && s.key !== ROTATE_KEY);
  const rotate = (parsed(opts.current?.[`${NAMESPACE}:mongo`]) as { rotate?: unknown } | undefined)?.rotate;
  if (opts.secrets && rotate !== undefined) imageSets.push({ key: ROTATE_KEY, value: String(rotate), secret: false });
  for (const [service, ref] of Object.entries(images)) imageSets.push({ key: `${NAMESPACE}:images.${service}`, value: ref, secret: false });
  return { stack, version: to, startTime: new Date(entry.startTime).toISOString(), images, remove, set: imageSets };
}

/** The history as a table: newest first, with time, result and the image refs. */
export function formatHistory(stack: string, history: HistoryEntry[]): string {
  const rows = [...history]
    .filter((h) => h.version !== undefined)
    .sort((a, b) => (b.version ?? 0) - (a.version ?? 0))
    .map((h) => {
      let refs: string;
      try {
        const r = imageRefs(h);
        refs = SERVICES.filter((s) => r[s])
          .map((s) => `${s}=${r[s]}`)
          .join(" ");
      } catch {
        refs = "(no image refs)";
      }
      return `${String(h.version).padStart(4)}  ${new Date(h.startTime).toISOString()}  ${`${h.kind}/${h.result}`.padEnd(18)}  ${refs}`;
    });
  return [`Updates of ${stack} (newest first):`, "   #  started                   kind/result         images", ...rows].join("\n") + "\n";
}

/** What the plan changes, for the confirmation prompt (secret values never shown). */
export function describePlan(plan: RollbackPlan, currentImages: Record<string, string>): string {
  const lines = [`Rollback of ${plan.stack} to update ${plan.version} (${plan.startTime}):`];
  for (const s of SERVICES) {
    if (plan.images[s] === undefined) continue;
    const now = currentImages[s];
    lines.push(`  images.${s}: ${now === plan.images[s] ? `${now} (unchanged)` : `${now ?? "(unset)"} -> ${plan.images[s]}`}`);
  }
  lines.push(`  config restored: ${plan.remove.join(", ")}`);
  for (const s of plan.set.filter((x) => !x.key.includes(":images."))) lines.push(`    ${s.key} = ${s.secret ? "[secret]" : s.value}`);
  return lines.join("\n") + "\n";
}

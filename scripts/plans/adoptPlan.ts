/**
 * What `npm run adopt` would write, from the live compose deployment (its inventory) and the
 * operator's env file: the plan as text (no secret value in it), what is missing, and the config
 * entries (secrets flagged). Pure.
 */
import type { AdoptSpec, Inventory } from "../../components/renderers/operations/adopt";
import type { AppSecretName } from "../../components/renderers/services/appContract";
import type { ParsedConfig } from "../../components/config";

export type EnvSecrets = Record<string, string | undefined>;

export interface PlanInput {
  stack: string;
  spec: AdoptSpec;
  cfg: ParsedConfig;
  inventory: Inventory;
  /** The compose env file's values (`envs/.env`), or `{}` without one. */
  env: EnvSecrets;
  /** `user@host:port` of the host. */
  where: string;
  /** The app's own check of a secret (components/renderers/services/appContract.ts). */
  check: (name: AppSecretName, value: string) => string | undefined;
  /** The new `adopt.attempt` token. @default a time stamp */
  attempt?: string;
}

export interface AdoptionPlan {
  text: string;
  missing: string[];
  config: { key: string; value: string; secret: boolean }[];
}

/** Mongo's and Redis's data folders inside their containers. */
const DATA_PATHS = { mongo: "/data/db", redis: "/data" } as const;
/** Characters the app puts into its connection URLs unencoded (the config's own rule). */
const URL_SAFE = /^[A-Za-z0-9._~-]+$/;

/** Stack secret key ← the env file's variable (the seeds' names; the app's loader reads the same). */
const SECRETS: { key: string; env: string[]; app: AppSecretName; ifShort: string }[] = [
  { key: "mongoPassword", env: ["MONGODB_PASSWORD", "MONGO_INITDB_ROOT_PASSWORD"], app: "MONGODB_PASSWORD", ifShort: "" },
  { key: "redisPassword", env: ["REDIS_PASSWORD"], app: "REDIS_PASSWORD", ifShort: "the stack generates one (Redis keeps no password in its data)" },
  { key: "jwtSecretKey", env: ["JWT_SECRET_KEY"], app: "JWT_SECRET_KEY", ifShort: "the stack generates one (users sign in again)" },
  { key: "secretKey", env: ["SECRET_KEY"], app: "SECRET_KEY", ifShort: "the stack generates one (sessions signed with the old one end)" },
  { key: "saptivaApiKey", env: ["SAPTIVA_API_KEY"], app: "SAPTIVA_API_KEY", ifShort: "the stack keeps its own copilotos:saptivaApiKey" },
];

export function adoptionPlan(p: PlanInput): AdoptionPlan {
  const { spec, inventory, env } = p;
  const missing: string[] = [];
  const out: string[] = [`Adopting compose project ${spec.composeProject} on ${p.where} into stack ${p.stack}:`];
  const byService = (service: string) => inventory.containers.find((c) => c.service === service);
  out.push(`  containers: ${inventory.containers.map((c) => `${c.name} (${c.service}, ${c.image}, ${c.state})`).join(", ")}`);
  const withEnv = inventory.containers.filter((c) => c.env.length);
  if (withEnv.length) out.push(`  env names (the values stay on the host): ${withEnv.map((c) => `${c.name}: ${c.env.join(" ")}`).join("; ")}`);

  const taken: Record<"mongo" | "redis", string | undefined> = { mongo: undefined, redis: undefined };
  for (const svc of ["mongo", "redis"] as const) {
    const c = byService(spec.services[svc]);
    taken[svc] = c?.mounts.find((m) => m.path === DATA_PATHS[svc])?.volume;
    if (!taken[svc]) missing.push(`${svc}'s data volume (no container of service ${spec.services[svc]} mounts a volume at ${DATA_PATHS[svc]})`);
  }
  const driver = (v: string) => inventory.volumes.find((x) => x.name === v)?.driver ?? "driver unknown";
  const takenList = (["mongo", "redis"] as const).filter((s) => taken[s]).map((s) => `${s} <- ${taken[s]} (${driver(taken[s]!)})`);
  out.push(`  volumes taken over by name (never deleted by the stack): ${takenList.join(", ") || "none"}`);
  const left = inventory.volumes.filter((v) => v.name !== taken.mongo && v.name !== taken.redis);
  const mountOf = (v: string) => inventory.containers.flatMap((c) => c.mounts.filter((m) => m.volume === v).map((m) => `${m.path} of ${c.name}`))[0];
  if (left.length) {
    out.push(
      `  volumes left as they are: ${left
        .map(
          (v) => `${v.name} (${mountOf(v.name) ?? "unmounted"}${mountOf(v.name)?.startsWith("/data/configdb") ? ": a standalone mongod does not use it" : ""})`,
        )
        .join(", ")}`,
    );
  }
  out.push(`  images: compose runs ${[...new Set(inventory.containers.map((c) => c.image))].join(", ")}; the stack deploys its own (images.* in its config)`);
  const composePorts = inventory.containers.flatMap((c) => c.ports.map((port) => `${port} (${c.service})`));
  out.push(
    `  ports: compose publishes ${composePorts.join(", ") || "nothing"}; the stack's proxy publishes ${p.cfg.ports.api} (api), ${p.cfg.ports.web} (web); compose's are released at the cut-over`,
  );
  const api = byService(spec.services.api);
  if (api && !api.ports.includes(p.cfg.ports.api))
    out.push(`  note: compose's API is on ${api.ports.join(", ") || "no port"}; its clients must move to ${p.cfg.ports.api}`);

  const config: AdoptionPlan["config"] = [
    { key: "copilotos:adopt.composeProject", value: spec.composeProject, secret: false },
    ...(["mongo", "redis"] as const).filter((s) => taken[s]).map((s) => ({ key: `copilotos:adopt.volumes.${s}`, value: taken[s]!, secret: false })),
    { key: "copilotos:adopt.attempt", value: p.attempt ?? `t${new Date().toISOString().replace(/[-:.]/g, "")}`, secret: false },
  ];
  const user = env.MONGODB_USER ?? env.MONGO_INITDB_ROOT_USERNAME;
  if (user) config.push({ key: "copilotos:mongo.user", value: user, secret: false });

  const copied: string[] = [];
  const notCopied: string[] = [];
  for (const s of SECRETS) {
    const name = s.env.find((n) => env[n] !== undefined && env[n] !== "");
    const value = name ? env[name]! : undefined;
    const short = s.key !== "mongoPassword" && s.key !== "saptivaApiKey" && value !== undefined && value.length < p.cfg.secretLength;
    const problem =
      value === undefined
        ? "not in the env file"
        : (p.check(s.app, value) ??
          (["mongoPassword", "redisPassword"].includes(s.key) && !URL_SAFE.test(value) ? "not URL-safe (letters, digits, - _ . ~)" : undefined));
    if (value !== undefined && !problem && !short) {
      config.push({ key: `copilotos:${s.key}`, value, secret: true });
      copied.push(`${s.key} <- ${name}`);
    } else if (s.key === "mongoPassword") {
      const why = value === undefined ? `${s.env[0]} is not in the env file; pass --env-file envs/.env` : `${name} in the env file is ${problem}`;
      missing.push(`Mongo's password (${why}): Mongo keeps the one it was initialised with`);
    } else {
      notCopied.push(`${name ?? s.env[0]} (${short ? `shorter than secretLength ${p.cfg.secretLength}` : problem}: ${s.ifShort})`);
    }
  }
  out.push(
    `  config to write: ${config
      .filter((c) => !c.secret)
      .map((c) => `${c.key.replace(/^copilotos:/, "")}=${c.value}`)
      .join(", ")}`,
  );
  out.push(`  secrets copied from the env file as Pulumi secrets (values not shown): ${copied.join(", ") || "none"}`);
  if (notCopied.length) out.push(`  not copied: ${notCopied.join("; ")}`);
  out.push(`  missing: ${missing.length ? missing.join("; ") : "nothing"}`);
  out.push(
    "The cut-over happens in `pulumi up`: images and pre-flight first, then a verified backup of compose's Mongo, then compose's web, api, redis and mongodb",
    "are stopped (not removed) and the stack starts on the same volumes; if its gates fail, compose is started again and the update fails.",
    "",
  );
  return { text: out.join("\n"), missing, config };
}

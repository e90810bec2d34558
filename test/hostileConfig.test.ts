/**
 * Hostile input, table-driven: every string key of the schema gets quotes, `$()`, backticks, `;`,
 * newlines, `../`, a very long and a non-ASCII value. Each is either refused naming the key (no stack
 * trace, no value echoed), or provably harmless: the program runs, and every host script it
 * generates is run by sh against stand-in tools with a canary the injection would create; the canary
 * never appears.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError, configSchema, parseConfig } from "../components/config";
import { configRows } from "../scripts/reference/configTable";
import { AWS_HOST, runStack, SAPTIVA_KEY, SSH_HOST, SWARM_HOST } from "./support/program";

const work = fs.mkdtempSync(path.join(os.tmpdir(), "hostile-"));
const CANARY = path.join(work, "canary");
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const PAYLOADS: Record<string, string> = {
  quotes: `a'b"c`,
  subst: `$(touch ${CANARY})`,
  backticks: `\`touch ${CANARY}\``,
  semicolon: `x; touch ${CANARY}`,
  newline: `x\ntouch ${CANARY}`,
  traversal: "../../../etc/passwd",
  long: "a".repeat(5000),
  unicode: "ünïcødé ✓ 漢字",
};

const BASE: Record<string, Record<string, unknown>> = {
  local: { host: { kind: "local" } },
  ssh: { host: SSH_HOST },
  aws: { host: AWS_HOST },
  swarm: { host: SWARM_HOST },
};

/** Every string-valued key, with the host kind it needs; lists and maps get the payload as an item / a value. */
const KEYS = configRows(configSchema).filter((r) => /string/.test(r.type));

function rawWith(key: string, kind: string | undefined, type: string, value: string): Record<string, unknown> {
  const raw = JSON.parse(
    JSON.stringify({ saptivaApiKey: SAPTIVA_KEY, images: { api: "copilotos-api:1.2.3", web: "copilotos-web:1.2.3" }, ...BASE[kind ?? "ssh"] }),
  );
  if (key.startsWith("registry.")) raw.registry = { address: "ghcr.io", username: "deploy", password: "registry-token-0123456789" };
  if (key.startsWith("adopt.")) {
    raw.adopt = { composeProject: "infra", volumes: { mongo: "infra_mongodb_data", redis: "infra_redis_data" } };
    raw.mongoPassword = "compose-mongo-password-0123";
  }
  // Email alerts need their other fields and, with a user, its password: each key is tried on a valid receiver.
  if (key.startsWith("monitoring.alerts.email.")) {
    raw.monitoring = { alerts: { email: { to: "ops@example.com", from: "alerts@example.com", smarthost: "smtp.example.com:587", username: "alerts" } } };
    raw.alertSmtpPassword = "smtp-password";
  }
  if (key.startsWith("monitoring.alerts.slack.")) raw.alertSlackWebhookUrl = "https://hooks.slack.example/services/T0/B0/x";
  // An off-host target needs its other fields and its credential: each key is tried on a valid target.
  const target = /^backup\.offsite\.(sftp|s3|rest)\./.exec(key)?.[1];
  if (target)
    raw.backup = {
      offsite: {
        sftp: {
          sftp: {
            host: "backup.example.com",
            user: "restic",
            path: "/srv/restic",
            hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
          },
        },
        s3: { s3: { bucket: "copilotos-backups" } },
        rest: { rest: { url: "https://rest.example.com/copilotos", user: "copilotos" } },
      }[target],
    };
  if (target)
    Object.assign(raw, {
      offsiteSshKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n",
      offsiteS3AccessKeyId: "AKIAEXAMPLE",
      offsiteS3SecretAccessKey: "s3-secret",
      offsiteRestPassword: "rest-password",
    });
  const parts = key.split(".");
  let cur = raw;
  for (const p of parts.slice(0, -1)) cur = cur[p] ??= {};
  cur[parts[parts.length - 1]] = type.startsWith("list") ? [value] : type.startsWith("map") ? { EXTRA: value } : value;
  return raw;
}

const CASES = KEYS.flatMap((r) => Object.entries(PAYLOADS).map(([name, value]) => ({ key: r.key, kind: r.kind, type: r.type, name, value })));

test("the corpus is large: every string key times every payload", () => {
  expect(KEYS.length).toBeGreaterThanOrEqual(30);
  expect(CASES.length).toBeGreaterThanOrEqual(40 * 5);
});

/** Runs `script` with sh, stand-ins for the tools that reach a host, 2 s at most. */
function runScript(script: string): void {
  const bin = path.join(work, "bin");
  if (!fs.existsSync(bin)) {
    fs.mkdirSync(bin);
    for (const tool of ["docker", "curl", "ssh", "aws", "mongosh", "sleep"]) fs.writeFileSync(path.join(bin, tool), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  }
  spawnSync("sh", ["-c", script], { input: "", timeout: 2000, env: { PATH: `${bin}:/usr/bin:/bin`, HOME: work }, stdio: ["pipe", "ignore", "ignore"] });
}

const accepted: typeof CASES = [];

test("the canary runner works: an unquoted injection does create the canary (so its absence means something)", () => {
  runScript(`set -eu\nv=$(touch ${CANARY}); echo "$v"\n`);
  expect(fs.existsSync(CANARY)).toBe(true);
  fs.rmSync(CANARY);
});

test.each(CASES.map((c) => [c.key, c.kind ?? "", c.name, c]))("%s (%s) %s: refused naming the key, or accepted", (_k, _kind, _n, c) => {
  try {
    parseConfig(rawWith(c.key, c.kind, c.type, c.value));
    accepted.push(c);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const message = (e as Error).message;
    expect(message).toContain(`copilotos:${c.key}`);
    expect(message).not.toMatch(/\n\s+at /);
    if (c.value.length > 3) expect(message).not.toContain(c.value);
  }
});

test("every accepted hostile value is harmless: no generated host script creates the canary", async () => {
  // One program run per key: all four injections in one value (each was parsed on its own above).
  const COMBINED = `x; touch ${CANARY} $(touch ${CANARY}) \`touch ${CANARY}\`\ntouch ${CANARY}`;
  const injections = ["subst", "backticks", "semicolon", "newline"];
  const keys = [...new Map(accepted.filter((a) => injections.includes(a.name)).map((a) => [`${a.key}@${a.kind ?? ""}`, a])).values()];
  const carried: string[] = [];
  for (const c of keys) {
    const values = (() => {
      try {
        parseConfig(rawWith(c.key, c.kind, c.type, COMBINED));
        return [COMBINED];
      } catch {
        return accepted.filter((a) => a.key === c.key && a.kind === c.kind && injections.includes(a.name)).map((a) => a.value);
      }
    })();
    for (const value of values) {
      const keyFor = c.type.startsWith("map") ? `${c.key}.EXTRA` : c.type.startsWith("list") ? `${c.key}[0]` : c.key;
      const base = c.kind === "aws" ? "aws" : c.kind === "swarm" ? "swarm" : c.kind === "local" ? "dev" : "staging";
      const dir = base === "staging" ? undefined : path.join(__dirname, "fixtures");
      const given = `copilotos:${keyFor}=${value}`;
      const secret = /password|Key$|privateKey|secretKey/i.test(c.key);
      let run;
      try {
        run = await runStack(base, secret ? [] : [given], [`copilotos:saptivaApiKey=${SAPTIVA_KEY}`, ...(secret ? [given] : [])], dir);
      } catch (e) {
        // Refused by the program itself (the app's contract), naming the key: harmless too.
        expect((e as Error).message).toContain("copilotos:");
        continue;
      }
      for (const r of run.resources.filter((x) => x.type.startsWith("command:"))) {
        const script = r.inputs.create;
        if (typeof script !== "string" || !script.includes(`touch ${CANARY}`)) continue;
        carried.push(`${c.key} -> ${r.name}`);
        runScript(script);
        expect([c.key, r.name, fs.existsSync(CANARY)]).toEqual([c.key, r.name, false]);
      }
    }
  }
  // Accepted hostile values exist (free text: env values, secrets, AWS names, mongo.rotate); none
  // reaches a host script's text (they go to providers, files or env as data). Should one ever
  // reach a script, it has been run above against the canary, and this list names it for review.
  expect(keys.length).toBeGreaterThanOrEqual(10);
  // Reviewed: api.migrate is a command by design; each of its words is quoted, and the canary run
  // above proves the injection inert.
  expect(carried).toEqual(["api.migrate -> copilotos-api-migrate-run"]);
  expect(fs.existsSync(CANARY)).toBe(false);
}, 300000);

import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { ConfigError, parseConfig, rawFromAllConfig } from "../components/config";
import {
  ALERTMANAGER_IMAGE,
  BLACKBOX_IMAGE,
  CERTBOT_IMAGE,
  FIREWALL_IMAGE,
  NODE_EXPORTER_IMAGE,
  PROMETHEUS_IMAGE,
  REDIS_EXPORTER_IMAGE,
  RESTIC_IMAGE,
} from "../components/config/images";
import { monitoringEnabled } from "../components/config/monitoring";
import { minimalConfig, problemsOf } from "./support/config";

const SECRET = "k".repeat(40);
const valid = minimalConfig;

describe("monitoring", () => {
  test("defaults: on for prod only, the documented thresholds and alert timings, no checks and no receivers", () => {
    const m = parseConfig(valid()).monitoring;
    expect([
      monitoringEnabled(m, "prod"),
      monitoringEnabled(m, "staging"),
      monitoringEnabled({ ...m, enabled: true }, "staging"),
      monitoringEnabled({ ...m, enabled: false }, "prod"),
    ]).toEqual([true, false, true, false]);
    expect(m).toEqual({
      scrapeIntervalSeconds: 15,
      evaluationIntervalSeconds: 15,
      retentionDays: 15,
      thresholds: {
        diskFreePercent: 10,
        memoryAvailablePercent: 10,
        certificateDays: 14,
        backupMaxAgeHours: 26,
        redisMemoryPercent: 90,
        restarts: 3,
        restartWindowMinutes: 15,
        proxyErrorPercent: 5,
      },
      checks: [],
      alerts: { groupWaitSeconds: 10, groupIntervalMinutes: 5, repeatIntervalHours: 4 },
    });
  });

  test("a receiver without its secret, a secret without its receiver, or a bad check is refused by key with the fix", () => {
    const problems = (raw: Record<string, unknown>) => {
      try {
        parseConfig({ ...valid(), ...raw });
        return [];
      } catch (e) {
        return (e as ConfigError).problems.map((p) => `${p.key}: ${p.message}`);
      }
    };
    expect(problems({ monitoring: { alerts: { slack: { channel: "#ops" } } } })).toEqual([
      "copilotos:alertSlackWebhookUrl: is required with monitoring.alerts.slack: pulumi config set --secret copilotos:alertSlackWebhookUrl <incoming webhook URL>",
    ]);
    expect(problems({ alertSlackWebhookUrl: "https://hooks.slack.example/x" })).toEqual([
      "copilotos:monitoring.alerts.slack: is required with copilotos:alertSlackWebhookUrl: it names the channel ({ channel: '#ops' })",
    ]);
    expect(
      problems({ monitoring: { alerts: { email: { to: "a@example.com", from: "b@example.com", smarthost: "smtp.example.com:587", username: "u" } } } }),
    ).toEqual([
      "copilotos:alertSmtpPassword: is required with monitoring.alerts.email.username: pulumi config set --secret copilotos:alertSmtpPassword <password>",
    ]);
    expect(problems({ alertWebhookUrl: "not a url" })).toEqual(["copilotos:alertWebhookUrl: must be an http(s) URL"]);
    expect(problems({ monitoring: { checks: [{ name: "Login Page", url: "http://proxy:3000/login" }] } })).toEqual([
      "copilotos:monitoring.checks.0.name: must be lower-case letters, digits and dashes (the alert's check label)",
    ]);
    expect(problems({ monitoring: { checks: '[{"name":"login","url":"http://proxy:3000/login","contains":"Sign in"}]' } })).toEqual([]);
    expect(
      problems({
        alertWebhookUrl: "https://hooks.example/x",
        monitoring: { alerts: { slack: { channel: "#ops" } } },
        alertSlackWebhookUrl: "https://hooks.slack.example/x",
      }),
    ).toEqual([]);
  });
});

describe("parseConfig defaults", () => {
  test("a minimal config gets the documented defaults", () => {
    const c = parseConfig(valid());
    expect(c.host).toEqual({ kind: "local", socket: "unix:///var/run/docker.sock" });
    expect(c.images).toEqual({
      api: "copilotos-api:1.2.3",
      web: "copilotos-web:1.2.3",
      mongo: "mongo:7",
      redis: "redis:7-alpine",
      proxy: "nginx:1.27-alpine",
      restic: RESTIC_IMAGE,
      firewall: FIREWALL_IMAGE,
      certbot: CERTBOT_IMAGE,
      prometheus: PROMETHEUS_IMAGE,
      alertmanager: ALERTMANAGER_IMAGE,
      blackbox: BLACKBOX_IMAGE,
      nodeExporter: NODE_EXPORTER_IMAGE,
      redisExporter: REDIS_EXPORTER_IMAGE,
    });
    for (const image of [PROMETHEUS_IMAGE, ALERTMANAGER_IMAGE, BLACKBOX_IMAGE, NODE_EXPORTER_IMAGE, REDIS_EXPORTER_IMAGE])
      expect(image).toMatch(/:v[0-9.]+@sha256:[0-9a-f]{64}$/);
    expect(c.ports).toEqual({ web: 3000, api: 8001 });
    expect(c.secretLength).toBe(32);
    expect(c.mongo).toEqual({ user: "copilotos_user", database: "copilotos" });
    expect(c.api.env).toEqual({});
    expect(c.resources.mongo).toEqual({ memoryMb: 1024, cpus: 1 });
    expect(c.protectData).toBe(false);
  });

  test("strings from `pulumi config set` are read as numbers and booleans", () => {
    const c = parseConfig({ ...valid(), secretLength: "48", protectData: "true", ports: { web: "3100", api: 8101, mongo: "27018" } });
    expect(c.secretLength).toBe(48);
    expect(c.protectData).toBe(true);
    expect(c.ports).toEqual({ web: 3100, api: 8101, mongo: 27018 });
  });

  test("an ssh host keeps its pinned key and gets port 22 and a dial timeout", () => {
    const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC14sYWFiDHgTKJ0Qp2N7SZUdlgOt/qxwjm5T3A8C1kT";
    const c = parseConfig({ ...valid(), host: { kind: "ssh", address: "10.0.0.5", user: "deploy", hostKey } });
    expect(c.host).toEqual({
      kind: "ssh",
      address: "10.0.0.5",
      user: "deploy",
      hostKey,
      port: 22,
      connectTimeoutSeconds: 10,
      firewall: { enabled: true, sshCidrs: ["0.0.0.0/0", "::/0"], appCidrs: ["0.0.0.0/0", "::/0"], extraPorts: [], trialSeconds: 60 },
      osUpdates: { enabled: true, reboot: "never", rebootTime: "04:00" },
    });
  });

  test("digests are accepted for every image", () => {
    const digest = `@sha256:${"a".repeat(64)}`;
    const c = parseConfig({ ...valid(), images: { api: `api${digest}`, web: `registry.local:5000/web:2${digest}`, mongo: `mongo${digest}` } });
    expect(c.images.mongo).toBe(`mongo${digest}`);
  });

  test("rawFromAllConfig keeps this project's keys and parses structured values", () => {
    expect(rawFromAllConfig({ "copilotos:ports": '{"web":3001}', "copilotos:secretLength": "40", "docker:host": "x" })).toEqual({
      ports: { web: 3001 },
      secretLength: "40",
    });
  });
});

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC14sYWFiDHgTKJ0Qp2N7SZUdlgOt/qxwjm5T3A8C1kT";
const ssh = (h: Record<string, unknown>) => ({ ...valid(), host: { kind: "ssh", address: "h", user: "u", hostKey: HOST_KEY, ...h } });
const without = <T extends Record<string, unknown>>(o: T, k: keyof T) => Object.fromEntries(Object.entries(o).filter(([key]) => key !== k));

// [description, raw config, exact key path expected in the error]
const BROKEN: [string, Record<string, unknown>, string][] = [
  ["empty saptivaApiKey", { ...valid(), saptivaApiKey: "" }, "copilotos:saptivaApiKey"],
  ["secretLength 16", { ...valid(), secretLength: "16" }, "copilotos:secretLength"],
  ["secretLength not a number", { ...valid(), secretLength: "long" }, "copilotos:secretLength"],
  ["unknown top-level key", { ...valid(), mongoPasword: "x" }, "copilotos:mongoPasword"],
  ["unknown nested key", { ...valid(), ports: { wbe: 3000 } }, "copilotos:ports.wbe"],
  ["bad image reference", { ...valid(), images: { api: "Copilotos API!", web: "w:1" } }, "copilotos:images.api"],
  ["latest tag for mongo", { ...valid(), images: { ...valid().images, mongo: "mongo:latest" } }, "copilotos:images.mongo"],
  ["untagged redis", { ...valid(), images: { ...valid().images, redis: "redis" } }, "copilotos:images.redis"],
  ["missing web image", { ...valid(), images: { api: "a:1" } }, "copilotos:images.web"],
  ["port 0", { ...valid(), ports: { web: 0 } }, "copilotos:ports.web"],
  ["port 70000", { ...valid(), ports: { api: 70000 } }, "copilotos:ports.api"],
  ["fractional mongo port", { ...valid(), ports: { mongo: 27017.5 } }, "copilotos:ports.mongo"],
  ["ssh host without address", ssh({ address: undefined }), "copilotos:host.address"],
  ["ssh host without user", ssh({ user: undefined }), "copilotos:host.user"],
  ["ssh host without a pinned host key", ssh({ hostKey: undefined }), "copilotos:host.hostKey"],
  ["malformed host key", ssh({ hostKey: "not-a-key" }), "copilotos:host.hostKey"],
  ["unknown host kind", { ...valid(), host: { kind: "kubernetes" } }, "copilotos:host.kind"],
  ["key of the other host kind", { ...valid(), host: { kind: "local", address: "h" } }, "copilotos:host.address"],
  ["mongo password shorter than secretLength", { ...valid(), mongoPassword: "short-password" }, "copilotos:mongoPassword"],
  ["bad env variable name", { ...valid(), api: { env: { "BAD-NAME": "1" } } }, "copilotos:api.env.BAD-NAME"],
  ["memory below 64 MiB", { ...valid(), resources: { api: { memoryMb: 16 } } }, "copilotos:resources.api.memoryMb"],
  ["protectData not a boolean", { ...valid(), protectData: "yes" }, "copilotos:protectData"],
];

describe("parseConfig rejects broken configs, naming the key", () => {
  test.each(BROKEN)("%s", (_name, raw, key) => {
    const problems = problemsOf(raw);
    expect(problems.map((p) => p.key)).toContain(key);
    const problem = problems.find((p) => p.key === key)!;
    expect(problem.fix).toMatch(/^pulumi config (set|rm) /);
  });

  test.each([
    [
      "a Saptiva key the app's format check refuses",
      { saptivaApiKey: "abcdefghij" },
      "copilotos:saptivaApiKey",
      "is not in the app's API key format (it starts with va-ai- or sk-, or is at least 32 characters)",
    ],
    ["a weak Redis password", { redisPassword: "changeme" }, "copilotos:redisPassword", "is a weak default value the app refuses for REDIS_PASSWORD"],
    [
      "a Mongo password the app pastes unencoded into its URL",
      { mongoPassword: "p@ss:" + "w".repeat(40) },
      "copilotos:mongoPassword",
      "is holding characters the app would paste unencoded",
    ],
  ])("what the app itself would refuse at start: %s", (_n, extra, key, message) => {
    const problems = problemsOf({ ...valid(), ...extra });
    expect(problems.find((p) => p.key === key)?.message).toContain(message);
    const value = Object.values(extra)[0];
    expect(JSON.stringify(problems)).not.toContain(value);
  });

  test("valid app secrets pass: va-ai- and sk- keys, URL-safe passwords", () => {
    expect(() => parseConfig({ ...valid(), saptivaApiKey: "va-ai-01234", mongoPassword: "A-b_c.d~" + "e".repeat(40) })).not.toThrow();
    expect(() => parseConfig({ ...valid(), saptivaApiKey: "sk-01234567" })).not.toThrow();
  });

  test("a missing saptivaApiKey is no error (the app reads it as optional); an empty one says the exact command that fixes it", () => {
    expect(parseConfig(without(valid(), "saptivaApiKey")).saptivaApiKey).toBeUndefined();
    const [p] = problemsOf({ ...valid(), saptivaApiKey: "" });
    expect(p.fix).toBe("pulumi config set --secret copilotos:saptivaApiKey <your-saptiva-api-key>");
  });

  test("a typo gets a did-you-mean and the rm command", () => {
    const [p] = problemsOf({ ...valid(), ports: { wbe: 3000 } });
    expect(p.message).toContain('did you mean "ports.web"');
    expect(p.fix).toBe("pulumi config rm --path copilotos:ports.wbe");
  });

  test("every problem is in the error message, and no secret value is", () => {
    const secret = "p@ss-word-that-must-never-be-printed";
    try {
      parseConfig({ ...valid(), saptivaApiKey: secret, mongoPassword: secret, secretLength: 40, ports: { web: 0 } });
      throw new Error("expected a ConfigError");
    } catch (e) {
      const msg = (e as Error).message;
      expect(msg).toContain("copilotos:ports.web");
      expect(msg).not.toContain(secret);
      expect(msg).not.toContain(SECRET);
    }
  });
});

describe("Pulumi.yaml", () => {
  const project = parseYaml(fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8")) as {
    name: string;
    config: Record<string, { default?: unknown; type?: string; secret?: boolean }>;
  };

  test("names the project; saptivaApiKey is not declared there, since a stack runs without it", () => {
    expect(project.name).toBe("copilotos");
    expect(project.config.saptivaApiKey).toBeUndefined();
  });

  test("declares exactly the keys the program cannot run without, with no default of its own (defaults live in the schema)", () => {
    expect(Object.keys(project.config).sort()).toEqual(["images"]);
    for (const decl of Object.values(project.config)) expect(decl.default).toBeUndefined();
  });

  test("every declared key is a key of the schema", () => {
    for (const key of Object.keys(project.config)) {
      const raw = { ...valid(), [key]: project.config[key].default ?? (valid() as Record<string, unknown>)[key] };
      expect(() => parseConfig(raw)).not.toThrow();
    }
  });
});

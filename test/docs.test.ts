/** The config reference (docs/configuration.md) and Pulumi.yaml's declarations are generated from the zod schema; this fails when they are stale. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { configSchema } from "../components/config";
import { z } from "zod";
import { docsConfig, GENERATED } from "../scripts/docs";
import { configRows, configTable, TABLE_END, TABLE_START } from "../scripts/reference/configTable";

const ROOT = path.join(__dirname, "..");

test("docs/configuration.md and Pulumi.yaml are what the schema generates (run npm run docs:config if this fails)", () => {
  expect(docsConfig(["--check"], ROOT)).toEqual({ code: 0, message: "docs:config: docs/configuration.md and Pulumi.yaml are up to date\n" });
});

test("rows come from the schema: required keys, defaults, host kinds and secrets", () => {
  const rows = configRows(configSchema);
  expect(rows.filter((r) => r.required).map((r) => (r.kind ? `${r.key}@${r.kind}` : r.key))).toEqual([
    "host.address@ssh",
    "host.user@ssh",
    "host.hostKey@ssh",
    "host.region@aws",
    "host.availabilityZone@aws",
    "host.publicKey@aws",
    "host.sshCidrs@aws",
    "host.address@swarm",
    "host.user@swarm",
    "host.hostKey@swarm",
    "host.nodes@swarm",
    "host.dataNode@swarm",
    "images.api",
    "images.web",
  ]);
  expect(rows.filter((r) => r.secret).map((r) => r.key)).toEqual([
    "host.privateKey",
    "host.privateKey",
    "host.privateKey",
    "saptivaApiKey",
    "mongoPassword",
    "redisPassword",
    "jwtSecretKey",
    "secretKey",
    "offsiteSshKey",
    "offsiteS3AccessKeyId",
    "offsiteS3SecretAccessKey",
    "offsiteRestPassword",
    "alertWebhookUrl",
    "alertSlackWebhookUrl",
    "alertSmtpPassword",
    "registry.password",
    "tls.key",
  ]);
  expect(rows.find((r) => r.key === "host.kind")).toEqual({
    key: "host.kind",
    type: "`local` \\| `ssh` \\| `aws` \\| `swarm`",
    default: '"local"',
    required: false,
    secret: false,
    description:
      "`local`: the Docker engine of the machine running Pulumi; `ssh`: a host you run; `aws`: an EC2 instance the stack creates; `swarm`: a Docker Swarm reached at a manager",
  });
  expect(rows.find((r) => r.key === "backup.keep")).toEqual({
    key: "backup.keep",
    type: "integer",
    default: "7",
    required: false,
    secret: false,
    description: "newest archives of this stack kept on the host, whatever their age",
  });
  expect(rows.find((r) => r.key === "host.user" && r.kind === "aws")).toMatchObject({ default: '"admin"', description: "login user of the AMI" });
  expect(rows.find((r) => r.key === "resources.api.cpus")).toMatchObject({ type: "number", default: "0.5" });
});

test("a key whose schema has no description is an error naming it", () => {
  const schema = z.strictObject({ a: z.string().describe("the a"), b: z.strictObject({ c: z.number().default(1).describe("the c") }) });
  expect(configTable(schema)).toContain("| `a` | string | **required** | the a |\n| `b.c` | number | `1` | the c |");
  const without = z.strictObject({ a: z.string().describe("the a"), b: z.strictObject({ c: z.number().default(1) }), d: z.boolean().optional() });
  expect(() => configTable(without)).toThrow("config keys without a description (add .describe() in components/config/): b.c, d");
});

test("--check reports stale files without touching them; without --check they are rewritten", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "docs-"));
  try {
    fs.mkdirSync(path.join(dir, "docs"));
    for (const g of GENERATED) fs.copyFileSync(path.join(ROOT, g.file), path.join(dir, g.file));
    const table = path.join(dir, "docs", "configuration.md");
    const project = path.join(dir, "Pulumi.yaml");
    const fresh = { table: fs.readFileSync(table, "utf8"), project: fs.readFileSync(project, "utf8") };
    const stale = {
      table: fresh.table.replace("| `backup.keep` | integer | `7` |", "| `backup.keep` | integer | `5` |"),
      project: fresh.project.replace("images.web: same as", "images.web: unlike"),
    };
    expect(stale.table).not.toBe(fresh.table);
    expect(stale.project).not.toBe(fresh.project);
    fs.writeFileSync(table, stale.table);
    fs.writeFileSync(project, stale.project);
    expect(docsConfig(["--check"], dir)).toEqual({ code: 1, message: "docs:config: docs/configuration.md, Pulumi.yaml stale; run npm run docs:config\n" });
    expect([fs.readFileSync(table, "utf8"), fs.readFileSync(project, "utf8")]).toEqual([stale.table, stale.project]);
    expect(docsConfig([], dir)).toEqual({ code: 0, message: "docs:config: docs/configuration.md, Pulumi.yaml rewritten\n" });
    expect([fs.readFileSync(table, "utf8"), fs.readFileSync(project, "utf8")]).toEqual([fresh.table, fresh.project]);
    expect(docsConfig(["--check"], dir).code).toBe(0);
    fs.writeFileSync(table, "# no markers\n");
    expect(() => docsConfig([], dir)).toThrow(`docs/configuration.md has no ${TABLE_START} … ${TABLE_END} markers`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** The README's config reference is generated from the zod schema, and this fails when it is stale. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { configSchema } from "../components/config";
import { docsConfig } from "../scripts/docs";
import { CONFIG_DOCS } from "../scripts/lib/configDocs";
import { configRows, configTable, TABLE_END, TABLE_START, withTable } from "../scripts/lib/configTable";

const README = path.join(__dirname, "..", "README.md");

test("README.md's config table is the one the schema generates (run npm run docs:config if this fails)", () => {
  const readme = fs.readFileSync(README, "utf8");
  expect(withTable(readme, configTable(configSchema))).toBe(readme);
});

test("rows come from the schema: required keys, defaults, host kinds and secrets", () => {
  const rows = configRows(configSchema);
  expect(rows.filter((r) => r.required).map((r) => (r.kind ? `${r.key}@${r.kind}` : r.key))).toEqual([
    "host.address@ssh", "host.user@ssh", "host.hostKey@ssh",
    "host.region@aws", "host.availabilityZone@aws", "host.publicKey@aws", "host.sshCidrs@aws",
    "images.api", "images.web", "saptivaApiKey",
  ]);
  expect(rows.filter((r) => r.secret).map((r) => r.key)).toEqual(["host.privateKey", "host.privateKey", "saptivaApiKey", "mongoPassword", "redisPassword", "jwtSecretKey", "secretKey", "registry.password"]);
  expect(rows.find((r) => r.key === "host.kind")).toEqual({ key: "host.kind", type: "`local` \\| `ssh` \\| `aws`", default: '"local"', required: false, secret: false });
  expect(rows.find((r) => r.key === "backup.keep")).toEqual({ key: "backup.keep", type: "integer", default: "7", required: false, secret: false });
  expect(rows.find((r) => r.key === "resources.api.cpus")).toMatchObject({ type: "number", default: "0.5" });
});

test("a key without a description, or a description of a key that is gone, is an error naming it", () => {
  const { ["backup.s3"]: _dropped, ...missing } = CONFIG_DOCS;
  expect(() => configTable(configSchema, missing)).toThrow("config keys without a description in scripts/lib/configDocs.ts: backup.s3");
  expect(() => configTable(configSchema, { ...CONFIG_DOCS, "backup.bucket": "x" })).toThrow("descriptions of keys the schema does not have: backup.bucket");
});

test("--check reports a stale README without touching it; without --check it is rewritten", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "docs-"));
  try {
    const file = path.join(dir, "README.md");
    const fresh = fs.readFileSync(README, "utf8");
    const stale = fresh.replace("| `backup.keep` | integer | `7` |", "| `backup.keep` | integer | `5` |");
    expect(stale).not.toBe(fresh);
    fs.writeFileSync(file, stale);
    expect(docsConfig(["--check"], file)).toEqual({ code: 1, message: "docs:config: README.md config reference is stale; run npm run docs:config\n" });
    expect(fs.readFileSync(file, "utf8")).toBe(stale);
    expect(docsConfig([], file).code).toBe(0);
    expect(fs.readFileSync(file, "utf8")).toBe(fresh);
    expect(docsConfig(["--check"], file).code).toBe(0);
    fs.writeFileSync(file, "# no markers\n");
    expect(() => docsConfig([], file)).toThrow(`README.md has no ${TABLE_START} … ${TABLE_END} markers`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

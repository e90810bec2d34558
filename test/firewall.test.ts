/**
 * The host firewall's renderers without a host: the entries, the table they make (checked by the real
 * nft), the refusal of rules that would shut out the deploying SSH connection (run by sh), and how the
 * program wires the two steps. The rules on a real host: test/e2e/firewall.test.ts.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseConfig } from "../components/config";
import { firewallEntries, firewallTrialScript, FirewallSpec, rulesetLine, sshAdmissionLines } from "../components/renderers/hosts/firewall";
import { lines } from "../components/renderers/shell";
import { minimalConfig } from "./support/config";
import { runStack, SAPTIVA_KEY } from "./support/program";

const SPEC: FirewallSpec = {
  stack: "copilotos-prod",
  sshPort: 22,
  sshSources: ["203.0.113.0/24"],
  ports: [3000, 8001],
  sources: ["0.0.0.0/0", "::/0"],
  image: "nft:1",
  trialSeconds: 60,
  dir: "~/.copilotos/firewall",
};

let dir: string;
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "cpt-fw-"))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
const sh = (script: string, env: Record<string, string> = {}) =>
  spawnSync("sh", ["-c", script], { encoding: "utf8", env: { PATH: process.env.PATH ?? "", dir, ...env } });

test("the entries: SSH from its ranges, then each proxy port from each app range", () => {
  expect(firewallEntries(SPEC)).toBe("203.0.113.0/24 22\n0.0.0.0/0 3000\n::/0 3000\n0.0.0.0/0 8001\n::/0 8001\n");
});

test("the table the entries make, exactly, and the real nft accepts it", () => {
  fs.writeFileSync(path.join(dir, "e"), firewallEntries(SPEC));
  const r = sh(rulesetLine('"$dir/e"', '"$dir/ruleset.nft"'));
  expect(r.stderr).toBe("");
  const table = fs.readFileSync(path.join(dir, "ruleset.nft"), "utf8");
  expect(table).toBe(
    [
      "table inet copilotos",
      "delete table inet copilotos",
      "table inet copilotos {",
      "  chain input {",
      "    type filter hook input priority filter - 1; policy accept;",
      "    ct state established,related accept",
      '    iif "lo" accept',
      '    iifname "docker0" accept',
      '    iifname "br-*" accept',
      "    meta l4proto { 1, 58 } accept",
      "    ip saddr 203.0.113.0/24 tcp dport 22 accept",
      "    ip saddr 0.0.0.0/0 tcp dport 3000 accept",
      "    ip6 saddr ::/0 tcp dport 3000 accept",
      "    ip saddr 0.0.0.0/0 tcp dport 8001 accept",
      "    ip6 saddr ::/0 tcp dport 8001 accept",
      "    ct state new counter drop",
      "  }",
      "  chain forward {",
      "    type filter hook forward priority filter - 1; policy accept;",
      "    ct state established,related accept",
      '    iifname "docker0" accept',
      '    iifname "br-*" accept',
      "    ct status dnat ip saddr 203.0.113.0/24 meta l4proto tcp ct original proto-dst 22 accept",
      "    ct status dnat ip saddr 0.0.0.0/0 meta l4proto tcp ct original proto-dst 3000 accept",
      "    ct status dnat ip6 saddr ::/0 meta l4proto tcp ct original proto-dst 3000 accept",
      "    ct status dnat ip saddr 0.0.0.0/0 meta l4proto tcp ct original proto-dst 8001 accept",
      "    ct status dnat ip6 saddr ::/0 meta l4proto tcp ct original proto-dst 8001 accept",
      "    ct status dnat counter drop",
      '    oifname "docker0" drop',
      '    oifname "br-*" drop',
      "  }",
      "}",
      "",
    ].join("\n"),
  );
  // `-c`: parsed and checked by the kernel's nftables, applied nowhere.
  const check = spawnSync("nft", ["-c", "-f", path.join(dir, "ruleset.nft")], { encoding: "utf8" });
  expect(check.stderr).toBe("");
  expect(check.status).toBe(0);
});

describe("the trial refuses rules that would not admit the SSH connection it runs over", () => {
  const admit = (entries: string, connection?: string) => {
    fs.writeFileSync(path.join(dir, ".entries.check"), entries);
    fs.writeFileSync(path.join(dir, ".copilotos-prod.entries.new"), entries);
    return sh(lines("set -eu", ...sshAdmissionLines("copilotos-prod"), "echo admitted"), connection === undefined ? {} : { SSH_CONNECTION: connection });
  };
  test.each([
    ["its address in the range, its port", "203.0.113.0/24 22\n", "203.0.113.9 50000 10.0.0.2 22"],
    ["any address", "0.0.0.0/0 22\n", "198.51.100.7 50000 10.0.0.2 22"],
    ["a /32 that is its address", "198.51.100.7/32 2222\n", "198.51.100.7 50000 10.0.0.2 2222"],
    ["from loopback, which the table always admits", "203.0.113.0/24 22\n", "127.0.0.1 50000 127.0.0.1 22"],
    ["IPv6 from ::/0", "::/0 22\n", "2001:db8::7 50000 2001:db8::2 22"],
  ])("admits: %s", (_, entries, connection) => {
    const r = admit(entries, connection);
    expect(r.stdout).toBe("admitted\n");
    expect(r.status).toBe(0);
  });
  test("an IPv6 range it cannot check here: admitted, the trial guarding SSH", () => {
    const r = admit("2001:db8::/48 22\n", "2001:db8::7 50000 2001:db8::2 22");
    expect(r.stdout).toBe("firewall: cannot tell here whether an IPv6 range admits 2001:db8::7: the trial keeps SSH safe\nadmitted\n");
  });
  test.each([
    ["an address outside the range", "203.0.113.0/24 22\n", "198.51.100.7 50000 10.0.0.2 22", "198.51.100.7", "22"],
    ["a /32 next to its address", "198.51.100.8/32 22\n", "198.51.100.7 50000 10.0.0.2 22", "198.51.100.7", "22"],
    ["another port than the one it came in on", "0.0.0.0/0 22\n", "198.51.100.7 50000 10.0.0.2 2222", "198.51.100.7", "2222"],
    ["an IPv4 client and only IPv6 ranges", "::/0 22\n", "198.51.100.7 50000 10.0.0.2 22", "198.51.100.7", "22"],
  ])("refuses: %s, naming the keys, and leaves no new entries", (_, entries, connection, client, port) => {
    const r = admit(entries, connection);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      `firewall: these rules would not admit this SSH connection (from ${client} to port ${port}): add ${client} to host.firewall.sshCidrs, or set host.firewall.sshPort to ${port}; nothing was changed\n`,
    );
    expect(fs.existsSync(path.join(dir, ".copilotos-prod.entries.new"))).toBe(false);
  });
  test("refuses when not run over SSH at all", () => {
    const r = admit("0.0.0.0/0 22\n");
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("firewall: not run over SSH (no SSH_CONNECTION): cannot tell which connection the rules must keep; nothing was changed\n");
  });
});

test("the trial script names its entries in the stack's file and its trial in its last line", () => {
  const script = firewallTrialScript(SPEC);
  expect(script).toContain(`printf '%s' '203.0.113.0/24 22\n0.0.0.0/0 3000\n::/0 3000\n0.0.0.0/0 8001\n::/0 8001\n' > "$dir/.copilotos-prod.entries.new"`);
  expect(script.trimEnd().split("\n").pop()).toBe(
    'echo "firewall: copilotos-prod: SSH (22) from 203.0.113.0/24, ports 3000 8001 from 0.0.0.0/0 ::/0; every other inbound port closed, on trial for 60 s until a new SSH connection confirms it"',
  );
});

describe("config: host.firewall", () => {
  const ssh = {
    kind: "ssh",
    address: "203.0.113.10",
    user: "deploy",
    hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPNaJEdLb0VpyCOIB0Z1GJl9ytMtv8IshLFrdNJdz7rk",
  };
  test("on by default for an ssh host, open to any address, SSH on host.port", () => {
    const cfg = parseConfig({ ...minimalConfig(), host: { ...ssh, port: 2222 } });
    expect(cfg.host.kind === "ssh" && cfg.host.firewall).toEqual({
      enabled: true,
      sshCidrs: ["0.0.0.0/0", "::/0"],
      appCidrs: ["0.0.0.0/0", "::/0"],
      extraPorts: [],
      trialSeconds: 60,
    });
  });
  test.each([
    [{ sshCidrs: ["10.0.0.0/33"] }, "copilotos:host.firewall.sshCidrs.0"],
    [{ appCidrs: [] }, "copilotos:host.firewall.appCidrs"],
    [{ trialSeconds: 5 }, "copilotos:host.firewall.trialSeconds"],
    [{ open: true }, "copilotos:host.firewall"],
  ])("%j is refused by key", (firewall, key) => {
    expect(() => parseConfig({ ...minimalConfig(), host: { ...ssh, firewall } })).toThrow(key);
  });
  test("a list set as JSON text (pulumi config set --path stores it so) is read as the list", () => {
    const cfg = parseConfig({ ...minimalConfig(), host: { ...ssh, firewall: { sshCidrs: '["198.51.100.0/24"]' } } });
    expect(cfg.host.kind === "ssh" && cfg.host.firewall.sshCidrs).toEqual(["198.51.100.0/24"]);
  });
  test("a local host has no firewall key", () => {
    expect(() => parseConfig({ ...minimalConfig(), host: { kind: "local", firewall: { enabled: true } } })).toThrow("copilotos:host");
  });
});

describe("the program", () => {
  test("an ssh stack: a trial step, then a confirm step over its own connection, both updated in place, the confirm's deletion taking the rules out", async () => {
    const run = await runStack("prod", [], [`copilotos:saptivaApiKey=${SAPTIVA_KEY}`]);
    const trial = run.resources.find((r) => r.name === "copilotos-firewall-trial");
    const confirm = run.resources.find((r) => r.name === "copilotos-firewall-confirm");
    expect(trial?.inputs.triggers).toEqual([]);
    expect(confirm?.inputs.triggers).toEqual([]);
    expect(String(trial?.inputs.create)).toMatch(
      /^# firewall: copilotos-prod's rules \(SSH 22, ports 3000,8001,443,8443,80; every other inbound port closed\)/,
    );
    expect(String(confirm?.inputs.create)).toMatch(/^# firewall: copilotos-prod's rules \(entries [0-9a-f]{12}\) kept over a new SSH connection/);
    expect(String(confirm?.inputs.delete)).toContain('rm -f "$dir/copilotos-prod.entries"');
    expect(confirm?.deps).toContain("copilotos-firewall-trial");
    expect(trial?.deps).toContain("copilotos-preflight-check");
  });
  test("host.firewall.extraPorts opens another service's ports of the host too, to appCidrs", async () => {
    const run = await runStack("staging", ["copilotos:host.firewall.extraPorts=[9100]"]);
    const trial = run.resources.find((r) => r.name === "copilotos-firewall-trial");
    expect(String(trial?.inputs.create)).toMatch(/^# firewall: copilotos-staging's rules \(SSH 22, ports 3100,8101,9100;/);
    expect(String(trial?.inputs.create)).toContain("0.0.0.0/0 9100\n::/0 9100\n");
  });
  test("host.firewall.enabled=false: no firewall steps", async () => {
    const run = await runStack("prod", ["copilotos:host.firewall.enabled=false"], [`copilotos:saptivaApiKey=${SAPTIVA_KEY}`]);
    expect(run.resources.filter((r) => r.name.includes("firewall"))).toEqual([]);
  });
});

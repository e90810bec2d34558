/**
 * host.osUpdates without a host: the apt files (read back by the real apt-config), the ssh host's
 * step, and where the program puts it. As root on a real Debian (install, files, the real
 * unattended-upgrade reading them, and the refusal without root): test/e2e/osUpdates.test.ts;
 * over SSH as the test host's deploy user: test/e2e/firewall.test.ts. (Running the step as root
 * here would configure this machine's apt.)
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseConfig } from "../components/config";
import { osUpdatesFiles, osUpdatesScript } from "../components/renderers/hosts/osUpdates";
import { minimalConfig } from "./support/config";
import { runStack } from "./support/program";

test("the apt files, as apt-config reads them: security updates of this release, daily, the reboot policy from config", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cpt-apt-"));
  try {
    const settings = osUpdatesFiles({ reboot: "auto", rebootTime: "03:30" }).flatMap(([file, content]) => {
      const f = path.join(dir, path.basename(file));
      fs.writeFileSync(f, content);
      const r = spawnSync("apt-config", ["-c", f, "dump"], { encoding: "utf8" });
      expect(r.status).toBe(0);
      return r.stdout.split("\n").filter((l) => /^(APT::Periodic|Unattended-Upgrade)::/.test(l));
    });
    expect(settings).toEqual([
      'APT::Periodic::Update-Package-Lists "1";',
      'APT::Periodic::Unattended-Upgrade "1";',
      'Unattended-Upgrade::Allowed-Origins "";',
      'Unattended-Upgrade::Allowed-Origins:: "${distro_id}:${distro_codename}-security";',
      'Unattended-Upgrade::Allowed-Origins:: "${distro_id}ESMApps:${distro_codename}-apps-security";',
      'Unattended-Upgrade::Allowed-Origins:: "${distro_id}ESM:${distro_codename}-infra-security";',
      'Unattended-Upgrade::Remove-Unused-Dependencies "true";',
      'Unattended-Upgrade::Automatic-Reboot "true";',
      'Unattended-Upgrade::Automatic-Reboot-Time "03:30";',
    ]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the step checks first, then becomes root through sudo -n only when it must", () => {
  const script = osUpdatesScript({ reboot: "never", rebootTime: "04:00" });
  expect(script).toContain("if configured; then echo 'os updates: unattended security upgrades configured (reboot: never)'; exit 0; fi\n");
  expect(script).toContain('elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as_root() { sudo -n "$@"; }\n');
  // The package only when dpkg lacks it, after refreshing the lists (a fresh host's may be empty).
  expect(script).toContain(
    "if ! dpkg-query -W -f='${Status}' unattended-upgrades 2>/dev/null | grep -q 'install ok installed'; then as_root apt-get update -q >/dev/null; as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q unattended-upgrades >/dev/null; fi\n",
  );
});

test("config: on by default for ssh and aws hosts; a bad time is refused by key", () => {
  expect(() => parseConfig({ ...minimalConfig(), host: { kind: "local", osUpdates: {} } })).toThrow("copilotos:host");
  const ssh = {
    kind: "ssh",
    address: "203.0.113.10",
    user: "deploy",
    hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPNaJEdLb0VpyCOIB0Z1GJl9ytMtv8IshLFrdNJdz7rk",
  };
  expect(() => parseConfig({ ...minimalConfig(), host: { ...ssh, osUpdates: { rebootTime: "25:00" } } })).toThrow(
    "copilotos:host.osUpdates.rebootTime: must be a time HH:MM",
  );
});

test("the program: an ssh stack's step after the pre-flight, updated in place; none with enabled=false", async () => {
  const run = await runStack("staging");
  const step = run.resources.find((r) => r.name === "copilotos-os-updates-configure")!;
  expect(String(step.inputs.create)).toMatch(/^# os updates: unattended-upgrades installs this release's security updates daily; reboot never\n/);
  expect(step.inputs.triggers).toEqual([]);
  expect(step.inputs.delete).toBeUndefined();
  expect(step.deps).toContain("copilotos-preflight-check");
  const off = await runStack("staging", ["copilotos:host.osUpdates.enabled=false"]);
  expect(off.resources.filter((r) => r.name.includes("os-updates"))).toEqual([]);
});

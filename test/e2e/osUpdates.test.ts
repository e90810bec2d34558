/**
 * host.osUpdates' host step as root on a real Debian (test/support/debianHost.ts: debootstrap of
 * this machine's release, the package served by a local apt repository inside it, as a container
 * on the test host's engine): it refreshes the lists and installs unattended-upgrades, writes the
 * files, and the real `unattended-upgrade` reads them; the next run changes nothing; a deploy user
 * who cannot become root is refused with the commands to run; an aws host's first-boot lines do the
 * same as root. (The test host shares this machine's file system, so the step never runs as root
 * there.) Prints `os_updates: installed=yes idempotent=yes refused_without_root=yes origins=yes aws_boot=yes`.
 */
import { spawnSync } from "node:child_process";
import { osUpdatesFiles, osUpdatesScript, osUpdatesSetupLines, OsUpdatesSpec, UPGRADES_FILE } from "../../components/renderers/hosts/osUpdates";
import { buildDebianHostImage, DEBIAN_HOST_IMAGE, LOCAL_REPO } from "../support/debianHost";
import { host, remote } from "./support";

jest.setTimeout(300_000);
const DOCKER = ["-H", `unix://${host.remoteSocket}`];
const HOSTS = ["cpt-os-host", "cpt-os-aws"];
const NEVER: OsUpdatesSpec = { reboot: "never", rebootTime: "04:00" };
const report = { installed: false, idempotent: false, refused: false, origins: false, awsBoot: false };

/** Runs `script` with sh in the Debian container `name`, as `user`. */
function sh(name: string, script: string, user = "0") {
  const r = spawnSync("docker", [...DOCKER, "exec", "-i", "-u", user, name, "sh", "-s"], { input: script, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
/** stderr without debconf's note of a minimal root (no apt-utils), which a full host does not print. */
const errors = (stderr: string) => stderr.replace(/^debconf: delaying package configuration, since apt-utils is not installed\n/m, "");
const installedStatus = (name: string) => sh(name, "dpkg-query -W -f='${Status}' unattended-upgrades 2>/dev/null || true").stdout;

beforeAll(() => {
  for (const name of HOSTS) spawnSync("docker", [...DOCKER, "rm", "-f", name]);
  buildDebianHostImage(DOCKER);
  for (const name of HOSTS) remote("run", "-d", "--name", name, DEBIAN_HOST_IMAGE, "sleep", "3600");
});
afterAll(() => {
  for (const name of HOSTS) spawnSync("docker", [...DOCKER, "rm", "-f", name]);
  const yes = (b: boolean) => (b ? "yes" : "no");
  process.stdout.write(
    `os_updates: installed=${yes(report.installed)} idempotent=${yes(report.idempotent)} refused_without_root=${yes(report.refused)} origins=${yes(report.origins)} aws_boot=${yes(report.awsBoot)}\n`,
  );
});

test("a deploy user who cannot become root (no sudo) is refused with the commands an admin runs; nothing is installed or written", () => {
  const r = sh("cpt-os-host", osUpdatesScript(NEVER), "65534");
  expect(r.code).toBe(1);
  expect(r.stdout).toBe("");
  expect(r.stderr).toContain(
    "As root on the host, run once:\n    apt-get update -q >/dev/null\n    env DEBIAN_FRONTEND=noninteractive apt-get install -y -q unattended-upgrades >/dev/null\n",
  );
  expect(installedStatus("cpt-os-host")).not.toContain("install ok installed");
  expect(sh("cpt-os-host", `test -e ${UPGRADES_FILE}`).code).toBe(1);
  report.refused = true;
});

test("as root: refreshes the package lists, installs unattended-upgrades, writes both files, and unattended-upgrade reads them", () => {
  // The image has no package lists: an install without `apt-get update` would not find the package.
  expect(sh("cpt-os-host", "apt-get install -s unattended-upgrades").code).not.toBe(0);
  const r = sh("cpt-os-host", osUpdatesScript(NEVER));
  expect(errors(r.stderr)).toBe("");
  expect(r.stdout).toBe("os updates: installing and configuring unattended-upgrades\nos updates: unattended security upgrades configured (reboot: never)\n");
  expect(r.code).toBe(0);
  expect(installedStatus("cpt-os-host")).toBe("install ok installed");
  for (const [file, content] of osUpdatesFiles(NEVER)) expect(sh("cpt-os-host", `cat ${file}`).stdout).toBe(content);
  report.installed = true;
  // The real program's dry run: the security origin of this release is the one it would install from.
  const dry = sh("cpt-os-host", "unattended-upgrade --dry-run --debug 2>&1");
  expect(dry.code).toBe(0);
  const codename = sh("cpt-os-host", '. /etc/os-release && printf %s "$VERSION_CODENAME"').stdout;
  expect(codename).toMatch(/^[a-z]+$/);
  // Only the security archive: the package's default (50unattended-upgrades) also allows the point releases.
  expect(dry.stdout.split("\n").filter((l) => l.startsWith("Allowed origins are:"))).toEqual([
    `Allowed origins are: o=Debian,a=${codename}-security, o=DebianESMApps,a=${codename}-apps-security, o=DebianESM,a=${codename}-infra-security`,
  ]);
  report.origins = true;
});

test("the next run changes nothing and needs no package source; a new reboot policy rewrites only its file", () => {
  // Without its repository the step could not install anything: it must not try.
  expect(sh("cpt-os-host", `mv ${LOCAL_REPO}/Packages /tmp/Packages`).code).toBe(0);
  const again = sh("cpt-os-host", osUpdatesScript(NEVER));
  expect([again.code, again.stdout, again.stderr]).toEqual([0, "os updates: unattended security upgrades configured (reboot: never)\n", ""]);
  report.idempotent = true;
  const auto: OsUpdatesSpec = { reboot: "auto", rebootTime: "03:30" };
  const changed = sh("cpt-os-host", osUpdatesScript(auto));
  expect([changed.code, changed.stderr]).toEqual([0, ""]);
  expect(changed.stdout).toContain("configured (reboot: at 03:30 when needed)\n");
  const dump = sh("cpt-os-host", "apt-config dump | grep '^Unattended-Upgrade::Automatic-Reboot'").stdout;
  expect(dump).toBe('Unattended-Upgrade::Automatic-Reboot "true";\nUnattended-Upgrade::Automatic-Reboot-Time "03:30";\n');
  expect(sh("cpt-os-host", `mv /tmp/Packages ${LOCAL_REPO}/Packages`).code).toBe(0);
});

test("an aws host's first boot (root, lists just updated): the same package and files", () => {
  const r = sh("cpt-os-aws", ["set -eu", "apt-get update -q >/dev/null", ...osUpdatesSetupLines(NEVER)].join("\n"));
  expect([r.code, errors(r.stderr)]).toEqual([0, ""]);
  expect(installedStatus("cpt-os-aws")).toBe("install ok installed");
  // The ssh host's step finds it configured: both paths write the same files.
  expect(sh("cpt-os-aws", osUpdatesScript(NEVER)).stdout).toBe("os updates: unattended security upgrades configured (reboot: never)\n");
  report.awsBoot = true;
});

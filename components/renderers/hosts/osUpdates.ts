/**
 * Unattended security upgrades on a Debian or Ubuntu host (config `host.osUpdates`): Debian's
 * `unattended-upgrades`, the security archive of the host's own release only, and the reboot policy
 * from config. Pure: the two apt config files, the lines that install them as root (an aws host's
 * first boot), and the host step of an ssh host, which needs root once (passwordless sudo, or an
 * admin running the printed commands) and afterwards only checks that nothing drifted.
 */
import { lines, shq, STRICT } from "../shell";

export interface OsUpdatesSpec {
  /** `auto`: reboot at `rebootTime` when an upgrade needs it. */
  reboot: "never" | "auto";
  /** HH:MM, the host's time zone. */
  rebootTime: string;
}

export const PERIODIC_FILE = "/etc/apt/apt.conf.d/20auto-upgrades";
export const UPGRADES_FILE = "/etc/apt/apt.conf.d/52copilotos-unattended-upgrades";

/** The two apt config files: path → content. */
export function osUpdatesFiles(s: OsUpdatesSpec): [string, string][] {
  return [
    [PERIODIC_FILE, ['APT::Periodic::Update-Package-Lists "1";', 'APT::Periodic::Unattended-Upgrade "1";', ""].join("\n")],
    [
      UPGRADES_FILE,
      [
        "// Written by copilotos (components/renderers/hosts/osUpdates.ts): security updates of this release only.",
        "Unattended-Upgrade::Allowed-Origins {",
        '  "${distro_id}:${distro_codename}-security";',
        '  "${distro_id}ESMApps:${distro_codename}-apps-security";',
        '  "${distro_id}ESM:${distro_codename}-infra-security";',
        "};",
        'Unattended-Upgrade::Remove-Unused-Dependencies "true";',
        `Unattended-Upgrade::Automatic-Reboot "${s.reboot === "auto" ? "true" : "false"}";`,
        `Unattended-Upgrade::Automatic-Reboot-Time "${s.rebootTime}";`,
        "",
      ].join("\n"),
    ],
  ];
}

/** Lines that install the package and write the files; `asRoot`: each privileged command through the script's `as_root`. */
function installLines(s: OsUpdatesSpec, asRoot: boolean): string[] {
  const root = asRoot ? "as_root " : "";
  return [
    `${root}env DEBIAN_FRONTEND=noninteractive apt-get install -y -q unattended-upgrades >/dev/null`,
    ...osUpdatesFiles(s).map(([file, content]) => `printf '%s' ${shq(content)} | ${root}tee ${file} >/dev/null`),
  ];
}

/** For an aws host's first boot (root already): install and configure. */
export function osUpdatesSetupLines(s: OsUpdatesSpec): string[] {
  return installLines(s, false);
}

/**
 * The ssh host's step: nothing to do when the package is installed and both files hold what config
 * says; else as root (the deploy user itself, or passwordless sudo) install and write them; else
 * fail, printing the commands an admin runs once, and the key that turns the step off.
 */
export function osUpdatesScript(s: OsUpdatesSpec): string {
  const files = osUpdatesFiles(s);
  const check = [
    `dpkg-query -W -f='\${Status}' unattended-upgrades 2>/dev/null | grep -q 'install ok installed'`,
    ...files.map(([file, content]) => `[ "$(cat ${file} 2>/dev/null; echo x)" = ${shq(`${content}x`)} ]`),
  ].join(" && ");
  const done = `os updates: unattended security upgrades configured (reboot: ${s.reboot === "auto" ? `at ${s.rebootTime} when needed` : "never"})`;
  return lines(
    STRICT,
    `configured() { ${check}; }`,
    `if configured; then echo ${shq(done)}; exit 0; fi`,
    'if [ "$(id -u)" -eq 0 ]; then as_root() { "$@"; }',
    'elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as_root() { sudo -n "$@"; }',
    "else",
    `  echo ${shq("os updates: unattended security upgrades are not set up, and the deploy user cannot become root (no passwordless sudo). As root on the host, run once:")} >&2`,
    ...installLines(s, false).map((l) => `  echo ${shq(`    ${l}`)} >&2`),
    `  echo ${shq("or set host.osUpdates.enabled false to manage upgrades yourself")} >&2`,
    "  exit 1",
    "fi",
    "echo 'os updates: installing and configuring unattended-upgrades'",
    ...installLines(s, true),
    `configured || { echo ${shq("os updates: the files did not take (another tool rewrote them?); nothing else was changed")} >&2; exit 1; }`,
    `echo ${shq(done)}`,
  );
}

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
        "// The package's own 50unattended-upgrades also allows the release's point updates: cleared here.",
        "#clear Unattended-Upgrade::Origins-Pattern;",
        "#clear Unattended-Upgrade::Allowed-Origins;",
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

const PACKAGE = "unattended-upgrades";
/** True when the package is installed (dpkg's own record, not a guess from a file). */
const INSTALLED = `dpkg-query -W -f='\${Status}' ${PACKAGE} 2>/dev/null | grep -q 'install ok installed'`;

const installLine = (root: string) => `${root}env DEBIAN_FRONTEND=noninteractive apt-get install -y -q ${PACKAGE} >/dev/null`;
/** Refresh the package lists (a host's may be stale or, on a fresh image, empty), then install the package. */
const aptLines = (root: string) => [`${root}apt-get update -q >/dev/null`, installLine(root)];

/** Lines that write the two files. */
function fileLines(s: OsUpdatesSpec, root: string): string[] {
  return osUpdatesFiles(s).map(([file, content]) => `printf '%s' ${shq(content)} | ${root}tee ${file} >/dev/null`);
}

/** For an aws host's first boot (root already, its package lists just updated): install and configure. */
export function osUpdatesSetupLines(s: OsUpdatesSpec): string[] {
  return [installLine(""), ...fileLines(s, "")];
}

/**
 * The ssh host's step: nothing to do when the package is installed and both files hold what config
 * says; else as root (the deploy user itself, or passwordless sudo) install and write them; else
 * fail, printing the commands an admin runs once, and the key that turns the step off.
 */
export function osUpdatesScript(s: OsUpdatesSpec): string {
  const files = osUpdatesFiles(s);
  const check = [INSTALLED, ...files.map(([file, content]) => `[ "$(cat ${file} 2>/dev/null; echo x)" = ${shq(`${content}x`)} ]`)].join(" && ");
  const done = `os updates: unattended security upgrades configured (reboot: ${s.reboot === "auto" ? `at ${s.rebootTime} when needed` : "never"})`;
  return lines(
    STRICT,
    `configured() { ${check}; }`,
    `if configured; then echo ${shq(done)}; exit 0; fi`,
    'if [ "$(id -u)" -eq 0 ]; then as_root() { "$@"; }',
    'elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as_root() { sudo -n "$@"; }',
    "else",
    `  echo ${shq("os updates: unattended security upgrades are not set up, and the deploy user cannot become root (no passwordless sudo). As root on the host, run once:")} >&2`,
    ...[...aptLines(""), ...fileLines(s, "")].map((l) => `  echo ${shq(`    ${l}`)} >&2`),
    `  echo ${shq("or set host.osUpdates.enabled false to manage upgrades yourself")} >&2`,
    "  exit 1",
    "fi",
    "echo 'os updates: installing and configuring unattended-upgrades'",
    `if ! ${INSTALLED}; then ${aptLines("as_root ").join("; ")}; fi`,
    ...fileLines(s, "as_root "),
    `configured || { echo ${shq("os updates: the files did not take (another tool rewrote them?); nothing else was changed")} >&2; exit 1; }`,
    `echo ${shq(done)}`,
  );
}

/**
 * A Debian host's root file system as an image, for host steps that need root on a real Debian
 * (apt, dpkg): debootstrap (minbase, the release this machine runs) from this machine's own Debian
 * mirror, with `unattended-upgrades` taken out again and served from a local apt repository inside
 * the image, so the step under test installs it for real without a network. Test-only.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const DEBIAN_HOST_IMAGE = "cpt-standin/debian-host:1";
/** The folder of the image's local apt repository (its only apt source). */
export const LOCAL_REPO = "/srv/repo";

/** This machine's Debian archive and release, from its apt sources (deb822 `.sources`, or sources.list). */
export function machineDebianArchive(): { uri: string; suite: string } {
  const dir = "/etc/apt/sources.list.d";
  const deb822 = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".sources")) : [];
  for (const f of deb822) {
    const text = fs.readFileSync(path.join(dir, f), "utf8");
    const uri = /^URIs:\s*(\S+)/m.exec(text)?.[1];
    const suite = /^Suites:\s*(\S+)/m.exec(text)?.[1];
    if (uri && suite && !/security/.test(uri)) return { uri, suite };
  }
  const line = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/m.exec(fs.existsSync("/etc/apt/sources.list") ? fs.readFileSync("/etc/apt/sources.list", "utf8") : "");
  if (!line) throw new Error("no Debian archive in this machine's apt sources: debootstrap has nowhere to fetch from");
  return { uri: line[1], suite: line[2] };
}

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20 });

/** Builds {@link DEBIAN_HOST_IMAGE} in the engine `dockerArgs` reach unless it is there already (about 40 s). */
export function buildDebianHostImage(dockerArgs: string[]): void {
  if (execFileSync("docker", [...dockerArgs, "images", "-q", DEBIAN_HOST_IMAGE], { encoding: "utf8" }).trim()) return;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "cpt-debian-"));
  try {
    const { uri, suite } = machineDebianArchive();
    run("debootstrap", ["--variant=minbase", "--include=unattended-upgrades", suite, root, uri]);
    // The package's .deb into the image's own repository, then the package out: the step installs it again.
    const repo = path.join(root, LOCAL_REPO.slice(1));
    fs.mkdirSync(repo, { recursive: true });
    const archives = path.join(root, "var/cache/apt/archives");
    const deb = fs.readdirSync(archives).find((f) => f.startsWith("unattended-upgrades_") && f.endsWith(".deb"));
    if (!deb) throw new Error("debootstrap left no unattended-upgrades .deb in var/cache/apt/archives");
    fs.copyFileSync(path.join(archives, deb), path.join(repo, deb));
    run("chroot", [root, "dpkg", "--purge", "unattended-upgrades"]);
    fs.writeFileSync(path.join(repo, "Packages"), execFileSync("dpkg-scanpackages", [".", "/dev/null"], { cwd: repo, stdio: ["ignore", "pipe", "ignore"] }));
    fs.writeFileSync(path.join(root, "etc/apt/sources.list"), `deb [trusted=yes] file:${LOCAL_REPO} ./\n`);
    // No package lists and no cached .debs: an install that skipped `apt-get update` finds nothing.
    for (const dir of ["var/lib/apt/lists", "var/cache/apt/archives"]) {
      for (const f of fs.readdirSync(path.join(root, dir)))
        if (f !== "partial" && f !== "lock") fs.rmSync(path.join(root, dir, f), { recursive: true, force: true });
    }
    execFileSync("sh", [
      "-c",
      'root=$1 image=$2; shift 2; tar -C "$root" -c . | docker "$@" import - "$image" >/dev/null',
      "sh",
      root,
      DEBIAN_HOST_IMAGE,
      ...dockerArgs,
    ]);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

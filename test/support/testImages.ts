/**
 * Small images for tests and benches, made here without a registry: a busybox-static root file
 * system plus the files a test needs, imported with `docker import`.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface BusyboxImageSpec {
  /** Extra files, path inside the image → content (mode 0755 for paths under /bin). */
  files?: Record<string, string | Buffer>;
  /** Image CMD. @default ["sleep", "1000000"] */
  cmd?: string[];
  /** Image ENV lines. */
  env?: string[];
  /** Files of this machine copied to the same path (symlinks followed): binaries and their libraries. */
  hostFiles?: string[];
  /** Empty folders to create. */
  dirs?: string[];
  /** Folders of this machine copied whole to the same path (a runtime's library), tests and caches left out. */
  hostDirs?: string[];
  /** Image WORKDIR (the official redis image's is /data: where it writes its AOF unless told otherwise). @default / */
  workdir?: string;
  /** Image ENTRYPOINT (the upstream images' binary, which the stack's container spec gives only arguments). @default none */
  entrypoint?: string[];
  /** Programs of this machine copied to another path, mode 0755: path inside the image → this machine's file. */
  executables?: Record<string, string>;
}

/** This machine's binaries by command name (or absolute path), with the shared libraries they link (for `hostFiles`). */
export function binaryFiles(...commands: string[]): string[] {
  const files = new Set<string>();
  for (const c of commands) {
    const bin = c.startsWith("/") ? c : execFileSync("sh", ["-c", `command -v ${c}`], { encoding: "utf8" }).trim();
    files.add(bin);
    // ldd fails on a static file: it links nothing.
    for (const l of spawnSync("ldd", [bin], { encoding: "utf8" }).stdout.split("\n")) {
      const lib = /(\/\S+) \(0x/.exec(l)?.[1];
      if (lib) files.add(lib);
    }
  }
  return [...files];
}

/** Imports a busybox image as `tag` into the engine `docker` reaches with `dockerArgs`; returns its ID. */
export function busyboxImage(dockerArgs: string[], tag: string, spec: BusyboxImageSpec = {}): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "cpt-rootfs-"));
  try {
    for (const dir of ["bin", "tmp", "etc", "www"]) fs.mkdirSync(path.join(root, dir), { recursive: true });
    fs.chmodSync(path.join(root, "tmp"), 0o1777);
    const busybox = execFileSync("sh", ["-c", "command -v busybox"]).toString().trim();
    fs.copyFileSync(busybox, path.join(root, "bin", "busybox"));
    fs.chmodSync(path.join(root, "bin", "busybox"), 0o755);
    for (const applet of execFileSync(busybox, ["--list"]).toString().split("\n").filter(Boolean)) {
      if (applet !== "busybox") fs.symlinkSync("busybox", path.join(root, "bin", applet));
    }
    fs.writeFileSync(path.join(root, "etc", "passwd"), "root:x:0:0:root:/:/bin/sh\n");
    fs.writeFileSync(path.join(root, "etc", "group"), "root:x:0:\n");
    for (const dir of spec.dirs ?? []) fs.mkdirSync(path.join(root, dir), { recursive: true });
    for (const dir of spec.hostDirs ?? []) {
      fs.cpSync(dir, path.join(root, dir), {
        recursive: true,
        filter: (src) => !/\/(test|tests|__pycache__|idlelib|tkinter|ensurepip|lib2to3)(\/|$)/.test(src.slice(dir.length)),
      });
    }
    for (const file of spec.hostFiles ?? []) {
      fs.mkdirSync(path.join(root, path.dirname(file)), { recursive: true });
      fs.copyFileSync(fs.realpathSync(file), path.join(root, file));
      fs.chmodSync(path.join(root, file), fs.statSync(file).mode & 0o777);
    }
    for (const [p, content] of Object.entries(spec.files ?? {})) {
      const dest = path.join(root, p);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.rmSync(dest, { force: true });
      fs.writeFileSync(dest, content, { mode: p.startsWith("/bin/") || p.includes("/cgi-bin/") ? 0o755 : 0o644 });
    }
    for (const [p, source] of Object.entries(spec.executables ?? {})) {
      fs.mkdirSync(path.join(root, path.dirname(p)), { recursive: true });
      fs.copyFileSync(fs.realpathSync(source), path.join(root, p));
      fs.chmodSync(path.join(root, p), 0o755);
    }
    const changes = [
      ...(spec.entrypoint ? ["-c", `ENTRYPOINT ${JSON.stringify(spec.entrypoint)}`] : []),
      "-c",
      `ENV ${[...(spec.env?.some((e) => e.startsWith("PATH=")) ? [] : ["PATH=/bin"]), ...(spec.env ?? [])].join(" ")}`,
      "-c",
      `CMD ${JSON.stringify(spec.cmd ?? ["sleep", "1000000"])}`,
      ...(spec.workdir ? ["-c", `WORKDIR ${spec.workdir}`] : []),
    ];
    const tarball = execFileSync("tar", ["-C", root, "-c", "."], { maxBuffer: 1 << 30 });
    return execFileSync("docker", [...dockerArgs, "import", ...changes, "-", tag], { input: tarball })
      .toString()
      .trim();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** An nginx image from this machine's nginx (the stack's proxy image stand-in), in the engine `dockerArgs` name. */
export function nginxImage(dockerArgs: string[], tag: string): string {
  return busyboxImage(dockerArgs, tag, {
    hostFiles: binaryFiles("nginx"),
    dirs: ["/var/log/nginx", "/var/lib/nginx", "/etc/nginx/copilotos", "/run"],
    files: {
      "/etc/passwd": "root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
      "/etc/group": "root:x:0:\nnogroup:x:65534:\nnobody:x:65534:\n",
    },
    env: ["PATH=/bin:/usr/sbin"],
    cmd: ["nginx", "-g", "daemon off;"],
  });
}

/** A stand-in for the mongo image: `mongosh` records each admin call it is asked to make. */
export const FAKE_MONGOSH = `#!/bin/sh
# Answers ping and a restore's re-key (under \`mongod --noauth\`, no credentials needed).
case "$*" in
  *ping*) echo 1; exit 0 ;;
  *rekeyed*) [ -e /tmp/noauth ] && [ -s /tmp/.copilotos-next-password ] || exit 1; echo "rekeyed $COPILOTOS_MONGO_USER"; exit 0 ;;
esac
# Records fsyncLock/fsyncUnlock calls; fails like mongosh would when the credentials are unreadable.
[ -n "$MONGO_INITDB_ROOT_USERNAME" ] && [ -r "$MONGO_INITDB_ROOT_PASSWORD_FILE" ] || { echo "auth failed" >&2; exit 1; }
case "$*" in
  *fsyncUnlock*) rm -f /tmp/locked; echo unlock >> /tmp/mongosh.log ;;
  *fsyncLock*) touch /tmp/locked; echo lock >> /tmp/mongosh.log ;;
  *) echo "unexpected: $*" >> /tmp/mongosh.log; exit 1 ;;
esac
`;

/** Builds the stand-in mongo image (FAKE_MONGOSH, a password file, stops on SIGTERM like mongod) in the engine `dockerArgs` name. */
export function fakeMongoImage(dockerArgs: string[], tag: string, mongosh = FAKE_MONGOSH, password = "not-a-real-password\n"): string {
  return busyboxImage(dockerArgs, tag, {
    files: {
      "/bin/mongosh": mongosh,
      "/run/secrets/mongo_root_password": password,
      "/bin/mongod": '#!/bin/sh\ncase " $* " in *" --noauth "*) touch /tmp/noauth ;; esac\ntrap \'exit 0\' TERM; while :; do sleep 1; done\n',
    },
    // A bare sleep as PID 1 would ignore SIGTERM; mongod stops on it.
    cmd: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"],
  });
}

/** `docker run` arguments that start the stand-in as the stack's Mongo container on `volume`. */
export const fakeMongoRunArgs = (container: string, volume: string, image: string) => [
  "run",
  "-d",
  "--name",
  container,
  "-v",
  `${volume}:/data/db`,
  "-e",
  "MONGO_INITDB_ROOT_USERNAME=copilotos",
  "-e",
  "MONGO_INITDB_ROOT_PASSWORD_FILE=/run/secrets/mongo_root_password",
  image,
];

/** The restic image stand-in: this machine's restic (Debian's) at /usr/bin/restic, as upstream's image has it, with ssh for SFTP. */
export function resticImage(dockerArgs: string[], tag: string): string {
  return busyboxImage(dockerArgs, tag, { hostFiles: binaryFiles("restic", "ssh"), env: ["PATH=/bin:/usr/bin"], cmd: ["/usr/bin/restic", "version"] });
}

/** The tag of the firewall stand-in every test host has (a digest reference cannot be imported): stacks set `images.firewall` to it. */
export const FIREWALL_STANDIN = "cpt-standin/firewall:1";

/** The firewall image stand-in: this machine's nft (Debian's nftables) on busybox (sh, awk), as netshoot has them. */
export function firewallImage(dockerArgs: string[], tag: string): string {
  return busyboxImage(dockerArgs, tag, { hostFiles: binaryFiles("nft"), env: ["PATH=/bin:/usr/sbin:/usr/bin"], cmd: ["nft", "--version"] });
}

/**
 * The certbot image stand-in: this machine's certbot (Debian's, Python) with the Python it runs on
 * and every library its modules load, `python3` with `cryptography` (as upstream's image has them),
 * and `caPem` trusted for the ACME server's own HTTPS (REQUESTS_CA_BUNDLE).
 */
export function certbotImage(dockerArgs: string[], tag: string, caPem: string): string {
  const dirs = ["/usr/lib/python3.11", "/usr/lib/python3/dist-packages"];
  const extensions = execFileSync("find", [...dirs, "-name", "*.so*", "-type", "f"], { encoding: "utf8" })
    .split("\n")
    .filter(Boolean);
  return busyboxImage(dockerArgs, tag, {
    // OpenSSL's config and its providers: cryptography's bindings load them at start.
    hostFiles: [...binaryFiles("/usr/bin/python3.11", ...extensions), "/usr/bin/python3", "/usr/bin/certbot", "/etc/ssl/openssl.cnf"],
    hostDirs: [...dirs, "/usr/lib/x86_64-linux-gnu/ossl-modules", "/usr/share/zoneinfo"],
    files: { "/etc/acme-ca.pem": caPem },
    env: ["PATH=/bin:/usr/bin", "REQUESTS_CA_BUNDLE=/etc/acme-ca.pem"],
    cmd: ["certbot", "--version"],
  });
}

/**
 * Off-host backups with restic: the renderers (exact strings, shellcheck), the config (each target's
 * credentials named when missing, secrets only), and the program under the mock runtime (a generated
 * repository password in state, the files written from a secret stdin, every backup waiting for them).
 * The real thing runs in test/e2e/recovery.test.ts (one host) and test/e2e/swarm.test.ts (a swarm).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseConfig, withSecrets } from "../components/config";
import { NOT_READ } from "../components/config/keys";
import { backupScript } from "../components/renderers/operations/backup";
import {
  keepFlags,
  knownHostsLine,
  offsiteFetchScript,
  offsiteFiles,
  offsiteFilesInput,
  offsiteFilesScript,
  offsiteImportScript,
  offsiteRepository,
  offsiteSnapshotsScript,
  OffsiteSpec,
  offsiteWhere,
  resticLines,
} from "../components/renderers/operations/offsite";
import { parseStatus, statusScript } from "../components/renderers/operations/ops";
import { backup } from "../scripts/backup";
import { restore } from "../scripts/restore";
import { minimalConfig, problemsOf } from "./support/config";
import { withDocker } from "./support/standInDocker";
import { offsiteFilesOf, PASSWORD, runStack, SWARM_HOST } from "./support/program";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA-test-key\n-----END OPENSSH PRIVATE KEY-----\n";
const sftp = { kind: "sftp" as const, host: "backup.example.com", port: 2222, user: "restic", path: "/srv/restic/prod", hostKey: HOST_KEY };
const spec: OffsiteSpec = {
  target: sftp,
  secretsDir: "~/.copilotos/offsite/copilotos-prod",
  image: "restic/restic:0.18.0@sha256:4cf4a61ef9786f4de53e9de8c8f5c040f33830eb0a10bf3d614410ee2fcb6120",
  retention: { keep: 7, daily: 7, weekly: 4, monthly: 12 },
};

describe("renderers", () => {
  test("the repository as restic names it; a REST password lives in the file only, never in what is printed", () => {
    expect(offsiteWhere(sftp)).toBe("sftp:restic@backup.example.com:/srv/restic/prod");
    expect(offsiteWhere({ kind: "s3", endpoint: "https://s3.eu-west-1.amazonaws.com/", bucket: "bk", prefix: "/prod" })).toBe(
      "s3:https://s3.eu-west-1.amazonaws.com/bk/prod",
    );
    expect(offsiteWhere({ kind: "s3", endpoint: "https://minio.example.com", bucket: "bk", prefix: "" })).toBe("s3:https://minio.example.com/bk");
    const rest = { kind: "rest" as const, url: "https://rest.example.com/copilotos/", user: "copilotos" };
    expect(offsiteWhere(rest)).toBe("rest:https://rest.example.com/copilotos/");
    expect(offsiteRepository(rest, "p@ss/word")).toBe("rest:https://copilotos:p%40ss%2Fword@rest.example.com/copilotos/");
    expect(knownHostsLine(sftp)).toBe(`[backup.example.com]:2222 ${HOST_KEY}`);
    expect(knownHostsLine({ ...sftp, port: 22 })).toBe(`backup.example.com ${HOST_KEY}`);
    expect(keepFlags(spec.retention)).toBe("--keep-last 7 --keep-daily 7 --keep-weekly 4 --keep-monthly 12");
  });

  test("the private files, and their stdin: one base64 line each, nothing else", () => {
    expect(offsiteFiles(sftp, { password: "pw", sshKey: "KEY" })).toEqual([
      ["password", "pw"],
      ["repository", "sftp:restic@backup.example.com:/srv/restic/prod"],
      ["ssh_key", "KEY\n"],
      ["known_hosts", `[backup.example.com]:2222 ${HOST_KEY}\n`],
    ]);
    expect(
      offsiteFiles(
        { kind: "s3", endpoint: "https://s3.amazonaws.com", bucket: "bk", prefix: "" },
        { password: "pw", s3: { accessKeyId: "AK", secretAccessKey: "SK" } },
      )[2],
    ).toEqual(["s3_credentials", "[default]\naws_access_key_id = AK\naws_secret_access_key = SK\n"]);
    expect(offsiteFilesInput(sftp, { password: "pw", sshKey: "KEY" })).toBe(
      `password cHc=\nrepository ${Buffer.from("sftp:restic@backup.example.com:/srv/restic/prod").toString("base64")}\nssh_key S0VZCg==\nknown_hosts ${Buffer.from(`[backup.example.com]:2222 ${HOST_KEY}\n`).toString("base64")}\n`,
    );
  });

  test("restic runs in the pinned image, the folder read-only, password and repository from files, ssh pinned", () => {
    expect(resticLines(spec, "backup")).toEqual([
      `offsite="$HOME"/.copilotos/offsite/copilotos-prod; restic_image=restic/restic:0.18.0@sha256:4cf4a61ef9786f4de53e9de8c8f5c040f33830eb0a10bf3d614410ee2fcb6120`,
      '[ -r "$offsite/password" ] || { echo "backup: no off-host repository credentials in $offsite on this host: run pulumi up (it writes them) first" >&2; exit 1; }',
      "where=sftp:restic@backup.example.com:/srv/restic/prod",
      'restic_run() { docker run --rm -i --network host -e RESTIC_PROGRESS_FPS=0.1 -e RESTIC_PASSWORD_FILE=/run/copilotos-offsite/password -e RESTIC_REPOSITORY_FILE=/run/copilotos-offsite/repository -v "$offsite":/run/copilotos-offsite:ro --entrypoint /usr/bin/restic "$restic_image" --no-cache -o \'sftp.command=ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/run/copilotos-offsite/known_hosts -o IdentitiesOnly=yes -i /run/copilotos-offsite/ssh_key -p 2222 restic@backup.example.com -s sftp\' "$@"; }',
    ]);
  });

  test("a snapshot is an ID or latest: anything else is refused before a script exists", () => {
    expect(() => offsiteFetchScript({ offsite: spec, dir: "~/b", prefix: "copilotos-prod-mongo", snapshot: "1a2b; rm -rf /" })).toThrow(
      '"1a2b; rm -rf /" is not a snapshot ID (8 to 64 hex digits, from the list) or "latest"',
    );
    expect(offsiteFetchScript({ offsite: spec, dir: "~/b", prefix: "copilotos-prod-mongo", snapshot: "1a2b3c4d" })).toContain("snap=1a2b3c4d");
  });

  test("every offsite script is clean under shellcheck", () => {
    const scripts = [
      backupScript({ container: "c", volume: "v", dir: "~/b", prefix: "copilotos-prod-mongo", keep: 3, image: "mongo:7", offsite: spec }),
      offsiteFetchScript({ offsite: spec, dir: "~/b", prefix: "copilotos-prod-mongo", ontoNewHost: { container: "c", volume: "v" } }),
      offsiteSnapshotsScript({ ...spec, target: { kind: "s3", endpoint: "https://s3.amazonaws.com", bucket: "bk", prefix: "" } }, "copilotos-prod-mongo"),
      offsiteFilesScript(spec),
      offsiteImportScript(spec, "~/b", "copilotos-prod-mongo"),
      statusScript({ identity: { project: "copilotos", stack: "prod" }, backup: { dir: "~/b", prefix: "copilotos-prod-mongo", offsite: spec } }),
      // backup.s3: the repository read from the host's file.
      offsiteFetchScript({ offsite: { ...spec, target: { kind: "aws", region: "eu-west-1" } }, dir: "~/b", prefix: "copilotos-prod-mongo" }),
    ];
    for (const s of scripts) {
      const r = spawnSync("shellcheck", ["-s", "sh", "-S", "warning", "-f", "gcc", "-"], { input: s, encoding: "utf8" });
      expect(r.error).toBeUndefined();
      expect(r.stdout).toBe("");
    }
  });
});

test("a Mongo holding only admin, config and local sends no snapshot off the host; one holding the app's database does", () => {
  const run = (dbs: string) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cpt-offsite-"));
    try {
      fs.mkdirSync(path.join(dir, "data"));
      fs.writeFileSync(path.join(dir, "data", "_mdb_catalog.wt"), "catalog");
      fs.mkdirSync(path.join(dir, ".o"));
      fs.writeFileSync(path.join(dir, ".o", "password"), "pw");
      const script = backupScript({
        container: "c",
        volume: "v",
        dir: "~/b",
        prefix: "copilotos-prod-mongo",
        keep: 3,
        image: "mongo:7",
        offsite: { ...spec, secretsDir: "~/.o" },
      });
      const r = withDocker(dir, `HOME=${dir}; export HOME\n${script}`, [
        "  'volume inspect') ;;",
        `  'inspect --format') case "$3" in *Running*) echo true ;; *) echo mongo:7 ;; esac ;;`,
        `  'exec c') case "$*" in *listDatabases*) echo '${dbs}' ;; esac ;;`,
        `  'run --rm') [ "$3" = --network ] && [ "$4" = none ] && tar -C ${dir}/data -cf - . ;;`,
      ]);
      return { out: r.stdout, restic: r.calls.filter((c) => c.includes("--entrypoint /usr/bin/restic")).length };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
  const empty = run("admin config local");
  expect(empty.out).toContain(
    "backup: Mongo holds no database of the app yet (only admin config local), so nothing goes to the off-host repository: an empty snapshot would count against the real ones in restic's retention. The archive is on the host\n",
  );
  expect(empty.restic).toBe(0);
  const app = run("admin copilotos local");
  expect(app.out).toContain("backup: copying copilotos-prod-mongo-");
  expect(app.restic).toBeGreaterThan(0);
});

test("ops status reads the newest off-host snapshot and its age, or why there is none", () => {
  const where = "sftp:restic@backup.example.com:/srv/restic/prod";
  expect(parseStatus(`off-host snapshot: 1a2b3c4d at 2026-12-05T03:30:12Z (7 h old) in ${where}\n`).offsite).toEqual({
    snapshot: "1a2b3c4d",
    time: "2026-12-05T03:30:12Z",
    ageHours: 7,
    where,
  });
  expect(parseStatus(`off-host snapshot: none readable in ${where} (the repository refused the stack's password)\n`).offsite).toEqual({
    none: `none readable in ${where} (the repository refused the stack's password)`,
  });
  expect(parseStatus("").offsite).toBeUndefined();
  const script = statusScript({ identity: { project: "copilotos", stack: "prod" }, backup: { dir: "~/b", prefix: "copilotos-prod-mongo", offsite: spec } });
  expect(script).toContain('restic_run snapshots --host "$prefix" --group-by host --latest 1 --json');
});

describe("config", () => {
  const withSftp = (extra: Record<string, unknown> = {}) => ({
    ...minimalConfig(),
    backup: { offsite: { sftp: { host: "backup.example.com", user: "restic", path: "/srv/restic/prod", hostKey: HOST_KEY } } },
    ...extra,
  });

  test("a target's missing credential is named with the command that sets it", () => {
    expect(problemsOf(withSftp())).toEqual([
      {
        key: "copilotos:offsiteSshKey",
        message: 'is required with backup.offsite.sftp: pulumi config set --secret copilotos:offsiteSshKey "$(cat backup_key)"',
        fix: expect.any(String),
      },
    ]);
    expect(problemsOf({ ...minimalConfig(), backup: { offsite: { s3: { bucket: "copilotos-backups" } } } }).map((p) => p.key)).toEqual([
      "copilotos:offsiteS3AccessKeyId",
      "copilotos:offsiteS3SecretAccessKey",
    ]);
    expect(problemsOf(withSftp({ offsiteSshKey: "not a key" })).map((p) => [p.key, p.message])).toEqual([
      ["copilotos:offsiteSshKey", "must be a private key (PEM or OpenSSH text starting -----BEGIN … PRIVATE KEY-----)"],
    ]);
  });

  test("the CLIs that never read the credentials parse a stack with them encrypted: set, not a value", () => {
    const parsed = parseConfig(withSftp({ offsiteSshKey: NOT_READ }));
    expect(parsed.offsiteSshKey).toBe(NOT_READ);
    expect(problemsOf(withSftp({ offsiteSshKey: "(not read)" })).map((p) => p.key)).toEqual(["copilotos:offsiteSshKey"]);
  });

  test("exactly one target; a bad host key is refused naming its path; a swarm takes it as one host does", () => {
    const two = {
      ...minimalConfig(),
      offsiteSshKey: SSH_KEY,
      backup: { offsite: { ...withSftp().backup.offsite, rest: { url: "https://rest.example.com/x" } } },
    };
    expect(problemsOf(two).map((p) => [p.key, p.message])).toEqual([["copilotos:backup.offsite", "must name exactly one target: sftp, s3 or rest"]]);
    const badKey = withSftp({ offsiteSshKey: SSH_KEY });
    (badKey.backup.offsite.sftp as { hostKey: string }).hostKey = "AAAA";
    expect(problemsOf(badKey).map((p) => p.key)).toEqual(["copilotos:backup.offsite.sftp.hostKey"]);
    expect(parseConfig({ ...withSftp({ offsiteSshKey: SSH_KEY }), host: SWARM_HOST }).backup.offsite?.sftp?.host).toBe("backup.example.com");
  });

  test("a credential set without --secret is refused before anything is created", () => {
    const parsed = parseConfig(withSftp({ offsiteSshKey: SSH_KEY }));
    expect(parsed.backup.offsite).toEqual({
      sftp: { host: "backup.example.com", port: 22, user: "restic", path: "/srv/restic/prod", hostKey: HOST_KEY },
      checkSubset: "10%",
    });
    expect(() => withSecrets(parsed, "copilotos", "prod", () => false)).toThrow(
      'copilotos:offsiteSshKey: is stored in plain text; a private key or credential must be set as a secret (it is encrypted in the stack\'s config then)\n    fix: pulumi config set --secret copilotos:offsiteSshKey "$(cat backup_key)"',
    );
  });
});

describe("the program", () => {
  const config = [
    "copilotos:backup.offsite.sftp.host=backup.example.com",
    "copilotos:backup.offsite.sftp.user=restic",
    "copilotos:backup.offsite.sftp.path=/srv/restic/prod",
    `copilotos:backup.offsite.sftp.hostKey=${HOST_KEY}`,
  ];

  test.each([
    ["prod", "one host", undefined],
    ["swarm", "a swarm, on its data node (the manager)", path.join(__dirname, "fixtures")],
  ])(
    "%s (%s): a generated repository password in state, the files from a secret stdin, every backup after them; the password a secret output",
    async (stack, _what, dir) => {
      const run = await runStack(stack, config, [`copilotos:offsiteSshKey=${SSH_KEY}`], dir);
      const password = run.resources.find((r) => r.type === PASSWORD && r.name === "copilotos-offsite-password")!;
      expect(password.inputs).toMatchObject({ length: 48, special: false });
      const files = run.resources.find((r) => r.name === "copilotos-offsite-files")!;
      expect(files.secretPaths).toContain("stdin");
      const decoded = offsiteFilesOf(run);
      expect(Object.keys(decoded)).toEqual(["password", "repository", "ssh_key", "known_hosts"]);
      expect(decoded.ssh_key).toBe(SSH_KEY);
      expect(decoded.password).toHaveLength(48);
      expect(String(files.inputs.create)).toMatch(
        new RegExp(
          `^# offsite: the password and credentials of the restic repository sftp:restic@backup\\.example\\.com:/srv/restic/prod into ~/\\.copilotos/offsite/copilotos-${stack} \\(0600\\)`,
        ),
      );
      expect(String(files.inputs.delete)).toContain(`rm -rf "$HOME"/.copilotos/offsite/copilotos-${stack}`);
      // New credentials update the step in place: a replacement's old removal would run last and delete the new files.
      expect(files.inputs.triggers).toEqual([]);
      for (const backup of ["copilotos-mongo-backup-run", "copilotos-app-backup-run", "copilotos-backup-schedule-install"]) {
        const r = run.resources.find((x) => x.name === backup)!;
        expect(String(r.inputs.create)).toContain("backup: copying $name to the off-host repository $where");
        // On a swarm the same script, after the check that it runs on the data node.
        expect(String(r.inputs.create).includes("here=$(docker info --format '{{.Name}}')")).toBe(stack === "swarm");
        expect(r.opts.dependsOn).toContain("copilotos-offsite-files");
      }
      // No secret in any script, nor in any input but the files' stdin.
      const elsewhere = run.resources
        .filter((r) => r !== files && r !== password)
        .map((r) => JSON.stringify(r.inputs))
        .join("");
      for (const secret of [decoded.password, "b3BlbnNzaC1rZXktdjEAAAAA-test-key"]) expect(elsewhere).not.toContain(secret);
      expect(run.outputs.backupRepositoryPassword).toEqual({ value: decoded.password, isSecret: true });
    },
  );

  test("without backup.offsite: no repository, no password output", async () => {
    const run = await runStack("prod");
    expect(run.resources.filter((r) => r.name.startsWith("copilotos-offsite"))).toEqual([]);
    expect(run.outputs.backupRepositoryPassword).toBeUndefined();
  });
});

test("with no off-host repository (neither backup.offsite nor backup.s3), restore --from offsite and backup --import-archives refuse (exit 2) naming both keys, nothing run", async () => {
  const dir = ["--stack-dir", path.join(__dirname, "fixtures")];
  const said = { out: [] as string[], err: [] as string[] };
  const io = { out: (s: string) => said.out.push(s), err: (s: string) => said.err.push(s) };
  expect(await restore(["dev", "--from", "offsite", "--snapshot", "latest", "--yes", ...dir], io)).toBe(2);
  expect(await backup(["dev", "--import-archives", ...dir], io)).toBe(2);
  expect(said).toEqual({
    out: [],
    err: [
      "restore: dev has no off-host repository (neither backup.offsite nor, on an aws host, backup.s3 is set); its backups are on the host: npm run restore -- dev\n",
      "backup: dev has no off-host repository to import into (neither backup.offsite nor, on an aws host, backup.s3 is set)\n",
    ],
  });
});

/**
 * Mongo backup, verification, retention and restore against a real engine over SSH. mongod is not
 * installable here (no Debian package, no registry), so the Mongo container is a busybox stand-in
 * whose `mongosh` records the fsyncLock/fsyncUnlock calls the script makes; the files are real.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { backupScript, BackupSpec, listBackupsScript } from "../../components/renderers/operations/backup";
import { restoreScript } from "../../components/renderers/operations/restore";
import { runHostStep } from "../../scripts/stack/hostExec";
import { fakeMongoImage, fakeMongoRunArgs } from "../support/testImages";
import { host, remote, removeByPrefix } from "./support";
import { captured } from "../support/cliRun";

const P = "copilotos-e2ebk";
const IMAGE = "cpt-e2e/fake-mongo:1";
const spec: BackupSpec = { container: `${P}-mongo`, volume: `${P}-mongo-data`, dir: "~/e2e-backups", prefix: `${P}-mongo`, keep: 2, image: IMAGE };
const step = (name: string, script: string) => runHostStep(host.target, name, script);
const onVolume = (cmd: string) => remote("run", "--rm", "-v", `${spec.volume}:/data/db`, IMAGE, "sh", "-c", cmd);
/** Every path, and every file's sha256, in the volume (the data a restore replaced, kept aside, is not Mongo's). */
const fingerprint = () =>
  onVolume("cd /data/db && find . ! -path './.copilotos-previous*' | sort && find . -type f ! -path './.copilotos-previous*' | sort | xargs sha256sum");
const mongoshLog = () => remote("exec", spec.container, "cat", "/tmp/mongosh.log").split("\n");

function startMongo() {
  remote("volume", "create", "--label", "copilotos.stack=e2ebk", spec.volume);
  onVolume(
    "mkdir -p /data/db/journal /data/db/diagnostic.data && echo catalog > /data/db/_mdb_catalog.wt && " +
      "head -c 3000000 /dev/urandom > /data/db/collection-0-1.wt && head -c 70000 /dev/urandom > /data/db/journal/WiredTigerLog.1 && " +
      "touch /data/db/.hidden /data/db/mongod.lock && chmod 600 /data/db/collection-0-1.wt",
  );
  remote(...fakeMongoRunArgs(spec.container, spec.volume, IMAGE));
}

beforeAll(() => fakeMongoImage(["-H", `unix://${host.remoteSocket}`], IMAGE));
beforeEach(async () => {
  removeByPrefix(P);
  await step("clean", 'rm -rf "$HOME/e2e-backups"');
});
afterAll(async () => {
  removeByPrefix(P);
  await step("clean", 'rm -rf "$HOME/e2e-backups"');
  remote("image", "rm", "-f", IMAGE);
});

test("no volume yet: nothing to back up, and that is not an error", async () => {
  const r = await step("backup", backupScript(spec));
  expect(r.stdout).toBe(`backup: no volume ${spec.volume} yet; nothing to back up\n`);
});

test("backup locks Mongo, archives, verifies, records the sha256, unlocks; restore brings back every byte", async () => {
  startMongo();
  const before = fingerprint();
  const r = await step("backup", backupScript(spec));
  const [, file, size, sum] = /backup: verified (\S+\/(copilotos-e2ebk-mongo-\d{8}T\d{6}Z\.tar)) \((\d+) bytes, sha256 ([0-9a-f]{64})\)/
    .exec(r.stdout)!
    .slice(1);
  expect(r.stdout).toContain(`backup: ${spec.container} locked (fsyncLock) while its volume is copied\n`);
  expect(mongoshLog()).toEqual(["lock", "unlock"]);
  expect(Number(size)).toBeGreaterThan(3000000);
  const listed = await step("list", listBackupsScript(spec));
  expect(listed.stdout).toBe(`${file}\n`);
  const recorded = await step("sum", `cd "$HOME/e2e-backups" && cat ${file}.sha256 && sha256sum ${file}`);
  expect(recorded.stdout).toBe(`${sum}  ${file}\n${sum}  ${file}\n`);

  // Wipe the data (the seeds' `down -v`), then restore.
  onVolume("cd /data/db && rm -rf -- .[!.]* * && echo junk > junk");
  expect(fingerprint()).not.toBe(before);
  const restored = await step("restore", restoreScript({ ...spec, file }));
  expect(restored.stdout).toBe(
    `restore: stopping ${spec.container}\nrestore: unpacking ${file} beside the data in ${spec.volume}, then swapping it in\n` +
      "restore: giving the restored data the current Mongo password of the stack for copilotos (a throwaway mongod without auth or network)\n" +
      "restore: the restored data accepts the current Mongo password of the stack for copilotos\n" +
      `restore: started ${spec.container}\n` +
      `restore: done; the data it replaced is kept in ${spec.volume} under .copilotos-previous until the next restore\n`,
  );
  expect(fingerprint()).toBe(before);
  // What it replaced is kept, not deleted.
  expect(onVolume("cat /data/db/.copilotos-previous/junk").trim()).toBe("junk");
  expect(remote("inspect", "--format", "{{.State.Running}}", spec.container)).toBe("true");
  // A backup after the restore archives Mongo's files, not the data the restore kept aside.
  const again = (await step("backup", backupScript(spec))).stdout;
  const second = /backup: verified (\S+\.tar) /.exec(again)![1];
  const entries = (await step("entries", `tar -tf ${second}`)).stdout.split("\n").filter(Boolean);
  expect([entries.includes("./_mdb_catalog.wt"), entries.filter((e) => e.includes(".copilotos-"))]).toEqual([true, []]);
});

test("a volume without _mdb_catalog.wt fails verification, leaves no archive, and still unlocks", async () => {
  startMongo();
  onVolume("rm /data/db/_mdb_catalog.wt");
  const err = await step("backup", backupScript(spec)).catch((e: Error) => e.message);
  expect(err).toMatch(
    /^backup failed on cptdeploy@10\.201\.0\.2:22 \(exit 1\):\nbackup: verification failed: \S+\.tar\.partial is unreadable or holds no _mdb_catalog\.wt$/,
  );
  expect(mongoshLog()).toEqual(["lock", "unlock"]);
  expect((await step("ls", 'ls -A "$HOME/e2e-backups"')).stdout).toBe("");
});

test("retention keeps the newest N of this stack's archives and nothing else is touched", async () => {
  startMongo();
  await step("foreign", 'mkdir -p "$HOME/e2e-backups" && touch "$HOME/e2e-backups/copilotos-prod-mongo-20200101T000000Z.tar" "$HOME/e2e-backups/notes.txt"');
  const made: string[] = [];
  for (let i = 0; i < 3; i++) made.push(/verified \S+\/(\S+\.tar)/.exec((await step("backup", backupScript(spec))).stdout)![1]);
  const left = (await step("ls", 'ls -1 "$HOME/e2e-backups"')).stdout.trim().split("\n");
  expect(left).toEqual(["copilotos-prod-mongo-20200101T000000Z.tar", made[1], `${made[1]}.sha256`, made[2], `${made[2]}.sha256`, "notes.txt"].sort());
});

test("restore refuses an archive whose sha256 does not match, and leaves Mongo running", async () => {
  startMongo();
  const file = /verified \S+\/(\S+\.tar)/.exec((await step("backup", backupScript(spec))).stdout)![1];
  await step("tamper", `cd "$HOME/e2e-backups" && printf x >> ${file}`);
  await expect(step("restore", restoreScript({ ...spec, file }))).rejects.toThrow(
    `restore: ${file} does not match its .sha256; refusing (the live data is untouched)`,
  );
  expect(remote("inspect", "--format", "{{.State.Running}}", spec.container)).toBe("true");
});

describe("npm run restore", () => {
  // The staging stack's config, pointed at the test host.
  const S = "copilotos-staging";
  const stagingSpec: BackupSpec = { container: `${S}-mongo`, volume: `${S}-mongo-data`, dir: "~/e2e-backups", prefix: `${S}-mongo`, keep: 7, image: IMAGE };
  const hostKey = () => fs.readFileSync(host.target.knownHostsFile, "utf8").trim().split(" ").slice(1).join(" ");
  const config = () =>
    [
      `copilotos:host.address=${host.target.address}`,
      `copilotos:host.user=${host.target.user}`,
      `copilotos:host.hostKey=${hostKey()}`,
      "copilotos:backup.dir=~/e2e-backups",
    ].flatMap((c) => ["--config", c]);
  const cli = async (args: string[], answer?: string) => {
    const { restore } = await import("../../scripts/restore");
    const out: string[] = [];
    const err: string[] = [];
    const code = await restore([...args, ...config(), "--identity", host.target.identityFile!], {
      out: (s) => out.push(s),
      err: (s) => err.push(s),
      ask: answer === undefined ? undefined : async () => answer,
    });
    return { code, out: out.join(""), err: err.join("") };
  };

  afterEach(() => removeByPrefix(S));

  test("lists, refuses without confirmation, then restores every byte after the stack name is typed", async () => {
    remote("volume", "create", stagingSpec.volume);
    remote(
      "run",
      "--rm",
      "-v",
      `${stagingSpec.volume}:/data/db`,
      IMAGE,
      "sh",
      "-c",
      "echo catalog > /data/db/_mdb_catalog.wt && head -c 100000 /dev/urandom > /data/db/c.wt",
    );
    remote(...fakeMongoRunArgs(stagingSpec.container, stagingSpec.volume, IMAGE));
    const print = () =>
      remote(
        "run",
        "--rm",
        "-v",
        `${stagingSpec.volume}:/d`,
        IMAGE,
        "sh",
        "-c",
        "cd /d && find . ! -path './.copilotos-previous*' | sort && find . -type f ! -path './.copilotos-previous*' | sort | xargs sha256sum",
      );
    const before = print();
    const file = /verified \S+\/(\S+\.tar)/.exec((await step("backup", backupScript(stagingSpec))).stdout)![1];

    expect(await cli(["staging"])).toEqual({ code: 0, out: `${file}\n`, err: "" });
    remote("run", "--rm", "-v", `${stagingSpec.volume}:/d`, IMAGE, "sh", "-c", "rm /d/c.wt");
    expect(await cli(["staging", file])).toMatchObject({ code: 2, err: "restore: refusing without --yes: there is no terminal to confirm on\n" });
    expect(await cli(["staging", file], "prod")).toMatchObject({ code: 2, err: "restore: not confirmed; nothing changed\n" });
    expect(print()).not.toBe(before);
    const done = await cli(["staging", file], "staging");
    expect(done).toMatchObject({ code: 0, err: "" });
    expect(done.out).toContain(
      "restore: done; the data it replaced is kept in copilotos-staging-mongo-data under .copilotos-previous until the next restore\n",
    );
    expect(print()).toBe(before);
  });

  test("an aws stack: refused without --address and --host-key; with them (the sshHost output) it lists like an ssh host", async () => {
    const { restore } = await import("../../scripts/restore");
    const run = (extra: string[]) => {
      const base = [
        "aws",
        "--stack-dir",
        path.join(__dirname, "..", "fixtures"),
        "--config",
        `copilotos:host.user=${host.target.user}`,
        "--config",
        "copilotos:backup.dir=~/e2e-backups",
      ];
      return captured(restore, [...base, ...extra, "--identity", host.target.identityFile!]);
    };
    expect(await run([])).toEqual({
      code: 2,
      out: "",
      err: "restore: aws runs on an aws host; pass --address and --host-key from `pulumi stack output sshHost --stack aws`\n",
    });
    expect(await run(["--address", host.target.address, "--host-key", hostKey()])).toEqual({
      code: 0,
      out: `no backups of aws in ~/e2e-backups on ${host.target.user}@${host.target.address}:22\n`,
      err: "",
    });
    // A wrong host key is refused by the pinned known_hosts, not trusted.
    const wrong = await run([
      "--address",
      host.target.address,
      "--host-key",
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC14sYWFiDHgTKJ0Qp2N7SZUdlgOt/qxwjm5T3A8C1kT",
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/host key/i);
  });

  test("an unknown backup and a bad name fail clearly", async () => {
    expect(await cli(["staging", "copilotos-staging-mongo-20990101T000000Z.tar", "--yes"])).toMatchObject({
      code: 1,
      err: expect.stringMatching(
        /^restore: restore failed on cptdeploy@10\.201\.0\.2:22 \(exit 1\):\nrestore: no backup \S+\/e2e-backups\/copilotos-staging-mongo-20990101T000000Z\.tar\n$/,
      ),
    });
    expect(await cli(["staging", "../etc/passwd", "--yes"])).toMatchObject({
      code: 1,
      err: 'restore: "../etc/passwd" is not a backup of this stack (copilotos-staging-mongo-<UTC stamp>.tar); another stack\'s archive, or another file, is refused\n',
    });
  });
});

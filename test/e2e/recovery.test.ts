/**
 * Lose the host, keep the data: the staging stack's backups go off the host into a restic repository
 * on an SFTP server (its own namespace, its own sshd, its host key pinned), and after the first host's
 * engine and data are wiped, `npm run restore -- staging --from offsite --onto-new-host` brings the
 * data back byte for byte on a new host. Real restic (Debian's, in the stand-in restic image), real
 * sshd, real engines, the real CLIs with the stack's own config; Mongo is the busybox stand-in whose
 * data files are real (mongod is not installable here). Ends with the `recovery:` line of
 * `npm run bench -- recovery`.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { backupSpecOf } from "../../components/backupSpec";
import { backupScript, BackupSpec } from "../../components/renderers/operations/backup";
import { DRILL_PASSED } from "../../components/renderers/operations/drill";
import { offsiteFetchScript, offsiteFilesInput, offsiteFilesScript, OffsiteSpec, WRONG_PASSWORD } from "../../components/renderers/operations/offsite";
import { backup } from "../../scripts/backup";
import { ops as opsCli } from "../../scripts/ops";
import { restore } from "../../scripts/restore";
import { HostTarget, runOnHost } from "../../scripts/stack/hostExec";
import { stackTarget } from "../../scripts/stack/stackTarget";
import { captured } from "../support/cliRun";
import { dockerOn, loseTestHost, ReadyHost, startOtherTestHost, stopOtherTestHost } from "../support/otherHost";
import { routeTestHost, SftpTarget, startSftpTarget, stopSftpTarget } from "../support/sftpTarget";
import { FAKE_MONGOSH, fakeMongoImage, fakeMongoRunArgs, FIREWALL_STANDIN, resticImage } from "../support/testImages";
import { host } from "./support";

jest.setTimeout(300_000);

const FIRST = Number(process.env.COPILOTOS_TEST_HOST ?? 0);
const NEW_HOST = FIRST + 1;
const MONGO_IMAGE = "cpt-e2e/fake-mongo:1";
const RESTIC_IMAGE = "cpt-e2e/restic:0.14";
/** What `pulumi up` generated and keeps in the stack's state (here: given, as the state would). */
const PASSWORD = "repository-password-" + "r".repeat(28);
/** A line no encrypted repository may hold in the clear. */
const MARKER = "copilotos-plaintext-marker-7f3a";

let sftp: SftpTarget;
let newHost: ReadyHost | undefined;
let spec: BackupSpec & { offsite: OffsiteSpec };
const figures: Record<string, string | number> = {};
const first: ReadyHost = { target: host.target, remoteSocket: host.remoteSocket };

const step = (h: ReadyHost, script: string, input?: string) => runOnHost(h.target as HostTarget, script, input);
const onVolume = (h: ReadyHost, cmd: string) => dockerOn(h)("run", "--rm", "-v", `${spec.volume}:/data/db`, MONGO_IMAGE, "sh", "-c", cmd);
/** Every path and every file's sha256 in Mongo's volume (what a restore keeps aside is not data). */
const fingerprint = (h: ReadyHost) =>
  onVolume(h, "cd /data/db && find . ! -path './.copilotos-previous*' | sort && find . -type f ! -path './.copilotos-previous*' | sort | xargs sha256sum");

/** The staging stack's config pointed at a test host, its backups off the host on the SFTP target. */
function stackConfig(h: ReadyHost): string[] {
  const hostKey = fs.readFileSync(h.target.knownHostsFile!, "utf8").trim().split(" ").slice(1).join(" ");
  return [
    `copilotos:host.address=${h.target.address}`,
    `copilotos:host.user=${h.target.user}`,
    `copilotos:host.hostKey=${hostKey}`,
    `copilotos:images.mongo=${MONGO_IMAGE}`,
    `copilotos:images.restic=${RESTIC_IMAGE}`,
    `copilotos:images.firewall=${FIREWALL_STANDIN}`,
    "copilotos:backup.dir=~/backups",
    "copilotos:backup.keep=3",
    `copilotos:backup.offsite.sftp.host=${sftp.address}`,
    `copilotos:backup.offsite.sftp.user=${sftp.user}`,
    `copilotos:backup.offsite.sftp.path=${sftp.home}/copilotos-staging`,
    `copilotos:backup.offsite.sftp.hostKey=${sftp.hostKey}`,
    // Every backup reads all of the repository back: the damaged pack below is found by the next one.
    "copilotos:backup.offsite.checkSubset=100%",
  ];
}

/** Runs a CLI against host `h` with the stack's config; its exit code and output. */
function cli(run: typeof backup | typeof restore | typeof opsCli, h: ReadyHost, args: string[]) {
  return captured(run, [...args, ...stackConfig(h).flatMap((c) => ["--config", c]), "--identity", h.target.identityFile!]);
}

/** What `pulumi up` does on a host before any backup: the repository's password and the key in private files, the restic image there. */
async function deployOffsiteFiles(h: ReadyHost, password = PASSWORD, o: OffsiteSpec = spec.offsite) {
  fakeMongoImage(
    ["-H", `unix://${h.remoteSocket}`],
    MONGO_IMAGE,
    FAKE_MONGOSH.replace('case "$*" in\n', 'case "$*" in\n  *listDatabases*) echo admin copilotos; exit 0 ;;\n'),
  );
  resticImage(["-H", `unix://${h.remoteSocket}`], RESTIC_IMAGE);
  const r = await step(h, offsiteFilesScript(o), offsiteFilesInput(o.target, { password, sshKey: sftp.clientKey }));
  expect(r).toMatchObject({ code: 0, stderr: "" });
}

beforeAll(async () => {
  sftp = await startSftpTarget();
  routeTestHost(FIRST);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cpt-recovery-"));
  try {
    const found = stackTarget({ stack: "staging", config: stackConfig(first), tmp, cli: "test" });
    if ("usage" in found) throw new Error(found.usage);
    spec = backupSpecOf({ identity: { project: "copilotos", stack: "staging" }, cfg: found.cfg }) as typeof spec;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

afterAll(async () => {
  try {
    if (newHost) stopOtherTestHost(NEW_HOST);
  } finally {
    await stopSftpTarget();
  }
  console.log(
    `recovery: offsite=sftp encrypted=${figures.encrypted} restored_identical=${figures.identical} rto_s=${figures.rto} rpo_s=${figures.rpo} ` +
      `unchanged_added_bytes=${figures.unchangedAdded} corruption_detected=${figures.corruption}`,
  );
});

const saved = (out: string) => /backup: off-host snapshot ([0-9a-f]{8}) saved to (\S+): (\d+) bytes added, the repository holds (\d+) bytes/.exec(out);
let lastSnapshotAt = 0;
const WHERE = () => `sftp:${sftp.user}@${sftp.address}:${sftp.home}/copilotos-staging`;

test("npm run backup: the verified archive goes off the host, encrypted; an unchanged database adds almost nothing; no secret is printed", async () => {
  await deployOffsiteFiles(first);
  const modes = await step(first, 'stat -c %a "$HOME/.copilotos/offsite/copilotos-staging" "$HOME/.copilotos/offsite/copilotos-staging"/*');
  expect(modes.stdout.split("\n").filter(Boolean)).toEqual(["700", "600", "600", "600", "600"]);
  dockerOn(first)("volume", "create", spec.volume);
  onVolume(
    first,
    `mkdir -p /data/db/journal && echo catalog > /data/db/_mdb_catalog.wt && head -c 3000000 /dev/urandom > /data/db/collection-0-1.wt && ` +
      `for i in $(seq 1 2000); do echo "${MARKER} document $i"; done > /data/db/collection-2-1.wt && head -c 70000 /dev/urandom > /data/db/journal/WiredTigerLog.1`,
  );
  dockerOn(first)(...fakeMongoRunArgs(spec.container, spec.volume, MONGO_IMAGE));

  // An archive from before backup.offsite was set: on the host only, until it is imported (below).
  const { offsite: _offsite, ...localOnly } = spec;
  const older = await step(first, backupScript(localOnly));
  expect(older.code).toBe(0);
  const olderName = /verified \S+\/(\S+\.tar)/.exec(older.stdout)![1];

  const one = await cli(backup, first, ["staging"]);
  expect(one).toMatchObject({ code: 0, err: "" });
  expect(one.out).toContain(`backup: created the off-host restic repository ${WHERE()} (encrypted with the stack's repository password)\n`);
  const s1 = saved(one.out)!;
  expect(s1[2]).toBe(WHERE());
  expect(Number(s1[3])).toBeGreaterThan(1_000_000);
  for (const secret of [PASSWORD, sftp.clientKey.split("\n")[1]]) expect(one.out + one.err).not.toContain(secret);

  // On the SFTP server: a restic repository, and nothing of the data in the clear.
  const repo = `${sftp.home}/copilotos-staging`;
  expect(fs.existsSync(`${repo}/config`)).toBe(true);
  const plain = execFileSync("sh", ["-c", `grep -rl ${MARKER} ${repo} || true`]).toString();
  figures.encrypted = plain === "" ? "yes" : "no";
  expect(plain).toBe("");

  const two = await cli(backup, first, ["staging"]);
  expect(two.code).toBe(0);
  const s2 = saved(two.out)!;
  figures.unchangedAdded = Number(s2[3]);
  expect(Number(s2[3])).toBeLessThan(16_384);
  expect(Number(s2[4])).toBeLessThan(Number(s1[4]) + 16_384);
  lastSnapshotAt = Date.now();

  // The archive from before: imported with its own time; the ones already there skipped.
  const imported = await cli(backup, first, ["staging", "--import-archives"]);
  expect(imported).toMatchObject({ code: 0, err: "" });
  expect(imported.out).toMatch(new RegExp(`^import: ${olderName} imported as a snapshot taken \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC$`, "m"));
  expect(imported.out).toContain(`import: 1 archives imported into ${WHERE()}, 2 already there; the archives in`);

  // The list: restic's table of this stack's snapshots, all three there.
  const ids = async () => [...(await cli(restore, first, ["staging", "--from", "offsite"])).out.matchAll(/^([0-9a-f]{8}) /gm)].map((m) => m[1]);
  const all = await ids();
  expect(all).toHaveLength(3);
  expect(all).toEqual(expect.arrayContaining([s1[1], s2[1]]));
  // restic's retention with the stack's numbers (keep 3, one a day): a fourth backup forgets the oldest, the imported one.
  const three = saved((await cli(backup, first, ["staging"])).out)!;
  expect((await ids()).sort()).toEqual([s1[1], s2[1], three[1]].sort());
  lastSnapshotAt = Date.now();

  // ops status: the newest off-host snapshot and its age.
  const status = await cli(opsCli, first, ["staging", "status", "--json"]);
  expect(status.code).toBe(0);
  expect(JSON.parse(status.out).offsite).toEqual({
    snapshot: three[1],
    time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    ageHours: 0,
    where: WHERE(),
  });
});

test("npm run restore --from offsite --drill: the newest snapshot served from a scratch volume; the live data untouched", async () => {
  const before = fingerprint(first);
  const drill = await cli(restore, first, ["staging", "--from", "offsite", "--drill"]);
  expect(drill).toMatchObject({ code: 0, err: "" });
  expect(drill.out).toMatch(new RegExp(`${DRILL_PASSED}: copilotos-staging-mongo-\\d{8}T\\d{6}Z\\.tar restored into a scratch volume`));
  expect(fingerprint(first)).toBe(before);
});

test("a wrong repository password is a clear error, and nothing is fetched", async () => {
  const wrong = { ...spec.offsite, secretsDir: "~/.copilotos/offsite/wrong" };
  await deployOffsiteFiles(first, "not-the-password-" + "x".repeat(20), wrong);
  const r = await step(first, offsiteFetchScript({ offsite: wrong, dir: "~/wrong-fetch", prefix: spec.prefix }));
  expect(r.code).toBe(1);
  expect(r.stderr).toBe(`restore: the off-host repository ${WHERE()} ${WRONG_PASSWORD}\n`);
  expect((await step(first, 'ls -A "$HOME/wrong-fetch" 2>/dev/null || echo none')).stdout.trim()).toBe("none");
});

test("the host is lost; npm run restore --from offsite --onto-new-host brings the data back byte for byte on a new host", async () => {
  const before = fingerprint(first);
  // The first host dies: its engine stops, its data root and its home (archives, credentials) are gone.
  const lostAt = Date.now();
  loseTestHost(FIRST);
  figures.rpo = ((lostAt - lastSnapshotAt) / 1000).toFixed(1);

  const h = (newHost = startOtherTestHost(NEW_HOST));
  routeTestHost(NEW_HOST);
  const started = Date.now();
  await deployOffsiteFiles(h);
  const recovered = await cli(restore, h, ["staging", "--from", "offsite", "--onto-new-host", "--yes"]);
  expect(recovered).toMatchObject({ code: 0, err: "" });
  expect(recovered.out).toContain(`restore: copying copilotos-staging-mongo-`);
  expect(recovered.out).toContain(
    "restore: copilotos-staging-mongo-data holds the data of snapshot latest. Next: pulumi up. Its password-rotation step gives the data " +
      "the stack's Mongo password (a throwaway mongod), then Mongo starts on it (docs/disaster-recovery.md)\n",
  );
  // Mongo's container started on the restored volume by hand: this test measures the data (the stack's up after it: recoveryStack.test.ts).
  dockerOn(h)(...fakeMongoRunArgs(spec.container, spec.volume, MONGO_IMAGE));
  figures.rto = ((Date.now() - started) / 1000).toFixed(1);
  const after = fingerprint(h);
  figures.identical = after === before ? "yes" : "no";
  expect(after).toBe(before);
  expect(dockerOn(h)("inspect", "--format", "{{.State.Running}}", spec.container)).toBe("true");

  // --onto-new-host never writes over a host that has the stack's Mongo.
  const again = await cli(restore, h, ["staging", "--from", "offsite", "--onto-new-host", "--yes"]);
  expect(again.code).toBe(1);
  expect(again.err).toContain("it is not a new host, and --onto-new-host never writes over data");
  expect(fingerprint(h)).toBe(before);
});

test("a damaged pack file in the off-host repository fails the next backup's verification", async () => {
  const repo = `${sftp.home}/copilotos-staging`;
  const pack = execFileSync("sh", ["-c", `find ${repo}/data -type f -size +1000k | head -n 1`])
    .toString()
    .trim();
  expect(pack).not.toBe("");
  const fd = fs.openSync(pack, "r+");
  fs.writeSync(fd, Buffer.from("damaged by the test"), 0, 19, 500_000);
  fs.closeSync(fd);
  const r = await cli(backup, newHost!, ["staging"]);
  expect(r.code).toBe(1);
  expect(r.err).toContain("failed its check (restic check --read-data-subset): its data is damaged; the verified archive");
  figures.corruption = r.code === 1 ? "yes" : "no";
});

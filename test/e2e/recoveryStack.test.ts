/**
 * The whole stack recovered onto a new host by the documented path (docs/disaster-recovery.md), each
 * step the real one: the staging stack deployed by the program (the executor) on a test host, its
 * backups off the host in restic over SFTP; notes written through the API; `npm run backup`; the host
 * dies (engine stopped, data root and home deleted); the stack pointed at a new test host;
 * `pulumi refresh --run-program` (the executor's refresh against the new host: the docker resources,
 * gone, leave the state); `pulumi up` (the whole stack on the new host, Mongo empty);
 * `npm run restore -- staging --from offsite --snapshot <id>` (the last one before the loss, re-keyed to
 * the stack's password);
 * the same notes served through the new host's API. Then the variant with no empty window, from
 * host 10 onto host 9 made afresh: `pulumi up --target` the repository's files (the executor's
 * `--target`, the engine's rules), `npm run restore -- staging --from offsite --snapshot <id>
 * --onto-new-host` (Mongo's volume made with the stack's labels), then `pulumi up`, whose rotation
 * step gives the restored data the stack's password and Mongo starts on it: the notes served (docs/disaster-recovery.md). Test hosts 9 and 10 (10.201.8.0/30 is the SFTP target's), after
 * test/e2e/recovery.test.ts in the same process.
 */
import { backup } from "../../scripts/backup";
import { restore } from "../../scripts/restore";
import { captured } from "../support/cliRun";
import { dockerOn, loseTestHost, ReadyHost, startOtherTestHost, stopOtherTestHost } from "../support/otherHost";
import { routeTestHost, SftpTarget, startSftpTarget, stopSftpTarget } from "../support/sftpTarget";
import { StackRig } from "../support/stackRig";
import { buildStandins } from "../support/standins";
import { resticImage } from "../support/testImages";

jest.setTimeout(900_000);

const FIRST = 9;
const NEW_HOST = 10;
const RESTIC_IMAGE = "cpt-e2e/restic:0.14";
const NOTES = ["first note", "second note", "written just before the backup"];
const log = (line: string) => process.stdout.write(`  ${line}\n`);

let sftp: SftpTarget;
/** The host the stack serves from after the first recovery. */
let serving: ReadyHost | undefined;
const started: number[] = [];
const rig = new StackRig("staging");
const figures = { restored: "no", rto: "-1", refreshDropped: 0, targetUp: "not-run", variantRto: "-1" };

/** The staging stack's backups off the host: restic over SFTP, the server's key pinned. */
const offsite = () => [
  `copilotos:images.restic=${RESTIC_IMAGE}`,
  `copilotos:backup.offsite.sftp.host=${sftp.address}`,
  `copilotos:backup.offsite.sftp.user=${sftp.user}`,
  `copilotos:backup.offsite.sftp.path=${sftp.home}/stack-staging`,
  `copilotos:backup.offsite.sftp.hostKey=${sftp.hostKey}`,
];
const offsiteKey = () => [`copilotos:offsiteSshKey=${sftp.clientKey}`];

/** A test host made ready for the stack: started, routed to the SFTP target, the stand-in images on its engine. */
function readyHost(n: number): ReadyHost {
  const h = startOtherTestHost(n);
  started.push(n);
  routeTestHost(n);
  buildStandins(["-H", `unix://${h.remoteSocket}`]);
  resticImage(["-H", `unix://${h.remoteSocket}`], RESTIC_IMAGE);
  return h;
}

/** A CLI run as the operator runs it: the stack's config (the rig's, pointed at `h`) and the deploy key. */
function cli(run: typeof backup | typeof restore, h: ReadyHost, args: string[]) {
  return captured(run, [...args, ...[...StackRig.hostConfig(h).config, ...offsite()].flatMap((c) => ["--config", c]), "--identity", h.target.identityFile!]);
}

const api = (h: ReadyHost) => `http://${h.target.address}:8101/api/standin/notes`;
async function notes(h: ReadyHost, write?: string): Promise<{ status: number; notes?: string[] }> {
  const r = await fetch(api(h), { method: write ? "POST" : "GET", body: write, signal: AbortSignal.timeout(10_000) });
  const body = (await r.json()) as { notes?: string[] };
  return { status: r.status, notes: body.notes };
}

/** `npm run backup -- staging` on `h`; the ID of the off-host snapshot it saved. */
async function backedUp(h: ReadyHost): Promise<string> {
  const saved = await cli(backup, h, ["staging"]);
  expect(saved).toMatchObject({ code: 0, err: "" });
  const snapshot = /backup: off-host snapshot ([0-9a-f]{8}) saved to sftp:/.exec(saved.out)?.[1];
  expect(snapshot).toBeDefined();
  return snapshot!;
}

beforeAll(async () => {
  sftp = await startSftpTarget();
});

afterAll(async () => {
  try {
    for (const n of started.reverse()) stopOtherTestHost(n);
  } finally {
    await stopSftpTarget();
  }
  console.log(
    `recovery-stack: restored_identical=${figures.restored} rto_s=${figures.rto} refresh_dropped=${figures.refreshDropped} target_up=${figures.targetUp} variant_rto_s=${figures.variantRto}`,
  );
});

test("the host is lost; refresh, up and restore on a new host serve the same notes through the API", async () => {
  const first = readyHost(FIRST);
  rig.moveTo(first);
  await rig.deploy(offsite(), log, undefined, offsiteKey());
  for (const note of NOTES) expect(await notes(first, note)).toMatchObject({ status: 200 });
  const written = await notes(first);
  expect(written).toEqual({ status: 200, notes: NOTES });

  const snapshot = await backedUp(first);

  loseTestHost(FIRST);

  // The stack pointed at a new host (host.address and host.hostKey), then the documented steps.
  const h = readyHost(NEW_HOST);
  const from = Date.now();
  rig.moveTo(h);
  // pulumi refresh --run-program: read on the new host, the containers, volumes and networks leave the state
  // (the images stay: this test put them there, as a pull would have; the provider's Read finds them).
  const dropped = await rig.refresh();
  figures.refreshDropped = dropped.length;
  const onHost = /^docker:index\/(container|volume|network):/;
  expect(dropped.length).toBeGreaterThan(0);
  expect([...rig.state.resources.values()].filter((e) => onHost.test(e.type)).map((e) => e.name)).toEqual([]);
  // pulumi up: the whole stack on the new host; Mongo starts empty, the host steps run there (their connection changed).
  await rig.deploy(offsite(), log, undefined, offsiteKey());
  expect(await notes(h)).toEqual({ status: 200, notes: [] });
  // Its backup before the app update found Mongo holding no database of the app: nothing went off the host,
  // so the snapshot from before the loss is still the only one (and the newest).
  const listed = await cli(restore, h, ["staging", "--from", "offsite"]);
  expect([listed.code, [...listed.out.matchAll(/^([0-9a-f]{8}) /gm)].map((m) => m[1])]).toEqual([0, [snapshot]]);
  // npm run restore -- staging --from offsite --snapshot <the last one before the loss>: over the empty data, re-keyed.
  const restored = await cli(restore, h, ["staging", "--from", "offsite", "--snapshot", snapshot, "--yes"]);
  expect(restored).toMatchObject({ code: 0, err: "" });
  const served = await notes(h);
  figures.rto = ((Date.now() - from) / 1000).toFixed(1);
  figures.restored = JSON.stringify(served.notes) === JSON.stringify(NOTES) ? "yes" : "no";
  expect(served).toEqual({ status: 200, notes: NOTES });
  serving = h;
  expect(dockerOn(h)("ps", "--filter", "label=copilotos.stack=staging", "--format", "{{.Names}}").split("\n").filter(Boolean).length).toBeGreaterThan(3);
});

test("the variant with no empty window: up --target the repository's files, restore --onto-new-host, then up starts Mongo on the restored data (its rotation step re-keys it through a throwaway mongod)", async () => {
  // The stack serves from host 10 (the test before); one more note, backed up off the host, then host 10 dies.
  const h10 = serving!;
  expect(await notes(h10, "written on the second host")).toMatchObject({ status: 200 });
  const snapshot = await backedUp(h10);
  loseTestHost(NEW_HOST);

  // The new host: test host 9 again, made afresh.
  stopOtherTestHost(FIRST);
  started.splice(started.indexOf(FIRST), 1);
  const h = readyHost(FIRST);
  const from = Date.now();
  rig.moveTo(h);
  await rig.refresh();
  // pulumi up --target <the repository's files>: the one step runs on the new host (its connection changed); nothing else is made.
  const files = await rig.deploy(offsite(), log, undefined, offsiteKey(), { targets: ["copilotos-offsite-files"] });
  expect(files.filter((s) => s.action !== "same").map((s) => `${s.action} ${s.name}`)).toEqual(["update copilotos-offsite-files"]);
  const docker = dockerOn(h);
  expect(docker("ps", "-aq", "--filter", "label=copilotos.stack=staging")).toBe("");
  // npm run restore -- staging --from offsite --snapshot <id> --onto-new-host: the volume made with the stack's labels, the data in it.
  const restored = await cli(restore, h, ["staging", "--from", "offsite", "--snapshot", snapshot, "--onto-new-host", "--yes"]);
  expect(restored).toMatchObject({ code: 0, err: "" });
  expect(restored.out).toContain("restore: made copilotos-staging-mongo-data with the stack's labels, as pulumi up makes it\n");
  expect(restored.out).toContain(`restore: copilotos-staging-mongo-data holds the data of snapshot ${snapshot}. Next: pulumi up.`);
  // The volume is the program's own: the labels a refresh compares (a volume without them would be replaced).
  expect(JSON.parse(docker("volume", "inspect", "copilotos-staging-mongo-data", "--format", "{{json .Labels}}"))).toEqual({
    "copilotos.project": "copilotos",
    "copilotos.service": "mongo",
    "copilotos.stack": "staging",
  });
  // pulumi up: the rotation step finds data and no Mongo, gives the data the stack's password through a throwaway
  // mongod (no network, no auth), and Mongo starts on it; no empty Mongo ever served.
  const steps = await rig.deploy(offsite(), log, undefined, offsiteKey());
  expect(steps.find((st) => st.name === "copilotos-mongo-rotation-change")?.output).toContain(
    "rotate: the data in copilotos-staging-mongo-data accepts the stack's Mongo password for copilotos_user",
  );
  expect(docker("ps", "-a", "--filter", "name=copilotos-staging-mongo-rotation", "--format", "{{.Names}}")).toBe("");
  const served = await notes(h);
  figures.variantRto = ((Date.now() - from) / 1000).toFixed(1);
  expect(served).toEqual({ status: 200, notes: [...NOTES, "written on the second host"] });
  figures.targetUp = "completed";
});

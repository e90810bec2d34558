/**
 * Faults on a real host: the staging stack from its own graph on the test host (the test executor,
 * the stand-ins), with data in it, then seven faults. Each scenario ends with no data lost (Mongo
 * files and Redis keys fingerprinted before and after), nothing partial left behind, a message that
 * says what happened and what to do, no secret in anything printed, and a re-run that converges.
 * Ends with the bench line `faults: scenarios=… survived=… data_lost=… partial_left=… secrets_leaked=…`.
 */
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { backupScript, BackupSpec } from "../../components/renderers/operations/backup";
import { restoreScript } from "../../components/renderers/operations/restore";
import { switchScript } from "../../components/renderers/proxy";
import { runHostStep } from "../../scripts/stack/hostExec";
import { deliverImage } from "../../scripts/delivery/transfer";
import { ApplyError } from "../support/executor";
import { FaultRun } from "../support/faultRun";
import { StackData } from "../support/stackData";
import { StackRig } from "../support/stackRig";
import { buildStandins, STANDIN_TAGS } from "../support/standins";
import { restartRemoteEngine, TEST_HOST_DIR } from "../support/testHost";
import { busyboxImage } from "../support/testImages";
import { host, remote, removeProject, remoteTry } from "./support";

jest.setTimeout(600_000);
const rig = new StackRig("staging");
const data = StackData.ofStack("staging");
const log = (line: string) => process.stdout.write(`  ${line}\n`);
const step = (name: string, script: string, stdin?: string) => runHostStep(host.target, name, script, stdin);
const run = new FaultRun(rig, data, `http://${host.target.address}:8101`);
const scenario = run.scenario.bind(run);
const converged = run.converged.bind(run);
const routedTo = run.routedTo.bind(run);
/** Backups of the staging stack's Mongo, as its MongoBackup writes them, in a folder the scenarios remove. */
const BACKUPS: BackupSpec = {
  container: "copilotos-staging-mongo",
  volume: data.mongoVolume,
  dir: "~/faults-backups",
  prefix: "copilotos-staging-mongo",
  keep: 7,
  image: STANDIN_TAGS.mongo,
};
const running = (name: string) => remoteTry("inspect", "--format", "{{.State.Running}}", name) === "true";

beforeAll(async () => {
  removeProject();
  buildStandins(["-H", `unix://${host.remoteSocket}`]);
  await rig.deploy([], log);
  data.seed();
  const baseline = run.takeBaseline();
  expect(baseline.mongo).toMatch(/\n4$/); // the catalog and three collection files
  expect(baseline.redis.split("\n")).toHaveLength(50);
});
afterAll(() => {
  removeProject();
  process.stdout.write(`${run.summary()}\n`);
});

test("1. the SSH connection drops in the middle of an image transfer: nothing tagged, the message says to run again, the re-run loads the image", () =>
  scenario("ssh-drop", async (seen) => {
    const image = "cpt-faults/big:1";
    const tag = "copilotos-staging-api:faults";
    const id = busyboxImage([], image, { files: { "/opt/big.bin": randomBytes(24e6) } });
    // 40 Mbit/s, so the session is cut seconds before the end.
    execFileSync("tc", ["qdisc", "add", "dev", host.linkDevice, "root", "tbf", "rate", "40mbit", "burst", "64kb", "latency", "400ms"]);
    try {
      let cut = false;
      const error = await deliverImage({
        image,
        tag,
        target: host.target,
        progressIntervalSeconds: 0,
        progress: (l) => {
          if (cut || !/ [1-9][0-9.]* MB of/.test(l)) return;
          cut = true;
          // Server side: the deploy user's sshd session process dies, as when the link or the host drops it.
          execFileSync("pkill", ["-KILL", "-u", host.target.user, "sshd"]);
        },
      }).catch((e: Error) => e);
      expect(cut).toBe(true);
      expect(error).toBeInstanceOf(Error);
      const message = (error as Error).message;
      seen.push(message);
      expect(message).toMatch(/^the SSH connection to cptdeploy@10\.201\.0\.2:22 dropped after \d+ bytes of copilotos-staging-api:faults \(ssh: [^)]*\); /);
      expect(message).toContain("nothing was tagged on the host (a cut stream fails inside docker load); run the delivery again");
      const leftovers = remoteTry("image", "inspect", tag) === undefined ? [] : [`${tag} is tagged after the cut`];
      const again = await deliverImage({ image, tag, target: host.target });
      expect(remote("image", "inspect", "--format", "{{.Id}}", tag)).toBe(id);
      expect(again.imageId).toBe(id);
      remote("image", "rm", tag);
      return leftovers;
    } finally {
      execFileSync("tc", ["qdisc", "del", "dev", host.linkDevice, "root"]);
      execFileSync("docker", ["image", "rm", "-f", image]);
    }
  }));

test("2. the backup folder's file system fills up in the middle of a backup: no archive kept, Mongo unlocked, the message says what to free; the re-run is verified", () =>
  scenario("disk-full", async (seen) => {
    const dir = `${TEST_HOST_DIR}/full-backups`;
    fs.mkdirSync(dir, { recursive: true });
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]);
    try {
      execFileSync("chown", [`${host.target.user}:`, dir]);
      const spec: BackupSpec = {
        container: "copilotos-staging-mongo",
        volume: data.mongoVolume,
        dir,
        prefix: "copilotos-staging-mongo",
        keep: 7,
        image: STANDIN_TAGS.mongo,
      };
      const error = await step("backup", backupScript(spec)).catch((e: Error) => e);
      expect(error).toBeInstanceOf(Error);
      const message = (error as Error).message;
      seen.push(message);
      expect(message).toMatch(/backup: writing the archive to \S+\/full-backups failed \(\d+ KiB free there\); no archive was kept and Mongo is unlocked\./);
      expect(message).toContain("Free space in");
      const leftovers = [
        ...fs.readdirSync(dir).map((f) => `left in the backup folder: ${f}`),
        ...(remoteTry("exec", spec.container, "test", "-e", "/tmp/locked") === undefined ? [] : ["Mongo is still fsync-locked"]),
      ];
      execFileSync("mount", ["-o", "remount,size=64m", dir]);
      const ok = await step("backup", backupScript(spec));
      seen.push(ok.stdout + ok.stderr);
      expect(ok.stdout).toMatch(/backup: verified \S+\/copilotos-staging-mongo-\d{8}T\d{6}Z\.tar \(\d+ bytes, sha256 [0-9a-f]{64}\)/);
      return leftovers;
    } finally {
      execFileSync("umount", [dir]);
    }
  }));

test("3. the Docker engine restarts between two steps of an update: containers come back by their restart policy, the re-run converges, the proxy routes only to live containers", () =>
  scenario("engine-restart", async (seen) => {
    let restarted = false;
    const first = await rig
      .deploy(["copilotos:api.env.STANDIN_SCENARIO=3"], log, async (name) => {
        if (name !== "copilotos-api-ready-wait" || restarted) return;
        restarted = true;
        log("restarting the host's Docker engine");
        await restartRemoteEngine();
      })
      .then(() => "converged in one run")
      .catch((e: Error) => e.message);
    expect(restarted).toBe(true);
    seen.push(first);
    // Whether the interrupted run got through or not, the next one converges.
    await rig.deploy(["copilotos:api.env.STANDIN_SCENARIO=3"], log);
    const leftovers = await converged(seen);
    expect(remote("inspect", "--format", "{{json .Config.Env}}", routedTo("api"))).toContain("STANDIN_SCENARIO=3");
    return leftovers;
  }));

test("4. the update is killed between the route switch and the health gate: the re-run finishes the gate; the proxy leads to a live, ready API", () =>
  scenario("killed-after-switch", async (seen) => {
    const error = await rig
      .deploy(["copilotos:api.env.STANDIN_SCENARIO=4"], log, async (name) => {
        if (name === "copilotos-api-health-wait") throw new Error("pulumi up killed (SIGKILL) before the health gate");
      })
      .catch((e: Error) => e);
    expect(error).toBeInstanceOf(ApplyError);
    seen.push((error as Error).message);
    // The switch had happened: the new API serves, the old one is kept until an update completes.
    expect(remote("inspect", "--format", "{{json .Config.Env}}", routedTo("api"))).toContain("STANDIN_SCENARIO=4");
    const steps = await rig.deploy(["copilotos:api.env.STANDIN_SCENARIO=4"], log);
    const changed = steps.filter((s) => s.action !== "same").map((s) => `${s.action} ${s.name}`);
    // The killed gate's replacement never reached the state: the engine replaces the old gate again (its switch finds the route in place);
    // the rest are the deletes the killed update left pending.
    // The pids limits, which wait for the web's gate, reach the new API only now.
    expect(changed.filter((s) => !s.startsWith("delete "))).toEqual(["replace copilotos-api-health-wait", "update copilotos-pids-set"]);
    expect(changed).toContainEqual(expect.stringMatching(/^delete copilotos-staging-api-[0-9a-f]{8}$/));
    const leftovers = await converged(seen);
    const apis = run.containers().filter((l) => l.includes("-api-"));
    if (apis.length !== 1) leftovers.push(`API containers after the re-run: ${apis.join(", ")}`);
    return leftovers;
  }));

test("5. Mongo is killed during a password rotation: the step says which passwords Mongo may hold; the re-run finds the one it accepts and finishes", () =>
  scenario("mongo-killed-rotating", async (seen) => {
    const mongo = "copilotos-staging-mongo";
    remote("exec", mongo, "touch", "/tmp/slow-once");
    // The change lands, then mongod dies before it answers: the hardest case (it now holds the new password).
    const killer = (async () => {
      for (let i = 0; i < 150 && remoteTry("exec", mongo, "test", "-e", "/tmp/rotating") === undefined; i++) await new Promise((r) => setTimeout(r, 200));
      process.kill(Number(remote("inspect", "--format", "{{.State.Pid}}", mongo)), "SIGKILL");
    })();
    const error = await rig.deploy(["copilotos:mongo.rotate=faults-5"], log).catch((e: Error) => e);
    await killer;
    expect(error).toBeInstanceOf(ApplyError);
    const message = (error as Error).message;
    seen.push(message);
    expect(message).toMatch(/^copilotos-mongo-rotation-change: command failed/);
    expect(message).toContain(
      "rotate: Mongo in copilotos-staging-mongo stopped during the change, so it holds either its current or the new password; nothing else was changed. Run pulumi up again",
    );
    const steps = await rig.deploy(["copilotos:mongo.rotate=faults-5"], log);
    const rotation = steps.find((s) => s.name === "copilotos-mongo-rotation-change");
    expect(rotation?.output).toContain("rotate: already current: copilotos_user");
    return converged(seen);
  }));

test("6. a restore is given a truncated archive, one whose sha256 does not match, one with ../ entries and one whose .sha256 names another file: each refused before the live volume is touched", () =>
  scenario("bad-restores", async (seen) => {
    const spec = BACKUPS;
    const good = /verified \S+\/(\S+\.tar)/.exec((await step("backup", backupScript(spec))).stdout)![1];
    const name = (n: number) => `${spec.prefix}-2020010${n}T000000Z.tar`;
    await step(
      "forge",
      [
        'cd "$HOME/faults-backups"',
        `head -c 20000 ${good} > ${name(1)} && sha256sum ${name(1)} > ${name(1)}.sha256`,
        `cp ${good} ${name(2)} && printf x >> ${name(2)} && sed 's/${good}/${name(2)}/' ${good}.sha256 > ${name(2)}.sha256`,
        // An intact copy whose .sha256 names the good file instead.
        `cp ${good} ${name(4)} && cp ${good}.sha256 ${name(4)}.sha256`,
        `mkdir -p forge/a && echo x > forge/a/f && (cd forge/a && tar -cPf "$HOME/faults-backups/${name(3)}" ../a/f) && sha256sum ${name(3)} > ${name(3)}.sha256 && rm -rf forge`,
      ].join(" && "),
    );
    const refusals: [string, string][] = [
      [name(1), "is not a complete tar archive (truncated or damaged)"],
      [name(2), "does not match its .sha256"],
      [name(3), "has entries outside the volume (/ or ..)"],
      [name(4), "has no .sha256 naming it"],
    ];
    for (const [file, why] of refusals) {
      const error = await step("restore", restoreScript({ ...spec, file })).catch((e: Error) => e);
      seen.push(String(error));
      expect(String(error)).toContain(`restore: ${file} ${why}; refusing (the live data is untouched)`);
    }
    const leftovers = [
      ...(running(spec.container) ? [] : ["Mongo was left stopped"]),
      ...(data.onMongoVolume("ls -A /data/db | grep -x .copilotos-restore-new || true") ? ["an unpacked archive is left in the volume"] : []),
    ];
    await step("clean", 'rm -rf "$HOME/faults-backups"');
    leftovers.push(...(await converged(seen)));
    return leftovers;
  }));

test("7. two updates at once: host steps of another stack wait for the host lock (pre-flight, route switch), and go on once it is free", () =>
  scenario("concurrent-updates", async (seen) => {
    const preflightScript = String(rig.lastRun!.resources.find((r) => r.name === "copilotos-preflight-check")!.inputs.create);
    const apiSwitch = switchScript({ proxy: "copilotos-staging-proxy", service: "api", container: routedTo("api"), port: 8001, drainSeconds: 15 });
    // Another stack's step holds the host lock for 4 s (prod's pre-flight, say).
    const holder = spawn("ssh", [
      ...["-i", host.target.identityFile!, "-o", "BatchMode=yes", "-o", `UserKnownHostsFile=${host.target.knownHostsFile}`],
      `${host.target.user}@${host.target.address}`,
      'mkdir -p "$HOME/.copilotos" && flock "$HOME/.copilotos/host.lock" sh -c "echo held; sleep 4"',
    ]);
    const released = new Promise((resolve) => holder.on("close", resolve));
    await new Promise<void>((resolve) => holder.stdout.once("data", () => resolve()));
    const t0 = Date.now();
    const [preflight, sw] = await Promise.all([step("preflight", preflightScript), step("switch", apiSwitch)]);
    const waited = (Date.now() - t0) / 1000;
    await released;
    seen.push(preflight.stdout + preflight.stderr, sw.stdout + sw.stderr);
    for (const r of [preflight, sw])
      expect(r.stdout).toMatch(/^host lock: waiting for another copilotos step on this host to finish \(\S+\/\.copilotos\/host\.lock\)\n/);
    expect(preflight.stdout).toContain("preflight: ok");
    expect(sw.stdout).toContain("proxy: api already routes to");
    expect(waited).toBeGreaterThan(3);
    return converged(seen);
  }));

test("8. a backup taken before a password rotation is restored: the restored data gets the stack's current password, so the API still logs in", () =>
  scenario("restore-before-rotation", async (seen) => {
    const spec = BACKUPS;
    const file = /verified \S+\/(\S+\.tar)/.exec((await step("backup", backupScript(spec))).stdout)![1];
    const users = () => data.onMongoVolume("cat /data/db/.users");
    const before = users();
    await rig.deploy(["copilotos:mongo.rotate=faults-8"], log);
    expect(users()).not.toBe(before);
    const rotated = users();
    const restored = await step("restore", restoreScript({ ...spec, file }));
    seen.push(restored.stdout + restored.stderr);
    expect(restored.stdout).toContain("restore: the restored data accepts the current Mongo password of the stack for copilotos_user\n");
    // The archive held the old password; the restored data holds the stack's current one.
    expect(users()).toBe(rotated);
    const leftovers = remoteTry("inspect", "copilotos-staging-mongo-rekey") === undefined ? [] : ["the throwaway mongod is left"];
    await step("clean", 'rm -rf "$HOME/faults-backups"');
    leftovers.push(...(await converged(seen)));
    return leftovers;
  }));

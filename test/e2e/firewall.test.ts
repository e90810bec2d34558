/**
 * The host firewall (host.firewall, on by default for an ssh host) on the real test host, applied by
 * the test executor as `pulumi up` applies it: ports a container publishes do not answer from outside
 * unless the stack opened them, SSH keeps working, rules that would shut out the deploying connection
 * are refused, rules on trial remove themselves, the confirmed ones come back with the engine, and a
 * stack that turns its firewall off takes its rules out. The bench line
 * `firewall: closed=<n>/<n> open=<n>/<n> ssh_ok=yes lockout_refused=yes trial_reverted=yes after_restart=yes`
 * ends the file, after `hardening: hardened=<n>/<n> mongo_cache_fits=yes redis_maxmemory=yes` (the stack behind it).
 */
import { spawnSync } from "node:child_process";
import { FIREWALL_CONTAINER, firewallConfirmScript, firewallRemoveScript, firewallTrialScript, FirewallSpec } from "../../components/renderers/hosts/firewall";
import * as fs from "node:fs";
import { osUpdatesScript, UPGRADES_FILE } from "../../components/renderers/hosts/osUpdates";
import { runHostStep, runOnHost } from "../../scripts/stack/hostExec";
import { get } from "../support/loadLoop";
import { StackRig } from "../support/stackRig";
import { buildStandins, STANDIN_TAGS } from "../support/standins";
import { NETNS, restartRemoteEngine } from "../support/testHost";
import { FIREWALL_STANDIN } from "../support/testImages";
import { host, remote, removeProject } from "./support";

jest.setTimeout(600_000);
const ADDRESS = host.target.address;
/** This machine's end of the link: where the test host sees SSH come from. */
const CLIENT = ADDRESS.replace(/\.2$/, ".1");
const rig = new StackRig("prod", { without: ["tls"] });
const PROD = { web: 3000, api: 8001 };
/** Ports a container publishes that no stack opened: the firewall must close them. */
const PROBES = [9999, 8443];
const report = { closed: 0, open: 0, sshOk: false, lockoutRefused: false, reverted: false, afterRestart: false };
const hardening = { hardened: 0, containers: 0, mongoCacheFits: false, redisMaxmemory: false };
const log = (line: string) => process.stdout.write(`  ${line}\n`);

/** Whether a port of the test host answers HTTP from this machine (outside the host). */
const answersFromOutside = async (port: number) =>
  get(`http://${ADDRESS}:${port}/`, { timeoutMs: 2000 }).then(
    (a) => a.status > 0,
    () => false,
  );
/** Whether it answers inside the host (its own loopback): the container does publish it. */
const answersInside = (port: number) =>
  spawnSync("nsenter", [`--net=/var/run/netns/${NETNS}`, "curl", "-s", "-o", "/dev/null", "--max-time", "3", `http://127.0.0.1:${port}/`]).status === 0;
const firewallRules = () => remote("inspect", "--format", '{{.State.Running}} {{index .Config.Labels "org.copilotos.firewall.rules"}}', FIREWALL_CONTAINER);

beforeAll(async () => {
  removeProject();
  buildStandins(["-H", `unix://${host.remoteSocket}`]);
  for (const port of PROBES) remote("run", "-d", "--restart", "always", "--name", `cpt-fw-probe-${port}`, "-p", `${port}:3000`, STANDIN_TAGS.web);
  await rig.deploy([], log);
});
afterAll(async () => {
  for (const port of PROBES) spawnSync("docker", ["-H", `unix://${host.remoteSocket}`, "rm", "-f", `cpt-fw-probe-${port}`]);
  removeProject();
  const open = 2;
  process.stdout.write(
    `hardening: hardened=${hardening.hardened}/${hardening.containers} mongo_cache_fits=${hardening.mongoCacheFits ? "yes" : "no"} redis_maxmemory=${hardening.redisMaxmemory ? "yes" : "no"}\n`,
  );
  process.stdout.write(
    `firewall: closed=${report.closed}/${PROBES.length} open=${report.open}/${open} ssh_ok=${report.sshOk ? "yes" : "no"} lockout_refused=${report.lockoutRefused ? "yes" : "no"} trial_reverted=${report.reverted ? "yes" : "no"} after_restart=${report.afterRestart ? "yes" : "no"}\n`,
  );
});

test("pulumi up closes the ports a container publishes that no stack opened; the proxy's ports and SSH stay open", async () => {
  expect(firewallRules()).toMatch(/^true [0-9a-f]{64}$/);
  for (const port of PROBES) {
    expect(answersInside(port)).toBe(true);
    expect(await answersFromOutside(port)).toBe(false);
    report.closed++;
  }
  for (const port of [PROD.web, PROD.api]) {
    expect(await answersFromOutside(port)).toBe(true);
    report.open++;
  }
  // A new SSH connection: what the confirm step proved, and what every later step needs.
  const ssh = await runOnHost(host.target, "echo ssh-ok");
  expect(ssh.stdout).toBe("ssh-ok\n");
  report.sshOk = true;
});

test("behind the firewall, the stack's containers run hardened and its databases sized to their limits", () => {
  const containers = remote("ps", "--filter", "label=copilotos.stack=prod", "--format", "{{.Names}}").split("\n").filter(Boolean);
  expect(containers.length).toBe(5);
  for (const c of containers) {
    const [security, drops, readOnly, pids] = remote(
      "inspect",
      "--format",
      "{{json .HostConfig.SecurityOpt}} {{json .HostConfig.CapDrop}} {{json .HostConfig.ReadonlyRootfs}} {{json .HostConfig.PidsLimit}}",
      c,
    )
      .split(" ")
      .map((j) => JSON.parse(j) as unknown);
    hardening.containers++;
    // No privileges gained, every capability dropped (but its own), a read-only root, a pids limit.
    const none = (v: unknown) => (v as string[] | null) ?? [];
    if (
      none(security).some((o) => /^no-new-privileges(:true)?$/.test(o)) &&
      none(drops).some((d) => /^(CAP_)?ALL$/.test(d)) &&
      readOnly === true &&
      typeof pids === "number" &&
      pids > 0
    )
      hardening.hardened++;
  }
  expect(hardening.hardened).toBe(hardening.containers);
  // mongod's cache (its arguments, as the stand-in records them) against its container's memory limit.
  const cacheGb = Number(/--wiredTigerCacheSizeGB (\S+)/.exec(remote("exec", "copilotos-prod-mongo", "cat", "/tmp/mongod.args"))?.[1]);
  const mongoLimitMb = Number(remote("inspect", "--format", "{{.HostConfig.Memory}}", "copilotos-prod-mongo")) / 1024 / 1024;
  expect(cacheGb * 1024).toBeLessThanOrEqual(mongoLimitMb - 256);
  hardening.mongoCacheFits = true;
  const redis = remote("exec", "copilotos-prod-redis", "sh", "-c", 'REDISCLI_AUTH="$(cat /run/secrets/redis_password)" redis-cli CONFIG GET maxmemory').split(
    "\n",
  );
  const redisLimit = Number(remote("inspect", "--format", "{{.HostConfig.Memory}}", "copilotos-prod-redis"));
  expect(Number(redis[1])).toBeGreaterThan(0);
  expect(Number(redis[1])).toBeLessThan(redisLimit);
  hardening.redisMaxmemory = true;
});

test("rules that would shut out the deploying SSH connection are refused by key; nothing changes, and the next up with good config reconciles", async () => {
  const before = firewallRules();
  await expect(rig.deploy(['copilotos:host.firewall.sshCidrs=["192.0.2.0/24"]'], log)).rejects.toThrow(
    `firewall: these rules would not admit this SSH connection (from ${CLIENT} to port 22): add ${CLIENT} to host.firewall.sshCidrs, or set host.firewall.sshPort to 22; nothing was changed`,
  );
  expect(firewallRules()).toBe(before);
  expect((await runOnHost(host.target, "cat ~/.copilotos/firewall/copilotos-prod.entries")).stdout).toBe(
    "0.0.0.0/0 22\n::/0 22\n0.0.0.0/0 3000\n::/0 3000\n0.0.0.0/0 8001\n::/0 8001\n",
  );
  report.lockoutRefused = true;
  // The failed update left the trial's recorded state as it was: the next up with the old config has nothing to do.
  const steps = await rig.deploy([], log);
  expect(steps.filter((s) => s.name.startsWith("copilotos-firewall-")).map((s) => `${s.action} ${s.name}`)).toEqual([
    "same copilotos-firewall-trial",
    "same copilotos-firewall-confirm",
  ]);
  expect(firewallRules()).toBe(before);
});

test("rules on trial remove themselves unless a new SSH connection confirms them; the confirm step puts them on trial again and asks for another up", async () => {
  const spec: FirewallSpec = {
    stack: "copilotos-fwtest",
    sshPort: 22,
    sshSources: [`${CLIENT}/32`],
    ports: [9999],
    sources: ["0.0.0.0/0"],
    image: FIREWALL_STANDIN,
    trialSeconds: 10,
    dir: "~/.copilotos/firewall",
  };
  const kept = firewallRules();
  await runHostStep(host.target, "firewall trial", firewallTrialScript(spec));
  expect(await answersFromOutside(9999)).toBe(true);
  // No confirmation: after the trial the confirmed rules (prod's) are back.
  await new Promise((r) => setTimeout(r, 12_000));
  expect(await answersFromOutside(9999)).toBe(false);
  expect(await answersFromOutside(PROD.web)).toBe(true);
  report.reverted = true;
  await expect(runHostStep(host.target, "firewall confirm", firewallConfirmScript(spec))).rejects.toThrow(
    "firewall: the rules' trial ended before a new SSH connection confirmed them (they removed themselves). They are on trial again for 15 minutes: run pulumi up again to confirm them, or fix host.firewall.sshCidrs if SSH fails",
  );
  expect(await answersFromOutside(9999)).toBe(true);
  expect(firewallRules()).toBe(kept);
  // The next run's new connection confirms them.
  expect((await runHostStep(host.target, "firewall confirm", firewallConfirmScript(spec))).stdout).toContain("firewall: confirmed over a new SSH connection");
  expect(firewallRules()).not.toBe(kept);
  expect(await answersFromOutside(9999)).toBe(true);
  // Taking one stack's rules out leaves the others'.
  expect((await runHostStep(host.target, "firewall remove", firewallRemoveScript(spec))).stdout).toContain(
    "firewall: copilotos-fwtest's ports taken out; the other stacks' rules stay",
  );
  expect(await answersFromOutside(9999)).toBe(false);
  expect(await answersFromOutside(PROD.api)).toBe(true);
  expect(firewallRules()).toBe(kept);
});

test("OS updates: a deploy user that cannot become root gets the commands an admin runs once, and nothing changes", async () => {
  const r = await runOnHost(host.target, osUpdatesScript({ reboot: "never", rebootTime: "04:00" }));
  expect(r.code).toBe(1);
  expect(r.stdout).toBe("");
  expect(r.stderr).toContain(
    "os updates: unattended security upgrades are not set up, and the deploy user cannot become root (no passwordless sudo). As root on the host, run once:\n    apt-get update -q >/dev/null\n    env DEBIAN_FRONTEND=noninteractive apt-get install -y -q unattended-upgrades >/dev/null\n",
  );
  expect(r.stderr).toContain("or set host.osUpdates.enabled false to manage upgrades yourself\n");
  expect(fs.existsSync(UPGRADES_FILE)).toBe(false);
});

test("after the engine restarts (a reboot: the kernel's rules gone), the firewall container applies the confirmed rules again", async () => {
  spawnSync("nsenter", [`--net=/var/run/netns/${NETNS}`, "nft", "delete", "table", "inet", "copilotos"]);
  expect(await answersFromOutside(9999)).toBe(true);
  await restartRemoteEngine();
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && !(answersInside(9999) && !(await answersFromOutside(9999)))) await new Promise((r) => setTimeout(r, 500));
  expect(answersInside(9999)).toBe(true);
  expect(await answersFromOutside(9999)).toBe(false);
  report.afterRestart = true;
});

test("host.firewall.enabled=false: the stack's rules come out (the last stack's: the table goes) and its published ports answer again", async () => {
  const steps = await rig.deploy(["copilotos:host.firewall.enabled=false"], log);
  expect(steps.filter((s) => s.name.startsWith("copilotos-firewall")).map((s) => `${s.action} ${s.name}`)).toEqual(
    expect.arrayContaining(["delete copilotos-firewall-confirm", "delete copilotos-firewall-trial"]),
  );
  expect(await answersFromOutside(9999)).toBe(true);
  expect(spawnSync("docker", ["-H", `unix://${host.remoteSocket}`, "inspect", FIREWALL_CONTAINER]).status).not.toBe(0);
  expect(spawnSync("nsenter", [`--net=/var/run/netns/${NETNS}`, "nft", "list", "table", "inet", "copilotos"]).status).not.toBe(0);
});

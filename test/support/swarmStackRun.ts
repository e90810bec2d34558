/**
 * The swarm suite's stack (test/e2e/swarm.test.ts): the rig (test/support/swarmRig.ts) with the
 * stand-ins pushed by digest, an SFTP server for the off-host backups and a webhook receiver for the
 * alerts; the program deployed through the manager by the test executor, each update recorded as
 * `npm run rollback` reads stack history; and what the tests read on the rig (tasks, data
 * fingerprints, Prometheus, backups) and the real CLIs run against it.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { captured } from "./cliRun";
import { failuresOf, LoadResult, NO_FAILURES } from "./loadLoop";
import { proxyTrouble } from "./proxyLog";
import { applyGraph, ApplyStep, ExecState } from "./executor";
import { SAPTIVA_KEY } from "./program";
import { apiVersion, buildStandins } from "./standins";
import { SwarmRig } from "./swarmRig";
import { HistoryRig, updateEntry } from "./rigBackend";
import { buildMonitoringStandins, MONITORING_STANDIN_TAGS } from "./monitoringImages";
import { Notification, startWebhookReceiver, WebhookReceiver } from "./webhookReceiver";
import { queryProm } from "./prometheus";
import type { SftpTarget } from "./sftpTarget";
import { resticImage } from "./testImages";
import { TEST_BACKUP_SCHEDULE } from "./cron";
import type { ProgramRun } from "../../scripts/mockRuntime/harness";
import type { HistoryEntry } from "../../scripts/plans/rollbackPlan";
import type { StackConfigInput } from "../../scripts/stack/stackConfig";

type Io = { out: (s: string) => void; err: (s: string) => void };
const FIXTURES = path.join(__dirname, "..", "fixtures");

export class SwarmStackRun implements HistoryRig {
  readonly stack = "swarm";
  readonly rig = new SwarmRig();
  readonly state = new ExecState();
  /** Each stand-in's reference by digest, by service (and monitoring part, and restic). */
  readonly digests: Record<string, string> = {};
  /** The API stand-in answering version 2, by digest. */
  apiV2 = "";
  /** The generated passwords of the last run (the next run keeps them, as stack state does). */
  passwords: ProgramRun["passwords"] = {};
  history: HistoryEntry[] = [];
  lastInput: StackConfigInput | undefined;
  hook!: WebhookReceiver;
  /** The off-host restic target: an SFTP server on the swarm's bridge, on no node. */
  sftp!: SftpTarget;

  constructor(private readonly log: (line: string) => void) {}

  async start(onNotified: (n: Notification) => void): Promise<void> {
    const { rig, digests } = this;
    await rig.start();
    const tags = buildStandins(rig.manager.dockerArgs);
    apiVersion(rig.manager.dockerArgs, "cpt-standin/api:2", "2");
    for (const [service, tag] of Object.entries(tags)) digests[service] = rig.push(tag, `copilotos-${service}`);
    this.apiV2 = rig.push("cpt-standin/api:2", "copilotos-api");
    // restic (Debian's, as upstream's image has it) for the off-host copies, and their SFTP target.
    digests.restic = rig.push(resticImage(rig.manager.dockerArgs, "cpt-e2e/restic:0.14"), "copilotos-restic");
    this.sftp = await rig.startSftp();
    buildMonitoringStandins(rig.manager.dockerArgs);
    for (const [part, tag] of Object.entries(MONITORING_STANDIN_TAGS)) digests[part] = rig.push(tag, `copilotos-${part.toLowerCase()}`);
    // Alertmanager posts from the overlay network, out through its node, to this machine's end of the swarm's bridge.
    this.hook = await startWebhookReceiver("10.202.0.1", onNotified);
  }

  async stop(): Promise<void> {
    await this.rig.stop();
    await this.hook?.close();
  }

  /** Where the stack's restic repository is on the SFTP server. */
  readonly repository = () => path.join(this.sftp.home, "copilotos-swarm");
  /** The stack's `backup.offsite` (the program and the CLIs read it). */
  private offsiteConfig = () => [
    `copilotos:backup.offsite.sftp.host=${this.sftp.address}`,
    `copilotos:backup.offsite.sftp.user=${this.sftp.user}`,
    `copilotos:backup.offsite.sftp.path=${this.repository()}`,
    `copilotos:backup.offsite.sftp.hostKey=${this.sftp.hostKey}`,
  ];

  /** The swarm stack's program, pointed at the rig and the pushed stand-ins (unless `config` names another image), applied through the manager; `secrets` set as secrets. */
  readonly deploy = async (config: string[] = [], secrets: string[] = []): Promise<ApplyStep[]> => {
    const { loadStackConfig } = await import("../../scripts/stack/stackConfig");
    const input = loadStackConfig({
      stack: "swarm",
      dir: FIXTURES,
      config: [
        `copilotos:host.address=${this.rig.manager.address}`,
        "copilotos:host.replicas.api=2",
        ...Object.entries(this.digests)
          .filter(([service]) => !config.some((c) => c.startsWith(`copilotos:images.${service}=`)))
          .map(([service, ref]) => `copilotos:images.${service}=${ref}`),
        "copilotos:host.updateMonitorSeconds=5",
        // The schedule's job is run by hand (this machine's cron is real; see TEST_BACKUP_SCHEDULE).
        `copilotos:backup.schedule=${TEST_BACKUP_SCHEDULE}`,
        // The names browsers use (here the edge nodes' addresses): the app answers no other Host (ALLOWED_HOSTS).
        'copilotos:api.allowedHosts=["10.202.0.11","10.202.0.12","10.202.0.13","proxy","localhost","127.0.0.1"]',
        "copilotos:monitoring.enabled=true",
        // Resolutions within the tests' patience (5 minutes by default).
        "copilotos:monitoring.alerts.groupIntervalMinutes=1",
        ...this.offsiteConfig(),
        ...config,
      ],
      secrets: [
        `copilotos:saptivaApiKey=${SAPTIVA_KEY}`,
        `copilotos:alertWebhookUrl=${this.hook.url}`,
        `copilotos:offsiteSshKey=${this.sftp.clientKey}`,
        ...secrets,
      ],
    });
    return this.deployInput(input);
  };

  /** One update, as `pulumi up` and its history see it (`npm run rollback` calls this with an old input). */
  async deployInput(input: StackConfigInput): Promise<ApplyStep[]> {
    jest.resetModules();
    const { runProgram } = await import("../../scripts/mockRuntime/harness");
    const run = await runProgram({ stack: "swarm", ...input, priorPasswords: this.passwords });
    this.passwords = run.passwords;
    this.lastInput = input;
    try {
      const steps = await applyGraph(run, { dockerArgs: this.rig.manager.dockerArgs, ssh: this.rig.managerSsh }, this.state, this.log);
      this.history.push(updateEntry(this.history, input, "succeeded"));
      return steps;
    } catch (e) {
      this.history.push(updateEntry(this.history, input, "failed"));
      throw e;
    }
  }

  /** The API's running tasks: `<node> <state…>`. */
  readonly apiTasks = () =>
    this.rig
      .docker(1, "service", "ps", "copilotos-swarm-api", "--filter", "desired-state=running", "--format", "{{.Node}} {{.CurrentState}}")
      .split("\n")
      .filter((l) => / Running /.test(` ${l} `));
  /** A worker that runs an API task (the spread strategy puts the two on different nodes), else `fallback`. */
  readonly apiWorker = (fallback: string) =>
    this.apiTasks()
      .map((l) => l.split(" ")[0])
      .find((n) => n !== "node-1") ?? fallback;
  /** Seconds from `since` until the API runs its 2 tasks, none on `node` (2 minutes at most; -1 if not by then). */
  readonly apiOff = async (node: string, since: number): Promise<number> => {
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const tasks = this.apiTasks();
      if (tasks.length === 2 && tasks.every((t) => !t.startsWith(node))) return (Date.now() - since) / 1000;
      await new Promise((r) => setTimeout(r, 500));
    }
    return -1;
  };
  /** The IDs of `svc`'s task containers on node `node` (one a line), found by their service's label. */
  readonly tasksOn = (svc: string, node = 1) => this.rig.docker(node, "ps", "-q", "--filter", `label=com.docker.swarm.service.name=copilotos-swarm-${svc}`);
  /**
   * A request loop's failures, with node-1's edge proxy's side of them when there are any: what its
   * log shows of trouble since the loop began (test/support/proxyLog.ts). Equal to
   * {@link NO_EDGE_FAILURES} when nothing failed.
   */
  readonly failuresAtEdge = (load: LoadResult) => {
    if (!load.failed) return { ...failuresOf(load), whatTheProxyLogged: [] as string[] };
    const since = new Date(Date.now() - load.seconds * 1000 - 2000).toISOString();
    const task = this.tasksOn("proxy").split("\n")[0];
    const logs = spawnSync("docker", [...this.rig.nodes[0].dockerArgs, "logs", "--since", since, task], { maxBuffer: 64 * 1024 * 1024 });
    // No log to read says so, rather than look like a proxy that saw nothing wrong.
    if (logs.status !== 0)
      return { ...failuresOf(load), whatTheProxyLogged: [`docker logs of the proxy task "${task}" failed: ${String(logs.stderr || logs.error)}`] };
    return { ...failuresOf(load), whatTheProxyLogged: proxyTrouble(`${logs.stdout}${logs.stderr}`) };
  };
  /** The Docker secrets `svc`'s spec names, space-separated. */
  readonly secretsOf = (svc: string) =>
    this.rig.docker(1, "service", "inspect", `copilotos-swarm-${svc}`, "--format", "{{range .Spec.TaskTemplate.ContainerSpec.Secrets}}{{.SecretName}} {{end}}");
  /** A command in the Redis task (on node-1), authenticated from its secret file (REDISCLI_AUTH: on no command line). */
  readonly redisCli = (cmd: string) => {
    return this.rig.docker(1, "exec", this.tasksOn("redis"), "sh", "-c", `REDISCLI_AUTH="$(cat /run/secrets/redis_password)"; export REDISCLI_AUTH; ${cmd}`);
  };
  /** Mongo's data files and Redis's keys, fingerprinted. */
  readonly dataPrint = () => ({
    mongo: this.rig.docker(
      1,
      "run",
      "--rm",
      "-v",
      "copilotos-swarm-mongo-data:/d:ro",
      this.digests.mongo,
      "sh",
      "-c",
      "cd /d && find . -type f | sort | xargs sha256sum",
    ),
    redis: this.redisCli(`redis-cli --scan | sort | while read -r k; do printf '%s %s\\n' "$k" "$(redis-cli GET "$k")"; done`),
  });

  /** A PromQL query's series, asked inside the Prometheus task (on node-1, the data node). */
  readonly promQuery = (promql: string) => queryProm((...a) => this.rig.docker(1, ...a), this.tasksOn("prometheus"), promql);
  /** Waits (3 minutes at most) until `promql`'s series' `label` values, sorted, are `want`; returns what it saw last. */
  readonly promLabels = async (promql: string, label: string, want: string[]): Promise<string[]> => {
    const deadline = Date.now() + 180_000;
    let seen: string[] = [];
    while (Date.now() < deadline) {
      seen = this.promQuery(promql)
        .map((r) => r.metric[label])
        .sort();
      if (JSON.stringify(seen) === JSON.stringify(want)) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    return seen;
  };

  /** The CLIs' arguments up to the stack's name (`… swarm`): the rig's manager over SSH as its deploy user, the stack's config. */
  readonly cliArgv = (): string[] => {
    const rig = this.rig;
    const config = [
      ...[`host.address=${rig.manager.address}`, "host.user=cptswarm", `host.hostKey=${rig.managerHostKey}`].map((c) => `copilotos:${c}`),
      ...this.offsiteConfig(),
      `copilotos:images.restic=${this.digests.restic}`,
    ].flatMap((c) => ["--config", c]);
    return ["--stack-dir", FIXTURES, "--identity", rig.managerSsh.identityFile, ...config, "swarm"];
  };

  /** A CLI (`npm run ops|backup|restore -- swarm …`, the real one), over SSH to the rig's manager as its deploy user. */
  readonly cli = (cli: (argv: string[], io: Io) => Promise<number>, ...args: string[]): Promise<{ code: number; out: string; err: string }> =>
    captured(cli, [...this.cliArgv(), ...args]);

  /** The deploy user's backup folder on the manager, the data node (config `backup.dir`, ~/copilotos-backups). */
  readonly backupDir = () => path.join(this.rig.home, "copilotos-backups");
  /** The swarm Mongo's verified archives there, oldest first. */
  readonly archives = () =>
    (fs.existsSync(this.backupDir()) ? fs.readdirSync(this.backupDir()) : []).filter((f) => /^copilotos-swarm-mongo-\d{8}T\d{6}Z\.tar$/.test(f)).sort();
  /** How many snapshots the off-host repository holds (restic keeps one file per snapshot). */
  readonly offsiteSnapshots = () => fs.readdirSync(path.join(this.repository(), "snapshots")).length;
  /** An archive's files, and whether it matches the sha256 recorded beside it. */
  readonly archiveOf = (file: string) => ({
    files: spawnSync("tar", ["-tf", path.join(this.backupDir(), file)], { encoding: "utf8" })
      .stdout.split("\n")
      .filter(Boolean)
      .sort(),
    sumMatches: spawnSync("sha256sum", ["-c", `${file}.sha256`], { cwd: this.backupDir() }).status === 0,
  });
}

/** What {@link SwarmStackRun.failuresAtEdge} is when no request failed. */
export const NO_EDGE_FAILURES = { ...NO_FAILURES, whatTheProxyLogged: [] as string[] };

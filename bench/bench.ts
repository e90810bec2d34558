/**
 * `npm run bench -- delivery|backup`: bench/host.ts (real engine over SSH, needs root).
 * `npm run bench -- swap`: bench/swap.ts (real engine, needs root; --requests N, default 2000).
 * `npm run bench -- stack`: staging and prod from the program's own graph on the test host, the seeds'
 * incident under load (runs test/e2e/stack.test.ts, root). Ends with `stack: stacks=2 containers=…`.
 * `npm run bench -- faults`: the fault scenarios on the test host (runs test/e2e/faults.test.ts, root).
 * Ends with `faults: scenarios=… survived=… data_lost=… partial_left=… secrets_leaked=…`.
 * `npm run bench -- adopt`: a compose deployment taken over on the test host (runs test/e2e/adopt.test.ts, root).
 * Ends with `adopt: data_intact=… outage_s=… failed=… failed_cutover_restored=… seed_outage_s=…`.
 * `npm run bench -- swarm`: the stack on a real 3-node swarm (runs test/e2e/swarm.test.ts, root).
 * Ends with `swarm: nodes=3 requests=… update_failed=… bad_update_failed=… rolled_back=… node_loss_failed=… recovery_s=… node_down_detect_s=… false_alarms=…`.
 * `npm run bench -- swarm-ops`: the same suite, ending with its operations line:
 * `swarm-ops: nodes=3 backup_verified=… restore_identical=… drill=… rotation_failed=… tls=… migrate=… maintenance=… rollback_failed=… drain_failed=… ops_nodes=…`.
 * `npm run bench -- ops`: day-2 operations on the test host (runs test/e2e/ops.test.ts, root).
 * Ends with `ops: tls=… maintenance=… migrate_before_switch=… scheduled_backup=… drill=…`.
 * `npm run bench -- converge`: the convergence matrix and the order fuzz under 20 seeds on the test host
 * (runs test/e2e/converge.test.ts with CONVERGE_SEEDS=20, root), then the first deploy under 20 seeds
 * (test/e2e/firstDeploy.test.ts). Prints
 * `converge: cells=… converged=… false_success=… served_wrong=… deleted_while_serving=… seeds=… seed_failures=…`
 * and `first-deploy: seeds=… same_state=… failed_requests=…`.
 * `npm run bench -- recovery`: off-host backups (restic over SFTP), the first test host wiped, the data back on
 * a new one; then the whole stack recovered by the documented path (runs test/e2e/recovery.test.ts and
 * recoveryStack.test.ts, root). Ends with `recovery-stack: restored_identical=… rto_s=… refresh_dropped=…` and
 * `recovery: offsite=sftp encrypted=… restored_identical=… rto_s=… rpo_s=… unchanged_added_bytes=… corruption_detected=…`.
 * `npm run bench -- security`: a certificate from a real ACME server (pebble) renewed under load, the host
 * firewall and the hardened stack behind it (runs test/e2e/acme.test.ts and test/e2e/firewall.test.ts, root).
 * Ends with `security: tls_renewed=… renew_failed=… firewall_closed=<n>/<n> ssh_ok=… hardened=<n>/<n> mongo_cache_fits=… redis_maxmemory=…`.
 * `npm run bench -- alerts`: the monitoring on two test hosts, each fault measured to its notification and
 * back to resolved, and an update that must notify no one (runs test/e2e/monitoring.test.ts on test host 6
 * and test/e2e/monitoringHost.test.ts, the full disk and the expiring certificate, on test host 7, root). Ends with
 * `alerts: scenarios=… detected=… resolved=… max_detect_s=… duplicates=… false_alarms=…`.
 * `npm run bench -- check`: times the offline dry run against the bare load of the SDKs it uses,
 * in one run, interleaved, median of N. Ends with `check: seconds=<x> bare_load_seconds=<y> ratio=<x/y>`.
 */
import { spawn, spawnSync } from "node:child_process";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { projectRoot } from "../scripts/stack/project";

export const USAGE =
  "usage: npm run bench -- check|delivery|backup|swap|stack|faults|adopt|ops|swarm|swarm-ops|converge|recovery|security|alerts [--runs N] [--stack NAME] [--requests N]\nexample: sudo npm run bench -- delivery\n";

/** The flags it takes (its usage names each). */
export const OPTIONS = {
  runs: { type: "string", default: "7" },
  stack: { type: "string", default: "staging" },
  requests: { type: "string", default: "2000" },
} as const;

const BARE = 'require("@pulumi/pulumi");require("@pulumi/docker");require("@pulumi/command");require("@pulumi/random")';

function timeOnce(args: string[], cwd: string): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}: ${r.stderr.toString().slice(-500)}`);
  return seconds;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchCheck(runs: number, stack: string): Promise<string> {
  const root = projectRoot();
  const check = [path.join(root, "scripts", "run.js"), "check", stack];
  timeOnce(check, root); // build if needed, warm the file cache
  const ours: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < runs; i++) {
    ours.push(timeOnce(check, root));
    bare.push(timeOnce(["-e", BARE], root));
  }
  const x = median(ours);
  const y = median(bare);
  console.log(`check ${stack}: runs=${runs} ours=[${ours.map((s) => s.toFixed(2)).join(" ")}] bare=[${bare.map((s) => s.toFixed(2)).join(" ")}]`);
  return `check: seconds=${x.toFixed(3)} bare_load_seconds=${y.toFixed(3)} ratio=${(x / y).toFixed(2)}`;
}

export async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: OPTIONS,
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs must be a whole number >= 1");
  switch (positionals[0]) {
    case "check":
      console.log(await benchCheck(runs, values.stack));
      return 0;
    case "delivery":
      console.log(await (await import("./host")).benchDelivery());
      return 0;
    case "backup":
      console.log(await (await import("./host")).benchBackup(Math.min(runs, 5)));
      return 0;
    case "swap": {
      const requests = Number(values.requests);
      if (!Number.isInteger(requests) || requests < 100) throw new Error("--requests must be a whole number >= 100");
      console.log(await (await import("./swap")).benchSwap(requests));
      return 0;
    }
    case "stack":
      // The stack bench is the real-engine test itself (it needs jest's test host): it ends with the `stack:` line.
      return runJest("test/e2e/stack.test.ts");
    case "faults":
      // Likewise the fault scenarios: the test file ends with the `faults:` line.
      return runJest("test/e2e/faults.test.ts");
    case "adopt":
      return runJest("test/e2e/adopt.test.ts");
    case "ops":
      return runJest("test/e2e/ops.test.ts");
    case "swarm":
    case "swarm-ops": {
      // One suite prints both lines; the one asked for comes last.
      const out: string[] = [];
      const code = await runJest("test/e2e/swarm.test.ts", {}, (s) => out.push(s));
      const mode = positionals[0];
      console.log(lastLine(out.join(""), `${mode}: `) ?? `${mode}: no line (the suite did not finish)`);
      return code;
    }
    case "recovery": {
      // The recovery tests are the bench: off-host backups to SFTP, the host lost, the data back on a new one (test
      // hosts 3 and 4), then the whole stack by the documented path (9 and 10). The `recovery:` line comes last.
      const out: string[] = [];
      const code = await runJest(
        "test/e2e/recovery.test.ts test/e2e/recoveryStack.test.ts",
        { COPILOTOS_TEST_HOST: process.env.COPILOTOS_TEST_HOST ?? "3" },
        (s) => out.push(s),
      );
      for (const mode of ["recovery-stack", "recovery"]) console.log(lastLine(out.join(""), `${mode}: `) ?? `${mode}: no line (the suite did not finish)`);
      return code;
    }
    case "security": {
      // The suites print their own lines; the security line is made of them.
      const out: string[] = [];
      const code = await runJest("test/e2e/acme.test.ts test/e2e/firewall.test.ts", { COPILOTOS_TEST_HOST: process.env.COPILOTOS_TEST_HOST ?? "5" }, (s) =>
        out.push(s),
      );
      console.log(securityLine(out.join("")));
      return code;
    }
    case "alerts": {
      // The service alerts (test host 6) and the host alerts (test host 7, a small disk of its own) side by side; their lines summed.
      const out: string[] = [];
      const codes = await Promise.all([
        runJest("test/e2e/monitoring.test.ts", { COPILOTOS_TEST_HOST: "6" }, (s) => out.push(s)),
        runJest("test/e2e/monitoringHost.test.ts", { COPILOTOS_TEST_HOST: "7", COPILOTOS_TEST_HOST_DISK_MB: "2048" }, (s) => out.push(s)),
      ]);
      console.log(alertsLine(out.join("")));
      return codes.find((c) => c !== 0) ?? 0;
    }
    case "converge": {
      // CI runs the matrix's fuzz with 4 seeds and the first deploy's with 3; the bench runs both with 20.
      const matrix = await runJest("test/e2e/converge.test.ts", { CONVERGE_SEEDS: process.env.CONVERGE_SEEDS ?? "20" });
      const first = await runJest("test/e2e/firstDeploy.test.ts", { FIRST_DEPLOY_SEEDS: process.env.FIRST_DEPLOY_SEEDS ?? "20" });
      return matrix || first;
    }
    default:
      process.stderr.write(USAGE);
      return 2;
  }
}

/** Runs jest test files (space-separated) with this project's config, output passed through (and to `onOutput`); its exit code. */
function runJest(files: string, env: NodeJS.ProcessEnv = {}, onOutput?: (s: string) => void): Promise<number> {
  const jest = path.join(projectRoot(), "node_modules", "jest", "bin", "jest.js");
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [jest, "--runInBand", "--runTestsByPath", ...files.split(" ")], {
      cwd: projectRoot(),
      stdio: onOutput ? ["inherit", "pipe", "pipe"] : "inherit",
      env: { ...process.env, ...env },
    });
    for (const stream of [child.stdout, child.stderr])
      stream?.on("data", (b: Buffer) => {
        (stream === child.stdout ? process.stdout : process.stderr).write(b);
        onOutput?.(b.toString());
      });
    child.on("close", (code) => resolve(code ?? 1));
  });
}

/** The last line of `output` that starts with `prefix`. */
export function lastLine(output: string, prefix: string): string | undefined {
  return output
    .split("\n")
    .filter((l) => l.startsWith(prefix))
    .at(-1);
}

/** One `alerts:` line from the suites' own: counts summed, the longest detection kept (`?` when a suite printed none). */
export function alertsLine(output: string): string {
  const lines = output.split("\n").filter((l) => /^alerts: scenarios=/.test(l));
  if (lines.length < 2) return "alerts: scenarios=? detected=? resolved=? max_detect_s=? duplicates=? false_alarms=?";
  const values = (key: string) => lines.map((l) => Number(new RegExp(`\\b${key}=(\\S+)`).exec(l)?.[1]));
  const sum = (key: string) => values(key).reduce((a, b) => a + b, 0);
  return [
    "alerts:",
    `scenarios=${sum("scenarios")}`,
    `detected=${sum("detected")}`,
    `resolved=${sum("resolved")}`,
    `max_detect_s=${Math.max(...values("max_detect_s")).toFixed(1)}`,
    `duplicates=${sum("duplicates")}`,
    `false_alarms=${sum("false_alarms")}`,
  ].join(" ");
}

/** The `security:` line from the `tls:`, `hardening:` and `firewall:` lines the suites print (`?` for a figure none printed). */
export function securityLine(output: string): string {
  const field = (line: string, key: string) => new RegExp(`^\\s*${line}:.*\\b${key}=(\\S+)`, "m").exec(output)?.[1] ?? "?";
  return [
    "security:",
    `tls_renewed=${field("tls", "renewed")}`,
    `renew_failed=${field("tls", "renew_failed")}`,
    `firewall_closed=${field("firewall", "closed")}`,
    `ssh_ok=${field("firewall", "ssh_ok")}`,
    `hardened=${field("hardening", "hardened")}`,
    `mongo_cache_fits=${field("hardening", "mongo_cache_fits")}`,
    `redis_maxmemory=${field("hardening", "redis_maxmemory")}`,
  ].join(" ");
}

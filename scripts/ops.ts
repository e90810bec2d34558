/**
 * `npm run ops -- <stack> status | logs <service> [--since <time>] [--tail N] [--follow] | exec <service> -- <command...>`
 * `npm run ops -- <stack> maintenance on|off`: both apps answer 503 with a page at the proxy, no deploy.
 * `npm run ops -- <stack> alerts`: what the stack's monitoring has firing now, with each alert's first command.
 * `npm run ops -- <stack> monitor`: Prometheus and Alertmanager on this machine's loopback, through an SSH tunnel.
 * Day-2 access by service name (mongo, redis, api, web, proxy) over the stack's pinned connection:
 * app containers carry a random suffix in their names, and the one serving is the one the proxy routes to.
 * On a swarm stack, through its manager: status, logs (every task's, on every node), alerts;
 * restart and maintenance as the swarm's rolling updates (maintenance's switch rolled out to every
 * edge proxy); monitor and exec reach the tasks on the manager (the data node's, when it is the manager).
 * Output streams as the host writes it. Exit: the remote command's status; 2 on a usage error.
 */
import { acmeVolumeNames } from "../components/renderers/operations/acme";
import { parseArgs } from "node:util";
import { containerName, Service, StackIdentity } from "../components/renderers/names";
import { maintenanceScript } from "../components/renderers/proxy/maintenance";
import { gateUrl } from "../components/renderers/operations/health";
import { backupSpecOf } from "../components/backupSpec";
import { execScript, logsScript, OPS_SERVICES, parseStatus, restartScript, statusScript } from "../components/renderers/operations/ops";
import { stackEntryOf, type StackEntryConfig } from "../components/renderers/proxy";
import { alertsScript, formatAlerts } from "../components/renderers/monitoring/alerts";
import {
  swarmAlertsScript,
  swarmExecScript,
  swarmLogsScript,
  SwarmLogsOptions,
  swarmRestartScript,
  swarmStatusScript,
  swarmUiAddressesScript,
} from "../components/renderers/swarm/ops";
import type { StatusSpec } from "../components/renderers/operations/ops";
import { swarmMaintenanceScript } from "../components/renderers/swarm/maintenance";
import { dataNodeRole } from "../components/config/host";
import { monitoringEnabled } from "../components/config/monitoring";
import { HostTarget, spawnOnHost } from "./stack/hostExec";
import { monitor } from "./stack/tunnel";
import { HOST_OPTIONS, withStackTarget } from "./stack/stackTarget";

export const USAGE =
  "usage: npm run ops -- <stack> status [--json]\n" +
  "       npm run ops -- <stack> logs <mongo|redis|api|web|proxy> [--since <time>] [--tail N] [--follow]\n" +
  "       npm run ops -- <stack> exec <mongo|redis|api|web|proxy> -- <command> [args...]\n" +
  "       npm run ops -- <stack> maintenance on|off\n" +
  "       npm run ops -- <stack> alerts   (what the monitoring has firing now)\n" +
  "       npm run ops -- <stack> monitor [--prometheus-port N] [--alertmanager-port N]   (their UIs on 127.0.0.1, 9090 and 9093 by default, through an SSH tunnel until Ctrl-C)\n" +
  "       npm run ops -- <stack> restart <mongo|redis|api|web|proxy>   (then waits for its health check and, for an app, 200 through the proxy)\n" +
  "       (every form also takes --identity <key file>, --config key=value, --stack-dir dir; aws hosts --address, --host-key)\n" +
  "       (a swarm stack, through its manager: every command; restart and maintenance as the swarm's rolling updates, monitor and exec reach the manager's tasks)\n" +
  "example: npm run ops -- prod logs api --since 10m --follow\n";

/** The flags it takes (its usage names each). */
export const OPTIONS = {
  since: { type: "string" },
  tail: { type: "string" },
  follow: { type: "boolean", default: false },
  json: { type: "boolean", default: false },
  "prometheus-port": { type: "string" },
  "alertmanager-port": { type: "string" },
  ...HOST_OPTIONS,
} as const;

export interface OpsIo {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Fed to `exec`'s command. @default nothing */
  stdin?: NodeJS.ReadableStream;
  /** Ends `monitor`'s tunnel. @default never: it holds until ssh exits */
  stop?: AbortSignal;
}

export async function ops(argv: string[], io: OpsIo): Promise<number> {
  let a;
  try {
    a = parseArgs({
      args: argv,
      allowPositionals: true,
      options: OPTIONS,
    });
  } catch (e) {
    io.err(`ops: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const [stack, verb, service, ...rest] = a.positionals;
  const usage = (why: string) => (io.err(`ops: ${why}\n${USAGE}`), 2);
  if (!stack || !verb) return usage("a stack and a command are needed");
  if (verb === "maintenance" && (!["on", "off"].includes(service) || rest.length)) return usage("maintenance takes on or off");
  if ((verb === "logs" || verb === "exec" || verb === "restart") && !OPS_SERVICES.includes(service as Service))
    return usage(`${verb} needs a service: ${OPS_SERVICES.join(", ")}`);
  if (verb === "restart" && rest.length) return usage("restart takes one service");
  if ((verb === "status" || verb === "alerts" || verb === "monitor") && service) return usage(`${verb} takes no service`);
  const uiPorts = { prometheus: portFlag(a.values["prometheus-port"], 9090), alertmanager: portFlag(a.values["alertmanager-port"], 9093) };
  if ((a.values["prometheus-port"] ?? a.values["alertmanager-port"]) !== undefined && verb !== "monitor")
    return usage("--prometheus-port and --alertmanager-port go with monitor");
  if (Number.isNaN(uiPorts.prometheus) || Number.isNaN(uiPorts.alertmanager)) return usage("--prometheus-port and --alertmanager-port must be ports (1-65535)");
  if (uiPorts.prometheus === uiPorts.alertmanager) return usage("Prometheus and Alertmanager need two different ports");
  if (a.values.json && verb !== "status") return usage("--json goes with status");
  if (verb === "logs" && rest.length) return usage("logs takes one service");
  if (verb === "exec" && !rest.length) return usage("exec needs a command after --");
  if (!["status", "logs", "exec", "maintenance", "restart", "alerts", "monitor"].includes(verb)) return usage(`unknown command "${verb.slice(0, 20)}"`);
  const tail = a.values.tail === undefined ? undefined : Number(a.values.tail);
  if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) return usage("--tail must be a whole number");
  if (a.values.since !== undefined && !/^[0-9A-Za-z:.+-]{1,40}$/.test(a.values.since)) return usage("--since must be a duration (10m, 2h) or a time stamp");
  return withStackTarget(
    stack,
    a.values,
    "ops",
    io.err,
    async ({ cfg, target }) => {
      const id = { project: "copilotos", stack };
      const swarm = cfg.host.kind === "swarm";
      if (swarm && a.values.json) return usage("--json is not there on a swarm yet");
      if (
        cfg.host.kind === "swarm" &&
        (verb === "monitor" || (verb === "maintenance" && monitoringEnabled(cfg.monitoring, stack))) &&
        dataNodeRole(cfg.host) !== "manager"
      )
        return usage(
          `${verb} on this swarm needs Alertmanager${verb === "monitor" ? " and Prometheus" : ""} on the manager it reaches, and they run on the data node: copilotos:host.dataNode ${cfg.host.dataNode} is a worker, whose tasks the manager cannot reach into (docs/swarm.md)`,
        );
      if (verb === "monitor")
        return monitor(
          target,
          id,
          uiPorts,
          { out: io.out, err: io.err, stop: io.stop ?? new AbortController().signal },
          swarm ? swarmUiAddressesScript(id) : undefined,
        );
      const logs = { since: a.values.since, tail, follow: a.values.follow };
      const script = swarm
        ? swarmScript(verb, id, service, { rest, logs, backup: cfg.backup.enabled ? backupSpecOf({ identity: id, cfg }) : undefined })
        : verb === "status"
          ? statusScript({
              identity: id,
              backup: backupSpecOf({ identity: id, cfg }),
              certificate: cfg.tls?.acme && { ...cfg.tls.acme, image: String(cfg.images.certbot), volumes: acmeVolumeNames(id) },
            })
          : verb === "logs"
            ? logsScript(id, service as Service, logs)
            : verb === "exec"
              ? execScript(id, service as Service, rest)
              : verb === "restart"
                ? restartScript(id, service as Service, {
                    timeoutSeconds: cfg.healthTimeoutSeconds,
                    intervalSeconds: cfg.health.intervalSeconds,
                    gateUrl: gateUrlOf(cfg, service),
                  })
                : verb === "alerts"
                  ? alertsScript(id)
                  : maintenanceScript(containerName(id, "proxy"), service === "on", id);
      return run(target, script, verb, !!a.values.json, io);
    },
    true,
  );
}

/** The manager's script for `verb` on a swarm stack (`service`: its service, or on|off). */
function swarmScript(verb: string, id: StackIdentity, service: string, o: { rest: string[]; logs: SwarmLogsOptions; backup?: StatusSpec["backup"] }): string {
  switch (verb) {
    case "status":
      return swarmStatusScript(id, o.backup);
    case "logs":
      return swarmLogsScript(id, service as Service, o.logs);
    case "exec":
      return swarmExecScript(id, service as Service, o.rest);
    case "restart":
      return swarmRestartScript(id, service as Service);
    case "maintenance":
      return swarmMaintenanceScript(id, service === "on");
    default:
      return swarmAlertsScript(id);
  }
}

/** Runs an ops script on the host: its output streamed, or (--json, alerts) parsed once it has printed all of it. */
async function run(target: HostTarget, script: string, verb: string, json: boolean, io: OpsIo): Promise<number> {
  const child = spawnOnHost(target, script);
  const whole = json || verb === "alerts";
  let report = "";
  child.stdout.on("data", (b: Buffer) => (whole ? (report += b.toString()) : io.out(b.toString())));
  child.stderr.on("data", (b: Buffer) => io.err(b.toString()));
  if (verb === "exec" && io.stdin) io.stdin.pipe(child.stdin);
  else child.stdin.end();
  const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? 1)));
  if (!whole || code !== 0) return code;
  try {
    io.out(verb === "alerts" ? formatAlerts(report, new Date()) : `${JSON.stringify(parseStatus(report), null, 2)}\n`);
    return 0;
  } catch (e) {
    io.err(`${(e as Error).message}\n`);
    return 1;
  }
}

export async function main(argv: string[]): Promise<number> {
  return ops(argv, {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    stdin: process.stdin,
    // Read by monitor only: Ctrl-C then closes its tunnel; the other commands keep Ctrl-C's default.
    get stop() {
      const c = new AbortController();
      for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => c.abort());
      return c.signal;
    },
  });
}

/** A local port flag: its number, `fallback` when not given, NaN when not a port. */
function portFlag(v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  return /^\d{1,5}$/.test(v) && n >= 1 && n <= 65535 ? n : NaN;
}

/** An app's URL through the proxy on the host, as its deploy gate polls it; none for the other services. */
function gateUrlOf(cfg: StackEntryConfig, service: string): string | undefined {
  if (service !== "api" && service !== "web") return undefined;
  return gateUrl(stackEntryOf(cfg), service);
}

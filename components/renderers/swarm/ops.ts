/**
 * `npm run ops` on a swarm stack, run on the manager (the host the stack deploys through): status
 * and logs of every node's tasks as the managers know them, and the alerts firing now. Pure.
 * A manager sees every task and its logs, but runs commands only in its own node's containers:
 * `exec` reaches a service's task on the manager (Mongo and Redis when it is the data node), and
 * `monitor`'s tunnel Prometheus and Alertmanager there.
 */
import { aliasOf, portOf } from "../monitoring/spec";
import { UI_PARTS, UI_TITLES } from "../monitoring/tunnel";
import { swarmMonitoringName } from "./monitoring";
import { Service, StackIdentity, stackFilters } from "../names";
import { backupStatusLines, StatusSpec } from "../operations/ops";
import { engineAnswers, hostPath, lines, shq, STRICT } from "../shell";
import { localTask, SWARM_SERVICE_LABEL, swarmServiceName } from "./services";

/**
 * Per service of the stack (the monitoring's too): its tasks running against those desired and its
 * image; then each task meant to run: its node, state (with health: `Starting` until its check
 * passes) and image digest; then the tasks that failed, newest first (a crash loop shows here).
 * With `backup` (backups on: the manager is the data node), the newest verified backup there and
 * the newest off-host snapshot, as on one host.
 */
export function swarmStatusScript(id: StackIdentity, backup?: StatusSpec["backup"]): string {
  return lines(
    STRICT,
    engineAnswers("status"),
    `names=$(docker service ls ${stackFilters(id)} --format '{{.Name}}' | sort)`,
    `if [ -z "$names" ]; then echo ${shq(`status: no service of stack ${id.stack} on this swarm (npm run up first)`)} >&2; exit 1; fi`,
    `docker service ls ${stackFilters(id)} --format 'table {{.Name}}\\t{{.Mode}}\\t{{.Replicas}}\\t{{.Image}}'`,
    "echo",
    "# shellcheck disable=SC2086 # one word per service name",
    `docker service ps --no-trunc --filter desired-state=running --format 'table {{.Name}}\\t{{.Node}}\\t{{.CurrentState}}\\t{{.Image}}' $names`,
    "# shellcheck disable=SC2086 # one word per service name",
    `failed=$(docker service ps --no-trunc --filter desired-state=shutdown --format '{{.Name}}\\t{{.Node}}\\t{{.CurrentState}}\\t{{.Error}}' $names | awk -F '\\t' '$3 ~ /^(Failed|Rejected)/')`,
    'if [ -n "$failed" ]; then echo; echo "failed tasks (the swarm keeps 5 per slot):"; printf \'%s\\n\' "$failed"; fi',
    ...(backup ? ["echo", `dir=${hostPath(backup.dir)}`, ...backupStatusLines(backup)] : []),
  );
}

export interface SwarmLogsOptions {
  /** `docker service logs --since` (e.g. `10m`). @default none */
  since?: string;
  follow?: boolean;
  /** Lines per task. @default 200 */
  tail?: number;
}

/** A service's logs from every task on every node (`docker service logs`, each line with its task and node). */
export function swarmLogsScript(id: StackIdentity, service: Service, o: SwarmLogsOptions = {}): string {
  const args = ["--timestamps", "--tail", String(o.tail ?? 200), ...(o.since ? ["--since", o.since] : []), ...(o.follow ? ["--follow"] : [])];
  const svc = swarmServiceName(id, service);
  return lines(
    STRICT,
    engineAnswers("logs"),
    `docker service inspect ${shq(svc)} >/dev/null 2>&1 || { echo ${shq(`logs: no service ${svc} on this swarm (npm run up first)`)} >&2; exit 1; }`,
    `exec docker service logs ${args.map(shq).join(" ")} ${shq(svc)}`,
  );
}

/**
 * Alertmanager's active alerts (JSON, as `alertsScript` prints them on one host), asked on the
 * stack's overlay network from the node exporter task on this node (global: every node has one),
 * since Alertmanager runs on the data node, which the manager cannot exec into.
 */
export function swarmAlertsScript(id: StackIdentity): string {
  const ne = swarmMonitoringName(id, "nodeExporter");
  return lines(
    STRICT,
    engineAnswers("alerts"),
    `ne=$(${localTask(ne)})`,
    `if [ -z "$ne" ]; then echo ${shq(`alerts: no ${ne} task runs on this manager: monitoring is off for this stack (monitoring.enabled), or it is down (npm run ops -- ${id.stack} status)`)} >&2; exit 1; fi`,
    `docker exec "$ne" wget -qO- ${shq(`http://${aliasOf("alertmanager")}:${portOf("alertmanager")}/api/v2/alerts?active=true&silenced=false&inhibited=false`)} || { echo ${shq(`alerts: Alertmanager does not answer on the stack network (npm run ops -- ${id.stack} status)`)} >&2; exit 1; }`,
  );
}

/**
 * Runs `argv` in a running task of the service on this node (the manager; stdin passed through;
 * every word quoted). No task here: said, with the nodes its tasks run on.
 */
export function swarmExecScript(id: StackIdentity, service: Service, argv: string[]): string {
  const svc = swarmServiceName(id, service);
  return lines(
    STRICT,
    engineAnswers("exec"),
    `ctr=$(${localTask(svc)})`,
    'if [ -z "$ctr" ]; then',
    `  nodes=$(docker service ps --filter desired-state=running --format '{{.Node}}' ${shq(svc)} 2>/dev/null | sort -u | paste -sd, -)`,
    `  echo ${shq(`exec: no ${service} task runs on this manager (`)}"$(hostname)"${shq("); its tasks run on ")}"\${nodes:-no node}"${shq(`: there, docker exec into the container labelled ${SWARM_SERVICE_LABEL}=${svc}`)} >&2`,
    "  exit 1",
    "fi",
    `exec docker exec -i "$ctr" ${argv.map(shq).join(" ")}`,
  );
}

/**
 * `ops monitor` on a swarm: prints `<part> <address>` per UI, as {@link uiAddressesScript} does on one
 * host. Prometheus's and Alertmanager's tasks run on the data node; when that is this manager, each
 * task's address on `docker_gwbridge` (the bridge every overlay task has on its node for its way
 * out) is one the manager's sshd reaches, so the stack's SSH tunnel ends there. Their overlay
 * addresses are not: the node's own network namespace is on no overlay.
 */
export function swarmUiAddressesScript(id: StackIdentity): string {
  return lines(
    STRICT,
    engineAnswers("monitor"),
    ...UI_PARTS.flatMap((part) => {
      const svc = swarmMonitoringName(id, part);
      return [
        `ctr=$(${localTask(svc)})`,
        `if [ -z "$ctr" ]; then echo ${shq(`monitor: no ${svc} task runs on this manager (`)}"$(hostname)"${shq(`): ${UI_TITLES[part]} runs on the data node (host.dataNode), which the tunnel reaches only when it is the manager; or the monitoring is off (monitoring.enabled) or down (npm run ops -- ${id.stack} status)`)} >&2; exit 1; fi`,
        `full=$(docker inspect -f '{{.Id}}' "$ctr")`,
        `ip=$(docker network inspect docker_gwbridge -f ${shq('{{range $id, $c := .Containers}}{{$id}} {{$c.IPv4Address}}{{"\\n"}}{{end}}')} | awk -v id="$full" '$1 == id { sub(/\\/.*/, "", $2); print $2 }')`,
        `if [ -z "$ip" ]; then echo ${shq(`monitor: the task of ${svc} has no address on docker_gwbridge`)} >&2; exit 1; fi`,
        `echo ${part} "$ip"`,
      ];
    }),
  );
}

/**
 * Lines that update the service `$svc` (`args`: the update's flags, as shell words) and wait for the
 * swarm's verdict: the CLI's progress, then its UpdateStatus until it leaves `updating` (the CLI can
 * return while the update still monitors its last task; 10 minutes at most). Anything but
 * `completed` fails, saying the swarm rolled it back (`as`: what that leaves as it was).
 */
export function updateLines(verb: string, id: StackIdentity, args: string, as: string): string[] {
  return [
    `docker service update --detach=false ${args} "$svc"`,
    "n=0",
    `while result=$(docker service inspect -f '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' "$svc") && [ "$result" = updating ] && [ "$n" -lt 300 ]; do n=$((n + 1)); sleep 2; done`,
    'if [ "$result" != completed ]; then',
    `  echo "${verb}: the swarm's update of $svc ended \${result:-without a state}: a failed one is rolled back, ${as} (npm run ops -- ${id.stack} status)" >&2`,
    "  exit 1",
    "fi",
  ];
}

/**
 * `ops restart <service>` on a swarm: the swarm's own rolling restart (`docker service update
 * --force`), one task at a time in the service's update order (start-first for the apps: no
 * request lost; stop-first for the others), each task healthy before the next. Fails unless the
 * update completed.
 */
export function swarmRestartScript(id: StackIdentity, service: Service): string {
  const svc = swarmServiceName(id, service);
  return lines(
    STRICT,
    engineAnswers("restart"),
    `svc=${shq(svc)}`,
    `docker service inspect "$svc" >/dev/null 2>&1 || { echo ${shq(`restart: no service ${svc} on this swarm (npm run up first)`)} >&2; exit 1; }`,
    `echo "restart: the swarm restarts the tasks of $svc one at a time, each healthy before the next"`,
    ...updateLines("restart", id, "--force", "so its tasks are as they were"),
    `echo "restart: every task of $svc restarted and healthy"`,
  );
}

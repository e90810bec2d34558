/**
 * What the swarm's manager tells the monitoring that no exporter can, the swarm's counterpart of
 * hostMetrics.ts: each of the stack's services' tasks against its desired count, its failed tasks
 * (a crash loop is tasks failing and replaced), each node's state as the managers see it, and the
 * proxy's responses from every edge node's task. A job of the deploy user's crontab on the manager
 * (the host the stack deploys through) copies them into the node exporter task on that node. Pure.
 */
import { StackIdentity, stackFilters, stackPrefix } from "../names";
import { localTask } from "../swarm/services";
import { shq } from "../shell";
import { TEXTFILE_DIR } from "./containers";
import { CONTAINER_METRICS_FILE, metricsJob } from "./hostMetrics";
import { proxyCountLines } from "./proxyMetrics";

/** 1 when the managers see the node ready, else 0; labelled with its name and availability (`active`, `pause`, `drain`). */
export const SWARM_NODE_METRIC = "copilotos_swarm_node_ready";
/** The nodes' file in the stack's metrics folder. */
export const SWARM_NODES_FILE = "nodes.prom";
/** The failed tasks seen so far (`<task id> <task name>`): the failures counter outlives the swarm's task history (5 per slot). */
const FAILED_TASKS = "failed-tasks";

/**
 * awk over `docker service ls` lines (`<name> <running>/<desired>`), the seen failed tasks read from
 * `failed`: per service `copilotos_container_healthy` 1 while it runs all its desired tasks (a task
 * counts once its health check passes) and `copilotos_container_restarts_total`, its failed tasks;
 * every service has both from the start (a counter that appears at 1 would hide its first failure).
 */
const SERVICES_TO_METRICS = [
  "BEGIN {",
  // A task's name is `<service>.<slot or node id>`.
  '  while ((getline l < failed) > 0) { split(l, f, " "); t = f[2]; sub(/\\.[^.]*$/, "", t); n[t]++ }',
  "}",
  "NF >= 2 {",
  '  split($2, r, "/")',
  '  l = "{container=\\"" $1 "\\",service=\\"" substr($1, length(prefix) + 2) "\\"}"',
  '  restarts = restarts "copilotos_container_restarts_total" l " " (n[$1] + 0) "\\n"',
  '  healthy = healthy "copilotos_container_healthy" l " " (r[1] + 0 >= r[2] + 0 ? 1 : 0) "\\n"',
  "}",
  "END {",
  '  print "# HELP copilotos_container_restarts_total Failed tasks of the service (each one replaced by the swarm)."',
  '  print "# TYPE copilotos_container_restarts_total counter"',
  '  printf "%s", restarts',
  '  print "# HELP copilotos_container_healthy 1 when the service runs all its desired tasks, healthy, else 0."',
  '  print "# TYPE copilotos_container_healthy gauge"',
  '  printf "%s", healthy',
  "}",
].join("\n");

/** awk over `docker node ls` lines (`<hostname> <status> <availability>`). */
const NODES_TO_METRICS = [
  "BEGIN {",
  `  print "# HELP ${SWARM_NODE_METRIC} 1 when the swarm's managers see the node ready, else 0."`,
  `  print "# TYPE ${SWARM_NODE_METRIC} gauge"`,
  "}",
  `NF >= 3 { printf "${SWARM_NODE_METRIC}{node=\\"%s\\",availability=\\"%s\\"} %d\\n", $1, tolower($3), $2 == "Ready" }`,
].join("\n");

/**
 * The swarm proxy's access log from the last sample's end (`$since`) to now (`$now`): every task's,
 * through the manager (`docker service logs`, which has no `--until`: a line stamped from `$now`
 * on is left for the next sample).
 */
export const proxyServiceLogs = (service: string): string =>
  `timeout 10 docker service logs --raw --timestamps --since "$since" ${shq(service)} 2>/dev/null | awk -v until="$(date -u -d "@$now" +%Y-%m-%dT%H:%M:%S)" 'substr($1, 1, 19) < until'`;

/**
 * The manager's job: each sample, the stack's services (`docker service ls`), their failed tasks
 * (added to {@link FAILED_TASKS}), the nodes, and the proxy's responses, then copied into the node
 * exporter task on this node (found by its service's label).
 */
export function swarmMetricsJob(id: StackIdentity, services: { nodeExporter: string; proxy: string }): string {
  const filters = stackFilters(id);
  const failed = `"$mdir/${FAILED_TASKS}"`;
  return metricsJob(id, "the stack's services' tasks, the swarm's nodes and the proxy's responses", {
    sample: [
      `svcs=$(timeout 10 docker service ls ${filters} --format '{{.Name}} {{.Replicas}}')`,
      `names=$(printf '%s\\n' "$svcs" | awk 'NF { print $1 }')`,
      "# shellcheck disable=SC2086 # one word per service name",
      `if [ -n "$names" ]; then timeout 10 docker service ps --no-trunc --filter desired-state=shutdown --format '{{.ID}} {{.Name}} {{.CurrentState}}' $names; fi | awk '$3 == "Failed" || $3 == "Rejected" { print $1, $2 }' >> ${failed}`,
      `sort -u -o ${failed} ${failed}`,
      `printf '%s\\n' "$svcs" | awk -v prefix=${shq(stackPrefix(id))} -v failed=${failed} ${shq(SERVICES_TO_METRICS)} > "$mdir/${CONTAINER_METRICS_FILE}.next"`,
      `mv "$mdir/${CONTAINER_METRICS_FILE}.next" "$mdir/${CONTAINER_METRICS_FILE}"`,
      `timeout 10 docker node ls --format '{{.Hostname}} {{.Status}} {{.Availability}}' | awk ${shq(NODES_TO_METRICS)} > "$mdir/${SWARM_NODES_FILE}.next"`,
      `mv "$mdir/${SWARM_NODES_FILE}.next" "$mdir/${SWARM_NODES_FILE}"`,
      ...proxyCountLines(id, proxyServiceLogs(services.proxy)),
      `ne=$(timeout 10 ${localTask(services.nodeExporter)})`,
    ],
    into: `"$ne:${TEXTFILE_DIR}"`,
    missing: `swarm metrics: no running task of ${services.nodeExporter} on this node to copy into`,
  });
}

/**
 * `npm run ops -- <stack> maintenance on|off` on a swarm, run on the manager. The proxy runs on every
 * edge node, and the manager runs commands only in its own node's containers, so the switch is the
 * swarm's own: the proxy service's maintenance file (a swarm config, `# maintenance off` as the
 * stack deploys it) is swapped for one holding `return 503;` (or back), and the swarm rolls that out
 * to every edge proxy, one node at a time, as it does any update of the proxy (stop-first: the host
 * ports are the node's). The stack's alerts are silenced in its Alertmanager first (on) and the
 * silence shortened after (off), as on one host: Alertmanager's task runs on the data node, which
 * must be the manager for this (scripts/ops.ts refuses otherwise). Pure.
 */
import { maintenanceSilenceLines } from "../monitoring/silence";
import { swarmMonitoringName } from "./monitoring";
import { labelFlags, labelMap, type StackIdentity } from "../names";
import { MAINTENANCE_CONF, MAINTENANCE_OFF, MAINTENANCE_ON } from "../proxy/maintenance";
import { engineAnswers, lines, shq, STRICT } from "../shell";
import { localTask, swarmSecretName, swarmServiceName } from "./services";
import { updateLines } from "./ops";

/** The maintenance file's content, off as the stack deploys it (components/swarm/swarmStack.ts) and on. */
export const swarmMaintenanceContent = (on: boolean) => `${on ? MAINTENANCE_ON : MAINTENANCE_OFF}\n`;
/** The swarm config holding it: named by content, so `off` is the very config the stack deployed. */
export const swarmMaintenanceConfig = (id: StackIdentity, on: boolean) => swarmSecretName(id, "maintenance-conf", swarmMaintenanceContent(on));

/**
 * Turns maintenance on or off at every edge proxy: creates the config if the swarm has none of that
 * name, swaps it in (nothing to do when it is there already), waits for the swarm's rolling update
 * and fails unless it completed (the swarm rolls a failed one back: the proxies are as they were).
 */
export function swarmMaintenanceScript(id: StackIdentity, on: boolean): string {
  const svc = swarmServiceName(id, "proxy");
  const state = on ? "on" : "off";
  const labels = labelFlags(labelMap(id));
  const silence = maintenanceSilenceLines(id, on, `am=$(${localTask(swarmMonitoringName(id, "alertmanager"))})`);
  return lines(
    STRICT,
    engineAnswers("maintenance"),
    `svc=${shq(svc)}; want=${shq(swarmMaintenanceConfig(id, on))}`,
    `docker service inspect "$svc" >/dev/null 2>&1 || { echo ${shq(`maintenance: no service ${svc} on this swarm (npm run up first)`)} >&2; exit 1; }`,
    // On: the alerts are silenced before the proxies answer 503 (the silence's ID kept under ~/.copilotos).
    ...(on ? ['mkdir -p "$HOME/.copilotos"', ...silence] : []),
    `current=$(docker service inspect -f ${shq(`{{range .Spec.TaskTemplate.ContainerSpec.Configs}}{{if eq .File.Name "${MAINTENANCE_CONF}"}}{{.ConfigName}}{{end}}{{end}}`)} "$svc")`,
    'if [ "$current" = "$want" ]; then',
    `  echo "maintenance: already ${state} at every edge proxy ($svc)"`,
    "else",
    `  docker config inspect "$want" >/dev/null 2>&1 || printf '%s' ${shq(swarmMaintenanceContent(on))} | docker config create ${labels.map(shq).join(" ")} "$want" - >/dev/null`,
    `  set -- --config-add "source=$want,"${shq(`target=${MAINTENANCE_CONF},mode=0444`)}`,
    '  if [ -n "$current" ]; then set -- --config-rm "$current" "$@"; fi',
    `  echo "maintenance: turning ${state} at every edge proxy: the swarm updates $svc one node at a time"`,
    ...updateLines("maintenance", id, '"$@"', "so the proxies are as they were").map((l) => `  ${l}`),
    `  echo ${shq(`maintenance: ${state} at every edge proxy `)}${shq(on ? "(both apps answer 503 with the maintenance page)" : "(traffic reaches the apps again)")}`,
    "fi",
    // Off: the silence is shortened once the proxies serve again.
    ...(on ? [] : silence),
  );
}

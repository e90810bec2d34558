/**
 * `npm run ops -- <stack> alerts`: what fires now, read from the stack's Alertmanager inside its
 * container (nothing is published), and its report. Pure.
 */
import type { StackIdentity } from "../names";
import { engineAnswers, lines, shq, STRICT } from "../shell";
import { monitoringContainerName } from "./containers";
import type { MonitoringPart } from "./spec";

/**
 * A line that ends the script `step` unless the monitoring part `title` (its container) runs, saying
 * whether monitoring is off or the part is down. Shared by `ops alerts` and `ops monitor`.
 */
export function requireRunning(step: string, id: StackIdentity, part: MonitoringPart, title: string): string {
  const ctr = monitoringContainerName(id, part);
  return `if [ "$(docker inspect -f '{{.State.Running}}' ${shq(ctr)} 2>/dev/null)" != true ]; then echo ${shq(`${step}: ${ctr} is not running: monitoring is off for this stack (monitoring.enabled), or ${title} is down (npm run ops -- ${id.stack} status)`)} >&2; exit 1; fi`;
}

/** Prints Alertmanager's active alerts (JSON), neither silenced nor held back by the host being unreachable. */
export function alertsScript(id: StackIdentity): string {
  const ctr = monitoringContainerName(id, "alertmanager");
  return lines(
    STRICT,
    engineAnswers("alerts"),
    requireRunning("alerts", id, "alertmanager", "Alertmanager"),
    `docker exec ${shq(ctr)} wget -qO- 'http://127.0.0.1:9093/api/v2/alerts?active=true&silenced=false&inhibited=false'`,
  );
}

interface ActiveAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt: string;
}

/** One line per firing alert (oldest first): its name, what it is about, since when, what it means and the first command. */
export function formatAlerts(json: string, now: Date): string {
  const alerts = (JSON.parse(json) as ActiveAlert[]).slice().sort((a, b) => a.startsAt.localeCompare(b.startsAt));
  if (!alerts.length) return "alerts: none firing\n";
  return alerts
    .map((a) => {
      const { alertname, severity, scope: _scope, stack: _stack, ...about } = a.labels;
      const what = Object.entries(about)
        .filter(([k]) => !["instance", "job", "kind", "module"].includes(k))
        .map(([k, v]) => `${k}=${v}`)
        .join(" ");
      const minutes = Math.max(0, Math.round((now.getTime() - Date.parse(a.startsAt)) / 60000));
      return [
        `${severity === "page" ? "PAGE" : "WARN"} ${alertname}${what ? ` (${what})` : ""} for ${minutes} min`,
        ...(a.annotations?.summary ? [`  ${a.annotations.summary}`] : []),
        ...(a.annotations?.action ? [`  first: ${a.annotations.action}`] : []),
      ].join("\n");
    })
    .join("\n")
    .concat("\n");
}

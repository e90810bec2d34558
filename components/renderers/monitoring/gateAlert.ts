/**
 * A failed `pulumi up` gate notifies the stack's receivers: the ready and health gates post the
 * alert {@link GATE_ALERT} to the stack's Alertmanager (amtool inside its container) when they fail,
 * for {@link GATE_ALERT_HOURS} hours at most, and resolve it when the same gate passes again. No
 * running Alertmanager (no monitoring on the stack, or a first deploy before it starts): nothing is
 * posted, the gate's own output says what failed. Pure.
 */
import type { AppService, StackIdentity } from "../names";
import { shq } from "../shell";
import { alertmanagerVar, AM_RUNNING, amtool } from "./amtool";

export const GATE_ALERT = "DeployGateFailed";
export const GATE_ALERT_HOURS = 24;

/** Which gate of which app, of which stack. */
export interface GateNotify {
  identity: StackIdentity;
  service: AppService;
}

/**
 * A shell function `gate_alert firing|resolved` for the gate script `gate` (`ready` or `health`):
 * posts the alert with its end (in {@link GATE_ALERT_HOURS} hours, or now) and never fails the gate.
 */
export function gateAlertFunction(n: GateNotify, gate: "ready" | "health"): string[] {
  const ops = `npm run ops -- ${n.identity.stack}`;
  const labels = [`stack=${n.identity.stack}`, `service=${n.service}`, `gate=${gate}`, "severity=page", "scope=service"].map(shq).join(" ");
  const summary = `The ${gate} gate of the ${n.service} failed in the last pulumi up: the update stopped (what the gate printed says why).`;
  const action = `pulumi up again once fixed (it resolves this); ${ops} logs ${n.service}`;
  return [
    "gate_alert() {",
    `  ${alertmanagerVar(n.identity)}`,
    `  ${AM_RUNNING} || return 0`,
    `  if [ "$1" = firing ]; then end=$(date -u -d "@$(( $(date +%s) + ${GATE_ALERT_HOURS * 3600} ))" +%Y-%m-%dT%H:%M:%SZ); else end=$(date -u +%Y-%m-%dT%H:%M:%SZ); fi`,
    `  ${amtool("alert add")} ${GATE_ALERT} ${labels} --annotation=${shq(`summary=${summary}`)} --annotation=${shq(`action=${action}`)} --end="$end" >/dev/null 2>&1 ||`,
    `    echo ${shq(`${gate}: could not tell the stack's Alertmanager (${GATE_ALERT})`)} >&2`,
    "}",
  ];
}

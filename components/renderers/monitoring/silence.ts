/**
 * Maintenance pages no one: `npm run ops -- <stack> maintenance on` silences the stack's alerts in
 * its Alertmanager (amtool inside its container) before the proxy answers 503, for at most
 * {@link MAINTENANCE_SILENCE_HOURS} hours (a maintenance left on pages again); `off` replaces that
 * silence with one of {@link AFTER_MAINTENANCE_MINUTES} minutes, while the probes see the apps
 * again and the alerts resolve. The silence's ID is kept on the host. Pure.
 */
import type { StackIdentity } from "../names";
import { shq } from "../shell";
import { alertmanagerVar, AM_RUNNING, amtool } from "./amtool";

export const MAINTENANCE_SILENCE_HOURS = 4;
export const AFTER_MAINTENANCE_MINUTES = 2;

/** The host's file holding the maintenance silence's ID (under the deploy user's home). */
export const silenceFile = (id: StackIdentity) => `.copilotos/maintenance-${id.project}-${id.stack}.silence`;

const add = (id: StackIdentity, duration: string, comment: string) =>
  `${amtool("silence")} add --duration=${duration} --author=copilotos --comment=${shq(comment)} ${shq(`stack=${id.stack}`)}`;

/**
 * Lines of the maintenance script: with `on`, before the switch; with `off`, after it. Without a
 * running Alertmanager (no monitoring on this stack) they say so and do nothing. `amVar` sets `$am`
 * to Alertmanager's container. @default its container on one host ({@link alertmanagerVar})
 */
export function maintenanceSilenceLines(id: StackIdentity, on: boolean, amVar = alertmanagerVar(id)): string[] {
  const ops = `npm run ops -- ${id.stack} maintenance`;
  const head = [
    `${amVar}; sfile="$HOME/"${shq(silenceFile(id))}`,
    `if ! ${AM_RUNNING}; then`,
    `  echo ${shq(`maintenance: no monitoring runs for ${id.stack}: no alert to silence`)}`,
  ];
  if (on)
    return [
      ...head,
      'elif [ -s "$sfile" ]; then',
      `  echo "maintenance: the alerts of ${id.stack} are silenced already (silence $(cat "$sfile"))"`,
      "else",
      `  sid=$(${add(id, `${MAINTENANCE_SILENCE_HOURS}h`, `${ops} on`)})`,
      `  printf '%s\\n' "$sid" > "$sfile"`,
      `  echo "maintenance: the alerts of ${id.stack} are silenced for ${MAINTENANCE_SILENCE_HOURS} hours at most (silence $sid)"`,
      "fi",
    ];
  return [
    ...head,
    'elif [ -s "$sfile" ]; then',
    `  ${add(id, `${AFTER_MAINTENANCE_MINUTES}m`, `${ops} off: the probes see the apps again`)} >/dev/null`,
    `  ${amtool("silence expire")} "$(cat "$sfile")" || true`,
    '  rm -f "$sfile"',
    `  echo ${shq(`maintenance: the alerts of ${id.stack} are silenced for ${AFTER_MAINTENANCE_MINUTES} more minutes, while the probes see the apps again`)}`,
    "fi",
  ];
}

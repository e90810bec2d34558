/**
 * `npm run ops -- <stack> monitor`: Prometheus's and Alertmanager's web UIs, which the host never
 * publishes, reached through an SSH tunnel over the stack's pinned connection. This module finds
 * where they answer on the host and parses what it says. Pure.
 */
import type { StackIdentity } from "../names";
import { engineAnswers, lines, shq, STRICT } from "../shell";
import { requireRunning } from "./alerts";
import { monitoringContainerName, portOf, type MonitoringPart } from "./spec";

/** The parts with a web UI, in the order `ops monitor` lists them. */
export const UI_PARTS = ["prometheus", "alertmanager"] as const satisfies readonly MonitoringPart[];
export type UiPart = (typeof UI_PARTS)[number];
/** How `ops monitor` names them. */
export const UI_TITLES: Record<UiPart, string> = { prometheus: "Prometheus", alertmanager: "Alertmanager" };

/** Where a UI answers on the host: its container's address and port. */
export interface UiAddress {
  address: string;
  port: number;
}

/**
 * Prints `<part> <address>` per UI: the first address of its container on the stack's networks,
 * which the host (and so an SSH tunnel ending there) reaches. Fails naming the container that does not run.
 */
export function uiAddressesScript(id: StackIdentity): string {
  return lines(
    STRICT,
    engineAnswers("monitor"),
    ...UI_PARTS.flatMap((part) => {
      const ctr = monitoringContainerName(id, part);
      return [
        requireRunning("monitor", id, part, UI_TITLES[part]),
        `ctr=${shq(ctr)}`,
        `ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$ctr")`,
        `ip=\${ip%% *}`,
        `if [ -z "$ip" ]; then echo ${shq(`monitor: ${ctr} has no network address`)} >&2; exit 1; fi`,
        `echo ${part} "$ip"`,
      ];
    }),
  );
}

/** {@link uiAddressesScript}'s output as addresses; throws naming what is missing or malformed. */
export function parseUiAddresses(out: string): Record<UiPart, UiAddress> {
  const found = new Map(
    out
      .trim()
      .split("\n")
      .map((l) => l.trim().split(/\s+/) as [string, string]),
  );
  return Object.fromEntries(
    UI_PARTS.map((part) => {
      const address = found.get(part);
      if (!address || !/^\d{1,3}(\.\d{1,3}){3}$/.test(address))
        throw new Error(`monitor: the host named no IPv4 address for ${part} (it printed ${JSON.stringify(out.slice(0, 200))})`);
      return [part, { address, port: portOf(part) }];
    }),
  ) as Record<UiPart, UiAddress>;
}

/** A forward of a port on this machine's loopback to an address the host reaches. */
export interface Forward {
  localPort: number;
  to: UiAddress;
}

/** ssh's `-L` arguments: loopback only, so no one else on this machine's network reaches the UIs. */
export function forwardArgs(forwards: Forward[]): string[] {
  return forwards.flatMap((f) => ["-L", `127.0.0.1:${f.localPort}:${f.to.address}:${f.to.port}`]);
}

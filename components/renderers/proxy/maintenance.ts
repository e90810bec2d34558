/**
 * Maintenance mode at the proxy: while it is on, both apps answer 503 with a page (the server's
 * security headers kept: the page's location adds none of its own), without a deploy. The proxy's nginx.conf includes {@link MAINTENANCE_CONF} inside
 * each app's `location /`; the file is empty (off) or `return 503;` (on). Pure.
 */
import { maintenanceSilenceLines } from "../monitoring/silence";
import type { StackIdentity } from "../names";
import { HOST_LOCK, lines, shq, STRICT } from "../shell";
import { ROUTES_DIR } from "./paths";
import { SAVE_WORKERS, waitOldWorkers } from "./switch";

export const MAINTENANCE_CONF = `${ROUTES_DIR}/maintenance.conf`;
export const MAINTENANCE_PAGE = `${ROUTES_DIR}/maintenance.html`;
/** The URI nginx serves the page under (internal: never reachable from outside). */
export const MAINTENANCE_URI = "/copilotos-maintenance.html";
export const MAINTENANCE_ON = "return 503;";
/** The switch file's content while maintenance is off. */
export const MAINTENANCE_OFF = "# maintenance off";

export const DEFAULT_MAINTENANCE_PAGE =
  '<!doctype html><html><head><meta charset="utf-8"><title>Maintenance</title></head>' +
  "<body><h1>Down for maintenance</h1><p>We will be back shortly.</p></body></html>\n";

/** nginx lines of each app's server block (see conf.ts `server`). */
export const maintenanceServerLines = (): string[] => [
  `error_page 503 ${MAINTENANCE_URI};`,
  `location = ${MAINTENANCE_URI} {`,
  `  root ${ROUTES_DIR};`,
  "  try_files /maintenance.html =503;",
  "  internal;",
  "}",
];

/** The line inside `location /`: the switch. */
export const maintenanceInclude = () => `include ${MAINTENANCE_CONF};`;

/**
 * Turns maintenance on or off in the running proxy: writes the switch file, checks the config,
 * reloads; a config nginx rejects is put back. With `silence`, the stack's alerts are silenced
 * first (components/renderers/monitoring/silence.ts). Idempotent; holds the host lock.
 */
export function maintenanceScript(proxy: string, on: boolean, silence?: StackIdentity): string {
  const content = on ? MAINTENANCE_ON : MAINTENANCE_OFF;
  const state = on ? "on" : "off";
  return lines(
    STRICT,
    ...HOST_LOCK,
    // The stack's alerts silenced before the apps answer 503 (on), shortened before they serve (off).
    ...(silence ? maintenanceSilenceLines(silence, on) : []),
    `proxy=${shq(proxy)}; file=${MAINTENANCE_CONF}`,
    'current=$(docker exec "$proxy" cat "$file" 2>/dev/null || true)',
    `if [ "$current" = ${shq(content)} ]; then echo "maintenance: already ${state} at $proxy"; exit 0; fi`,
    SAVE_WORKERS,
    `printf '%s\\n' ${shq(content)} | docker exec -i "$proxy" sh -c 'cat > "$1.next"' sh "$file"`,
    `if ! docker exec "$proxy" sh -c 'cp "$1" "$1.prev" 2>/dev/null; mv "$1.next" "$1" && nginx -t -q && nginx -s reload' sh "$file"; then`,
    `  docker exec "$proxy" sh -c 'if [ -f "$1.prev" ]; then mv "$1.prev" "$1"; fi' sh "$file" || true`,
    `  echo "maintenance: nginx rejected the change; the proxy is as it was" >&2`,
    "  exit 1",
    "fi",
    // Done only once the workers of the old config are gone: every new connection then gets the new one.
    ...waitOldWorkers(15),
    `echo ${shq(`maintenance: ${state} at `)}"$proxy"${on ? ` ${shq("(both apps answer 503 with the maintenance page)")}` : ` ${shq("(traffic reaches the apps again)")}`}`,
  );
}

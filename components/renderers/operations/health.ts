/**
 * The health gate, run on the host after an app container is created or replaced. Pure.
 * It polls the app through the host's published port; on timeout it prints the container's last
 * log lines and Docker health log with every secret value (read from stdin, one per line) masked.
 */
import { gateAlertFunction, GateNotify } from "../monitoring/gateAlert";
import { AdoptSpec, handBackLines, markerPath } from "./adopt";
import { API_READY_PATH } from "../services/containers";
import { routeFile, SAVE_WORKERS, switchScript, waitOldWorkers } from "../proxy";
import type { AppService } from "../names";
import { HOST_LOCK, lines, shq, STRICT } from "../shell";

/** The proxy route a health gate checks: the proxy container, the app, and how long its old workers may drain. */
/** What an app's health gate polls through the proxy: the API's readiness, the web's page. */
export const GATE_PATHS: Record<AppService, string> = { api: API_READY_PATH, web: "/" };

/** An app's URL through the proxy on the host itself (the proxy's scheme and published ports), as its health gate polls it. */
export function gateUrl(entry: { scheme: "http" | "https"; ports: Record<AppService, number> }, service: AppService): string {
  return `${entry.scheme}://127.0.0.1:${entry.ports[service]}${GATE_PATHS[service]}`;
}

export interface GateRoute {
  proxy: string;
  service: AppService;
  /** The app's port inside its container. */
  port: number;
  drainSeconds: number;
}

export interface HealthGateSpec {
  /** Container whose logs are shown on failure. */
  container: string;
  /**
   * URL polled on the host, e.g. `http://127.0.0.1:8001/api/health`. An `https` URL is polled
   * without checking the certificate: it names the public host, not 127.0.0.1 (its key was matched
   * to it when the config was read), and the gate proves the route, not the name.
   */
  url: string;
  timeoutSeconds: number;
  intervalSeconds: number;
  /** Log lines shown on failure. @default 50 */
  tailLines?: number;
  /**
   * The route this gate checks. Before polling, the gate makes the route lead to its container (the
   * switch script: nothing changes when it already does), so a re-run after a failed gate, which had
   * put the route back, tests this container again and not the previous one answering through the
   * proxy. On failure it goes back to the container the route led to before the switch (kept in
   * `<route file>.prev`), if that container still runs.
   */
  revert?: GateRoute;
  /**
   * While a cut-over from compose is pending, a failure hands back to compose (renderers/adopt.ts);
   * with `finishes`, passing ends the cut-over. @default none
   */
  adopt?: { spec: AdoptSpec; finishes?: boolean };
  /** Tell the stack's Alertmanager when it fails, and when it passes again (components/renderers/monitoring/gateAlert.ts). @default no alert */
  notify?: GateNotify;
}

/**
 * awk program replacing every literal secret (from $SECRETS, newline-separated) with [secret]. It
 * searches only the text after each replacement, so a secret that occurs in "[secret]" ends too.
 */
export const REDACT_AWK =
  'BEGIN { n = split(ENVIRON["SECRETS"], s, "\\n") } ' +
  '{ for (i = 1; i <= n; i++) if (length(s[i]) > 0) { out = ""; rest = $0; ' +
  'while ((p = index(rest, s[i])) > 0) { out = out substr(rest, 1, p - 1) "[secret]"; rest = substr(rest, p + length(s[i])) } $0 = out rest } print }';

/**
 * Every form a secret takes in printed text: as it is, URL-encoded (a connection string) and
 * JSON-escaped; distinct, longest first, so no fragment of a longer form is left behind. What the
 * gates mask on the host and what `npm run check` redacts both start here.
 */
export function secretForms(secrets: Iterable<string>): string[] {
  const forms = [...secrets].filter((v) => v.length > 0).flatMap((v) => [v, encodeURIComponent(v), JSON.stringify(v).slice(1, -1)]);
  return [...new Set(forms)].sort((a, b) => b.length - a.length);
}

/** What the gates mask, one per line for their stdin: {@link secretForms}. */
export function maskLines(secrets: string[]): string {
  return secretForms(secrets)
    .map((f) => `${f}\n`)
    .join("");
}

export function healthGateScript(h: HealthGateSpec): string {
  return lines(
    STRICT,
    // Secrets arrive on stdin so they are on no command line; only awk's environment sees them.
    "SECRETS=$(cat); export SECRETS",
    `ctr=${shq(h.container)}; url=${shq(h.url)}`,
    ...(h.notify ? gateAlertFunction(h.notify, "health") : []),
    ...(h.revert ? routeLines(h.container, h.revert) : []),
    `deadline=$(( $(date +%s) + ${h.timeoutSeconds} ))`,
    "while :; do",
    `  code=$(curl -s${h.url.startsWith("https:") ? "k" : ""} -o /dev/null -w '%{http_code}' --max-time ${Math.max(1, Math.min(10, h.intervalSeconds * 2))} "$url" || true)`,
    `  if [ "$code" = 200 ]; then echo "health: $url answered 200";${h.adopt?.finishes ? ` rm -f ${markerPath(h.adopt.spec.identity)};` : ""}${h.notify ? " gate_alert resolved;" : ""} exit 0; fi`,
    "  now=$(date +%s)",
    '  [ "$now" -lt "$deadline" ] || break',
    '  echo "health: waiting for $url (last status ${code:-none}; $((deadline - now))s left)"',
    `  sleep ${h.intervalSeconds}`,
    "done",
    `echo "health: $url did not answer 200 within ${h.timeoutSeconds}s (last status \${code:-none})" >&2`,
    ...(h.revert ? revertLines(h.revert.proxy, h.revert.service) : []),
    'echo "health: last log lines of $ctr:" >&2',
    ...containerReport(h.tailLines ?? 50),
    ...(h.adopt ? handBackLines(h.adopt.spec) : []),
    ...(h.notify ? ["gate_alert firing"] : []),
    "exit 1",
  );
}

/**
 * The route made to lead to the gate's container before it polls: the switch script (idempotent,
 * under the host lock) in a child shell; if it cannot switch, the gate fails with the route unchanged.
 */
function routeLines(container: string, r: GateRoute): string[] {
  return [
    `if ! sh -c ${shq(switchScript({ proxy: r.proxy, service: r.service, container, port: r.port, drainSeconds: r.drainSeconds }))}; then`,
    `  echo "health: the ${r.service} route could not be switched to $ctr, so nothing was checked; the route is as it was. Run pulumi up again" >&2`,
    "  exit 1",
    "fi",
  ];
}

/** The last log lines and Docker health log of the container `$ctr`, secrets masked, on stderr. */
function containerReport(tail: number): string[] {
  return [
    "{",
    `  docker logs --tail ${tail} "$ctr" 2>&1 || true`,
    '  echo "health log of $ctr:"',
    `  docker inspect --format '{{range .State.Health.Log}}{{.End}} exit={{.ExitCode}} {{.Output}}{{end}}' "$ctr" 2>&1 || true`,
    `} | awk ${shq(REDACT_AWK)} >&2`,
  ];
}

/**
 * Puts the route back to the container it led to before the last switch, when that container
 * still runs; says what it did either way.
 */
function revertLines(proxy: string, service: AppService): string[] {
  const file = routeFile(service);
  return [
    ...HOST_LOCK,
    `proxy=${shq(proxy)}; file=${shq(file)}`,
    'prev=$(docker exec "$proxy" cat "$file.prev" 2>/dev/null || true)',
    "prevctr=${prev#server }; prevctr=${prevctr%%:*}",
    `if [ -n "$prev" ] && [ "$prevctr" != "$ctr" ] && [ "$(docker inspect --format '{{.State.Running}}' "$prevctr" 2>/dev/null || true)" = true ] && ${SAVE_WORKERS} &&`,
    `  docker exec "$proxy" sh -c 'cp "$1.prev" "$1" && nginx -t -q && nginx -s reload' sh "$file"; then`,
    ...waitOldWorkers(15).map((l) => `  ${l}`),
    `  echo "health: the ${service} route is back on $prevctr, which keeps serving; $ctr gets no traffic" >&2`,
    "else",
    `  echo "health: no running previous container to put the ${service} route back on; it still leads to $ctr" >&2`,
    "fi",
  ];
}

export interface ReadySpec {
  /** The new app container. */
  container: string;
  timeoutSeconds: number;
  intervalSeconds: number;
  /** Log lines shown on failure. @default 50 */
  tailLines?: number;
  /** While a cut-over from compose is pending, a failure hands back to compose (renderers/adopt.ts). @default none */
  adopt?: AdoptSpec;
  /** Tell the stack's Alertmanager when it fails, and when it passes again. @default no alert */
  notify?: GateNotify;
}

/**
 * Why Mongo refuses the stack's credentials, and the fix (the seeds' incident): what the ready gate
 * and a backup that cannot lock Mongo both say.
 */
export const MONGO_VOLUME_PASSWORD =
  "the Mongo volume keeps the user and password it was initialised with " +
  "(MONGO_INITDB_* apply only to an empty volume), and they differ from the stack's mongo.user/mongoPassword. Fix: set copilotos:mongoPassword " +
  "(and mongo.user) back to what the volume was initialised with, or change it in place with copilotos:mongo.rotate while Mongo runs with its " +
  "current password. Never delete the volume (docker compose down -v): that deletes the data.";

/**
 * Causes told from the container's log (the app's own messages, and its drivers'), each with the
 * fix. Mongo's `MONGO_INITDB_*` apply only to an empty volume: the seeds' incident.
 */
export const READY_CAUSES: { pattern: string; cause: string }[] = [
  { pattern: "*Authentication?failed*", cause: `Mongo refused the API's credentials (Authentication failed): ${MONGO_VOLUME_PASSWORD}` },
  {
    pattern: "*Required?secret*not?found*",
    cause: "the API found a required secret in none of its sources (/run/secrets/<name>, env, /etc/copilotos/secrets): check the stack's secret files.",
  },
  {
    pattern: "*WRONGPASS*|*NOAUTH*|*invalid?username-password?pair*",
    cause:
      "Redis refused the API's password: the API's redis_password file and Redis's requirepass differ; run pulumi up again to give both the stack's redisPassword.",
  },
];

/**
 * Waits until a new app container reports healthy (its Docker health check is the app's
 * readiness) before any traffic is switched to it. On timeout, or if it exits, it prints the
 * cause it can tell from the log and the fix, then the masked log, and fails: the update stops
 * with the route untouched. Secrets arrive on stdin (one per line), for masking only.
 */
export function readyGateScript(r: ReadySpec): string {
  return lines(
    STRICT,
    "SECRETS=$(cat); export SECRETS",
    `ctr=${shq(r.container)}`,
    ...(r.notify ? gateAlertFunction(r.notify, "ready") : []),
    `deadline=$(( $(date +%s) + ${r.timeoutSeconds} ))`,
    "while :; do",
    `  state=$(docker inspect --format '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$ctr" 2>&1) || { echo "ready: cannot inspect $ctr: $state" >&2; exit 1; }`,
    '  case "$state" in',
    `    "running healthy"|"running none") echo "ready: $ctr is healthy";${r.notify ? " gate_alert resolved;" : ""} exit 0 ;;`,
    "    exited*|dead*) break ;;",
    "  esac",
    "  now=$(date +%s)",
    '  [ "$now" -lt "$deadline" ] || break',
    '  echo "ready: waiting for $ctr ($state; $((deadline - now))s left)"',
    `  sleep ${r.intervalSeconds}`,
    "done",
    `logs=$(docker logs --tail ${r.tailLines ?? 50} "$ctr" 2>&1 || true)`,
    `echo "ready: $ctr did not become healthy within ${r.timeoutSeconds}s (state: $state); no traffic was switched to it" >&2`,
    'case "$logs" in',
    ...READY_CAUSES.map((c) => `  ${c.pattern}) echo ${shq(`ready: cause: ${c.cause}`)} >&2 ;;`),
    "esac",
    'echo "ready: last log lines of $ctr:" >&2',
    ...containerReport(r.tailLines ?? 50),
    ...(r.adopt ? handBackLines(r.adopt) : []),
    ...(r.notify ? ["gate_alert firing"] : []),
    "exit 1",
  );
}

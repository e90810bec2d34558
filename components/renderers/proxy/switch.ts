/**
 * Switches a service's route to a new container in the running proxy: rewrites one route file,
 * checks the whole config with `nginx -t`, reloads gracefully and waits for the workers that still
 * hold requests to the old container. Pure: exact text, no I/O.
 */
import type { AppService } from "../names";
import { HOST_LOCK, lines, shq, STRICT } from "../shell";
import { routeFile, routeLine } from "./paths";

export interface SwitchSpec {
  /** The proxy container. */
  proxy: string;
  service: AppService;
  /** The container the route must lead to. */
  container: string;
  /** The port the app listens on inside that container (the API's is config `api.containerPort`). */
  port: number;
  /** Seconds to wait for the old workers to finish their requests. */
  drainSeconds: number;
}

/** Lists the PIDs of the proxy's worker processes (run inside the proxy with sh). */
export const LIST_WORKERS = 'for p in /proc/[0-9]*; do grep -q "worker process" "$p/cmdline" 2>/dev/null && echo "${p#/proc/}"; done; true';
/** Exits 0 while any PID given as an argument is alive. */
export const ANY_ALIVE = 'for p; do [ -d "/proc/$p" ] && exit 0; done; exit 1';

/** `$old` = the proxy's worker PIDs now (before a reload). */
export const SAVE_WORKERS = `old=$(docker exec "$proxy" sh -c ${shq(LIST_WORKERS)} sh)`;

/**
 * After a reload: waits (at most `seconds`) until the workers in `$old` are gone, so every new
 * connection meets the new config (a request right after a reload can still reach an old worker).
 */
export const waitOldWorkers = (seconds: number): string[] => [
  `deadline=$(( $(date +%s) + ${seconds} ))`,
  `while [ -n "$old" ] && docker exec "$proxy" sh -c ${shq(ANY_ALIVE)} sh $old && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.2; done`,
];

/**
 * Routes `service` to `container`. Idempotent: an unchanged route is left alone. A route nginx
 * rejects is put back and the script fails, so the proxy keeps serving the previous container.
 * Holds the host lock: route changes of the stacks on one host never interleave.
 */
export function switchScript(s: SwitchSpec): string {
  /** `script` run by sh in the proxy with `args`; `stdin` passes the host script's stdin through. */
  const exec = (script: string, args: string[] = [], stdin = false) =>
    `docker exec${stdin ? " -i" : ""} "$proxy" sh -c ${shq(script)} sh ${args.join(" ")}`.trimEnd();
  return lines(
    STRICT,
    ...HOST_LOCK,
    `proxy=${shq(s.proxy)}; file=${shq(routeFile(s.service))}; want=${shq(routeLine(s.container, s.port))}`,
    'current=$(docker exec "$proxy" cat "$file" 2>/dev/null || true)',
    `if [ "$current" = "$want" ]; then echo "proxy: ${s.service} already routes to ${s.container}"; exit 0; fi`,
    `old=$(${exec(LIST_WORKERS)})`,
    `printf '%s\\n' "$want" | ${exec('cat > "$1.next"', ['"$file"'], true)}`,
    `if ! ${exec('cp "$1" "$1.prev" && mv "$1.next" "$1" && nginx -t -q', ['"$file"'])}; then`,
    `  ${exec('mv "$1.prev" "$1"', ['"$file"'])} || true`,
    `  echo "proxy: nginx rejected the route to ${s.container}; ${s.service} still goes to its previous container" >&2`,
    "  exit 1",
    "fi",
    `${exec("nginx -s reload")}`,
    `deadline=$(( $(date +%s) + ${s.drainSeconds} ))`,
    `while [ -n "$old" ] && ${exec(ANY_ALIVE, ["$old"])}; do`,
    '  if [ "$(date +%s)" -ge "$deadline" ]; then',
    `    echo "proxy: the workers that served the old route of ${s.service} did not exit within ${s.drainSeconds}s" >&2`,
    "    exit 1",
    "  fi",
    "  sleep 0.2",
    "done",
    `echo "proxy: ${s.service} now routes to ${s.container} (was: \${current:-nothing})"`,
  );
}

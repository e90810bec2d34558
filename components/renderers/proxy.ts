/**
 * The stack's reverse proxy (nginx): its config and the script that switches a service's route to
 * a new container. Pure: exact text, no I/O.
 *
 * The proxy owns the published ports; the app containers publish none. A route lives in its own
 * file (`/etc/nginx/copilotos/<service>.upstream`), so switching one service rewrites one line,
 * checks the whole config with `nginx -t`, and reloads gracefully: workers that hold requests to
 * the old container finish them before they exit, and the script waits for that.
 */
import type { AppService } from "./names";
import { HOST_LOCK, lines, shq, STRICT } from "./shell";
import { maintenanceInclude, maintenanceServerLines } from "./maintenance";

/**
 * In-container ports the proxy listens on: the apps' own ports, published as the stack's host ports
 * (with TLS they serve only the stack network: the web's server side reaches the API there).
 */
export const PROXY_PORTS = { api: 8001, web: 3000 } as const;
/** With TLS: the HTTPS ports, and the plain ones that only redirect to them (published as `ports.*`). */
export const PROXY_TLS_PORTS = { api: 8443, web: 3443 } as const;
export const PROXY_REDIRECT_PORTS = { api: 8080, web: 3080 } as const;
export const TLS_CERT = "/etc/nginx/tls/cert.pem";
export const TLS_KEY = "/etc/nginx/tls/key.pem";
/** Only nginx's master (root) reads the key; its workers never need it. */
export const TLS_KEY_MODE = "0400";
export const PROXY_CONF = "/etc/nginx/nginx.conf";
export const PROXY_PID = "/tmp/nginx.pid";
export const ROUTES_DIR = "/etc/nginx/copilotos";
/** A route until the first switch: nginx answers 502, nothing is forwarded. */
export const PLACEHOLDER_ROUTE = "server 127.0.0.1:9 down;";
/** Docker's embedded DNS on user-defined networks, and how long nginx keeps its answers. */
export const DOCKER_DNS = "127.0.0.11";
export const RESOLVER_VALID_SECONDS = 5;
/** Seconds nginx gives an old worker's open connections after a reload before closing them. */
export const WORKER_SHUTDOWN_SECONDS = 10;

export const routeFile = (service: AppService) => `${ROUTES_DIR}/${service}.upstream`;
/** The one line of a route file: `server copilotos-staging-api-1a2b3c4d:8001;`. */
export const routeLine = (container: string, port: number) => `server ${container}:${port};`;

export interface ProxyConfSpec {
  /** Content-Security-Policy header value. */
  contentSecurityPolicy: string;
  /** Send Strict-Transport-Security on HTTPS responses (never over plain HTTP). */
  hsts: boolean;
  /** HTTPS: the host ports the redirects point at. @default none: plain HTTP only */
  tls?: { hostPorts: { api: number; web: number } };
  /**
   * A swarm: the apps are reached by service name through Docker's DNS (every task's address,
   * asked again every RESOLVER_VALID seconds), not through route files. @default route files
   */
  dns?: { api: string; web: string };
  /** Requests per second per client address on the API port; 0: no limit. */
  apiRateLimitPerSecond: number;
  /** Largest request body (uploads), in MiB; nginx's default is 1. */
  maxBodyMb: number;
  /** Seconds the API may stay silent on an open response (SSE chat streams) before nginx closes it. */
  apiReadTimeoutSeconds: number;
}

/** Security headers (seed 003's checklist) on every response, errors included; HSTS only over HTTPS. */
export function securityHeaders(p: ProxyConfSpec, https: boolean): string[] {
  const header = (name: string, value: string) => `add_header ${name} "${value.replace(/["\\]/g, "\\$&")}" always;`;
  return [
    header("X-Content-Type-Options", "nosniff"),
    header("X-Frame-Options", "DENY"),
    header("Referrer-Policy", "strict-origin-when-cross-origin"),
    header("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    header("Content-Security-Policy", p.contentSecurityPolicy),
    ...(p.hsts && https ? [header("Strict-Transport-Security", "max-age=31536000; includeSubDomains")] : []),
  ];
}

/** What the apps learn about the client: its real address, the original host and scheme. */
export const FORWARDED_HEADERS = [
  "proxy_set_header Host $host;",
  "proxy_set_header X-Real-IP $remote_addr;",
  "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
  "proxy_set_header X-Forwarded-Proto $scheme;",
  "proxy_set_header X-Forwarded-Host $host;",
  "proxy_http_version 1.1;",
  "proxy_set_header Upgrade $http_upgrade;",
  "proxy_set_header Connection $connection_upgrade;",
  "proxy_hide_header X-Powered-By;",
];

/**
 * The API streams chat over SSE: responses go to the client as they come (no buffering), and a
 * quiet stream stays open for `apiReadTimeoutSeconds` (nginx's default cuts it at 60 s).
 */
export const streamingLines = (p: ProxyConfSpec) => [
  "proxy_buffering off;",
  "proxy_cache off;",
  `proxy_read_timeout ${p.apiReadTimeoutSeconds}s;`,
  `proxy_send_timeout ${p.apiReadTimeoutSeconds}s;`,
];

export type AppPorts = { api: number; web: number };
/** Where the apps are reached from outside: HTTPS on the TLS ports when TLS is on, else HTTP on the plain ones. */
export const entryOf = (plain: AppPorts, tls?: { hostPorts: AppPorts }): { scheme: "http" | "https"; ports: AppPorts } =>
  tls ? { scheme: "https", ports: tls.hostPorts } : { scheme: "http", ports: plain };

/** Where an app is reached from outside: `https://host` (443 omitted) or `http://host:3000`. */
export const entryUrl = (scheme: "http" | "https", address: string, port: number) =>
  `${scheme}://${address}${scheme === "https" && port === 443 ? "" : `:${port}`}`;

/** TLS settings of an HTTPS server: TLS 1.2 and 1.3 only, nginx's default ciphers, no session tickets. */
export const TLS_LINES = [
  `ssl_certificate ${TLS_CERT};`,
  `ssl_certificate_key ${TLS_KEY};`,
  "ssl_protocols TLSv1.2 TLSv1.3;",
  "ssl_session_cache shared:TLS:10m;",
  "ssl_session_timeout 1d;",
  "ssl_session_tickets off;",
];

/** With TLS, a published plain port answers with a permanent redirect (308 for the API: method and body kept). */
function redirectServer(service: AppService, httpsPort: number): string[] {
  const target = `https://$host${httpsPort === 443 ? "" : `:${httpsPort}`}$request_uri`;
  return ["  server {", `    listen ${PROXY_REDIRECT_PORTS[service]};`, `    return ${service === "api" ? 308 : 301} ${target};`, "  }"];
}

function server(service: AppService, p: ProxyConfSpec, https: boolean): string[] {
  const limit =
    service === "api" && p.apiRateLimitPerSecond > 0 ? [`limit_req zone=api burst=${p.apiRateLimitPerSecond * 2} nodelay;`, "limit_req_status 429;"] : [];
  return [
    "  server {",
    https ? `    listen ${PROXY_TLS_PORTS[service]} ssl;` : `    listen ${PROXY_PORTS[service]};`,
    ...(https ? TLS_LINES.map((l) => `    ${l}`) : []),
    `    client_max_body_size ${p.maxBodyMb}m;`,
    ...[...securityHeaders(p, https), ...limit].map((l) => `    ${l}`),
    ...maintenanceServerLines().map((l) => `    ${l}`),
    "    location / {",
    `      ${maintenanceInclude()}`,
    // With a variable, nginx resolves the name at request time (through `resolver`), not once at start.
    ...(p.dns
      ? [
          `      set $copilotos_${service} http://${p.dns[service]}:${PROXY_PORTS[service]};`,
          `      proxy_pass $copilotos_${service};`,
          // A task on a node that just went away does not refuse, it stays silent: give up on it fast and try the next.
          "      proxy_connect_timeout 2s;",
        ]
      : [`      proxy_pass http://copilotos_${service};`]),
    ...FORWARDED_HEADERS.map((l) => `      ${l}`),
    ...(service === "api" ? streamingLines(p).map((l) => `      ${l}`) : []),
    "    }",
    "  }",
  ];
}

/** The proxy's whole nginx.conf; routes are included from {@link ROUTES_DIR}. */
export function proxyConf(p: ProxyConfSpec): string {
  return lines(
    "# Written by copilotos (components/renderers/proxy.ts); routes are switched in " + ROUTES_DIR + ".",
    "worker_processes auto;",
    `worker_shutdown_timeout ${WORKER_SHUTDOWN_SECONDS}s;`,
    `pid ${PROXY_PID};`,
    "error_log /dev/stderr warn;",
    "events { worker_connections 1024; }",
    "http {",
    "  server_tokens off;",
    "  default_type application/octet-stream;",
    '  log_format main \'$remote_addr "$http_x_forwarded_for" [$time_local] "$request" $status $body_bytes_sent $request_time $upstream_addr\';',
    "  access_log /dev/stdout main;",
    "  client_body_temp_path /tmp/nginx-client-body;",
    "  proxy_temp_path /tmp/nginx-proxy;",
    "  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }",
    p.apiRateLimitPerSecond > 0 && `  limit_req_zone $binary_remote_addr zone=api:10m rate=${p.apiRateLimitPerSecond}r/s;`,
    ...(p.dns
      ? [`  resolver ${DOCKER_DNS} valid=${RESOLVER_VALID_SECONDS}s ipv6=off;`, "  resolver_timeout 2s;"]
      : (["api", "web"] as const).map((s) => `  upstream copilotos_${s} { include ${routeFile(s)}; keepalive 16; }`)),
    ...(["api", "web"] as const).flatMap((s) => [...server(s, p, false), ...(p.tls ? [...server(s, p, true), ...redirectServer(s, p.tls.hostPorts[s])] : [])]),
    "}",
  );
}

/**
 * The proxy container's command. The route files live on the proxy's own volume, so a new proxy
 * (its image or config changed: it is replaced delete-first, as it owns the ports) starts with the
 * routes the old one had and serves the running apps at once, instead of 502 until each app's route
 * is switched again (after that app's own new container, if it has one, is ready). A missing route
 * file gets the placeholder; kept routes nginx refuses (a routed container gone) are all put back to
 * the placeholder, so the proxy always starts and the next route switch sets them.
 */
export function proxyStartScript(): string {
  const files = (["api", "web"] as const).map(routeFile).join(" ");
  const placeholder = shq(PLACEHOLDER_ROUTE);
  return lines(
    `for f in ${files}; do [ -s "$f" ] || echo ${placeholder} > "$f"; done`,
    "if ! nginx -t -q; then",
    `  echo "proxy: the kept routes do not load (a routed container is gone); starting with none until the next route switch" >&2`,
    `  for f in ${files}; do echo ${placeholder} > "$f"; done`,
    "fi",
    "exec nginx -g 'daemon off;'",
  );
}

/** Docker health check of the proxy: its config parses and its master process is alive. */
export const PROXY_HEALTH = `nginx -t -q && kill -0 "$(cat ${PROXY_PID})"`;

export interface SwitchSpec {
  /** The proxy container. */
  proxy: string;
  service: AppService;
  /** The container the route must lead to. */
  container: string;
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
    `proxy=${shq(s.proxy)}; file=${shq(routeFile(s.service))}; want=${shq(routeLine(s.container, PROXY_PORTS[s.service]))}`,
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

/**
 * The stack's reverse proxy (nginx): its config (nginx.conf), its start script and its health check.
 * Pure: exact text, no I/O.
 *
 * The proxy owns the published ports; the app containers publish none. A route lives in its own
 * file (`/etc/nginx/copilotos/<service>.upstream`, switch.ts rewrites it), included by the config.
 */
import type { AppService } from "../names";
import { lines, shq } from "../shell";
import { DEFAULT_MAINTENANCE_PAGE, MAINTENANCE_CONF, MAINTENANCE_OFF, MAINTENANCE_PAGE, maintenanceInclude, maintenanceServerLines } from "./maintenance";
import {
  ACME_WEBROOT,
  DOCKER_DNS,
  PLACEHOLDER_ROUTE,
  PROXY_PID,
  PROXY_PORTS,
  PROXY_REDIRECT_PORTS,
  PROXY_TLS_PORTS,
  RESOLVER_VALID_SECONDS,
  routeFile,
  ROUTES_DIR,
  TLS_CERT,
  TLS_KEY,
  WORKER_SHUTDOWN_SECONDS,
} from "./paths";

export interface ProxyConfSpec {
  /** Content-Security-Policy header value. */
  contentSecurityPolicy: string;
  /** Send Strict-Transport-Security on HTTPS responses (never over plain HTTP). */
  hsts: boolean;
  /**
   * HTTPS: the host ports the redirects point at; `acme`: the web's redirect port also serves
   * HTTP-01 challenges from ACME_WEBROOT (it is published on `tls.acme.httpPort` too). @default none: plain HTTP only
   */
  tls?: { hostPorts: { api: number; web: number }; acme?: boolean };
  /**
   * A swarm: the apps are reached by service name through Docker's DNS (every task's address,
   * asked again every RESOLVER_VALID seconds), not through route files. @default route files
   */
  dns?: { api: string; web: string };
  /** The apps' ports inside their containers, where `dns` names them. @default PROXY_PORTS (8001, 3000) */
  appPorts?: AppPorts;
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

/** What of a stack's config decides its entry: its plain ports, and its TLS ports when `tls` is set. */
export type StackEntryConfig = { ports: AppPorts; tls?: { ports: AppPorts } };

/** The entry a stack's config gives: HTTPS on `tls.ports` when `tls` is set, else plain HTTP on `ports`. */
export const stackEntryOf = (cfg: StackEntryConfig) => entryOf(cfg.ports, cfg.tls && { hostPorts: cfg.tls.ports });

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
function redirectServer(service: AppService, httpsPort: number, acme: boolean): string[] {
  const target = `https://$host${httpsPort === 443 ? "" : `:${httpsPort}`}$request_uri`;
  const redirect = `return ${service === "api" ? 308 : 301} ${target};`;
  if (!acme || service !== "web") return ["  server {", `    listen ${PROXY_REDIRECT_PORTS[service]};`, `    ${redirect}`, "  }"];
  return [
    "  server {",
    `    listen ${PROXY_REDIRECT_PORTS[service]};`,
    `    location /.well-known/acme-challenge/ { root ${ACME_WEBROOT}; }`,
    `    location / { ${redirect} }`,
    "  }",
  ];
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
          `      set $copilotos_${service} http://${p.dns[service]}:${(p.appPorts ?? PROXY_PORTS)[service]};`,
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
    "# Written by copilotos (components/renderers/proxy/); routes are switched in " + ROUTES_DIR + ".",
    "worker_processes auto;",
    `worker_shutdown_timeout ${WORKER_SHUTDOWN_SECONDS}s;`,
    `pid ${PROXY_PID};`,
    "error_log /dev/stderr warn;",
    "events { worker_connections 1024; }",
    "http {",
    "  server_tokens off;",
    "  default_type application/octet-stream;",
    '  log_format main \'$remote_addr "$http_x_forwarded_for" [$time_local] "$request" $status $body_bytes_sent $request_time $upstream_addr "$http_user_agent"\';',
    "  access_log /dev/stdout main;",
    // Every temp path in /tmp (nginx creates and chowns them all at start, used or not): the rest of a read-only root stays untouched.
    "  client_body_temp_path /tmp/nginx-client-body;",
    "  proxy_temp_path /tmp/nginx-proxy;",
    "  fastcgi_temp_path /tmp/nginx-fastcgi;",
    "  uwsgi_temp_path /tmp/nginx-uwsgi;",
    "  scgi_temp_path /tmp/nginx-scgi;",
    "  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }",
    p.apiRateLimitPerSecond > 0 && `  limit_req_zone $binary_remote_addr zone=api:10m rate=${p.apiRateLimitPerSecond}r/s;`,
    ...(p.dns
      ? [`  resolver ${DOCKER_DNS} valid=${RESOLVER_VALID_SECONDS}s ipv6=off;`, "  resolver_timeout 2s;"]
      : (["api", "web"] as const).map((s) => `  upstream copilotos_${s} { include ${routeFile(s)}; keepalive 16; }`)),
    ...(["api", "web"] as const).flatMap((s) => [
      ...server(s, p, false),
      ...(p.tls ? [...server(s, p, true), ...redirectServer(s, p.tls.hostPorts[s], p.tls.acme === true)] : []),
    ]),
    "}",
  );
}

/**
 * The proxy container's command. The route files live on the proxy's own volume, so a new proxy
 * (its image or config changed: it is replaced delete-first, as it owns the ports) starts with the
 * routes the old one had and serves the running apps at once, instead of 502 until each app's route
 * is switched again (after that app's own new container, if it has one, is ready). A missing route
 * file gets the placeholder; kept routes nginx refuses (a routed container gone) are all put back to
 * the placeholder, so the proxy always starts and the next route switch sets them. The maintenance
 * switch and page live there too (the root is read-only): made, off, when missing, else kept, so a
 * proxy replaced or restarted during maintenance stays in it until `ops maintenance off`.
 */
export function proxyStartScript(): string {
  const files = (["api", "web"] as const).map(routeFile).join(" ");
  const placeholder = shq(PLACEHOLDER_ROUTE);
  return lines(
    `[ -e ${MAINTENANCE_CONF} ] || echo ${shq(MAINTENANCE_OFF)} > ${MAINTENANCE_CONF}`,
    `[ -e ${MAINTENANCE_PAGE} ] || printf '%s' ${shq(DEFAULT_MAINTENANCE_PAGE)} > ${MAINTENANCE_PAGE}`,
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

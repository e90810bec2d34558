/**
 * Where things live in the proxy container, and the ports it listens on: the names the config,
 * the route switch and maintenance mode share. Pure.
 */
import type { AppService } from "../names";

/**
 * In-container ports the proxy listens on: the apps' own ports, published as the stack's host ports
 * (with TLS they serve only the stack network: the web's server side reaches the API there).
 */
export const PROXY_PORTS = { api: 8001, web: 3000 } as const;
/** With TLS: the HTTPS ports, and the plain ones that only redirect to them (published as `ports.*`). */
export const PROXY_TLS_PORTS = { api: 8443, web: 3443 } as const;
export const PROXY_REDIRECT_PORTS = { api: 8080, web: 3080 } as const;
/** The served pair's folder: uploads, or (tls.acme) the stack's TLS volume that the renewal rewrites. */
export const TLS_DIR = "/etc/nginx/tls";
export const TLS_CERT = `${TLS_DIR}/cert.pem`;
export const TLS_KEY = `${TLS_DIR}/key.pem`;
/** Where the proxy serves HTTP-01 challenge files from (tls.acme), and certbot writes them. */
export const ACME_WEBROOT = "/var/www/acme";
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

/**
 * Taking over a running `docker compose` deployment of copilotos-bridge (the seeds' way). Pure.
 *
 * - {@link inventoryScript}: what the compose project runs (containers by the compose labels, their
 *   images, states, published ports, mounts, and env *names* — values never leave the host).
 * - {@link cutoverScript}: compose's apps stopped first (web, api), then Redis and Mongo with a clean
 *   shutdown; the stack's own containers that already exist started (after a hand-back). Leaves a
 *   marker on the host while the cut-over is not yet proven by the gates.
 * - {@link handBackLines}: a gate that fails while the marker is there stops the stack's containers
 *   and starts compose's again (Mongo, Redis, API, web), so compose serves as before.
 * - {@link cleanupScript}: removes compose's stopped containers (never a volume) once the stack is healthy.
 */
import { StackIdentity, stackFilters } from "../names";
import { lines, shq, STRICT } from "../shell";

export const COMPOSE_PROJECT_LABEL = "com.docker.compose.project";
export const COMPOSE_SERVICE_LABEL = "com.docker.compose.service";

/** Compose service names of the app's `infra/docker-compose.yml`, per stack service. */
export interface ComposeServices {
  mongo: string;
  redis: string;
  api: string;
  web: string;
}
export const APP_COMPOSE_SERVICES: ComposeServices = { mongo: "mongodb", redis: "redis", api: "api", web: "web" };

export interface AdoptSpec {
  identity: StackIdentity;
  /** The compose project (`com.docker.compose.project`), e.g. `copilotos-prod` or `infra`. */
  composeProject: string;
  services: ComposeServices;
}

/** The marker a cut-over leaves until the stack's gates pass (`$HOME/.copilotos/adopt-<project>-<stack>`). */
export const markerPath = (id: StackIdentity) => `"$HOME"/.copilotos/${shq(`adopt-${id.project}-${id.stack}`)}`;

/**
 * Lists the project's containers and volumes, one record a line:
 * `container <name> <service> <image> <state>`, `port <container> <host port>`,
 * `mount <container> <volume> <path>`, `env <container> <NAME>`, `volume <name> <driver>`.
 */
export function inventoryScript(composeProject: string): string {
  return lines(
    STRICT,
    `project=${shq(composeProject)}`,
    `for c in $(docker ps -a --filter "label=${COMPOSE_PROJECT_LABEL}=$project" --format '{{.Names}}'); do`,
    `  docker inspect --format 'container {{.Name}} {{index .Config.Labels "${COMPOSE_SERVICE_LABEL}"}} {{.Config.Image}} {{.State.Status}}' "$c" | sed 's| /| |'`,
    `  docker inspect --format '{{range $p, $b := .HostConfig.PortBindings}}{{range $b}}{{println .HostPort}}{{end}}{{end}}' "$c" | sed -n "s/^\\([0-9][0-9]*\\)$/port $c \\1/p"`,
    `  docker inspect --format '{{range .Mounts}}{{if eq .Type "volume"}}{{println .Name .Destination}}{{end}}{{end}}' "$c" | sed -n "s/^\\(..*\\)$/mount $c \\1/p"`,
    // Names only: the values (passwords among them) are cut on the host and never sent.
    `  docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$c" | sed -n "s/^\\([A-Za-z_][A-Za-z0-9_]*\\)=.*/env $c \\1/p"`,
    "done",
    `for v in $(docker volume ls -q --filter "label=${COMPOSE_PROJECT_LABEL}=$project"); do`,
    `  docker volume inspect --format 'volume {{.Name}} {{.Driver}}' "$v"`,
    "done",
  );
}

export interface Inventory {
  containers: { name: string; service: string; image: string; state: string; ports: number[]; mounts: { volume: string; path: string }[]; env: string[] }[];
  volumes: { name: string; driver: string }[];
}

export function parseInventory(stdout: string): Inventory {
  const inv: Inventory = { containers: [], volumes: [] };
  const byName = (name: string) => inv.containers.find((c) => c.name === name);
  for (const line of stdout.split("\n")) {
    const [kind, ...f] = line.trim().split(/\s+/);
    if (kind === "container" && f.length === 4) inv.containers.push({ name: f[0], service: f[1], image: f[2], state: f[3], ports: [], mounts: [], env: [] });
    else if (kind === "port") byName(f[0])?.ports.push(Number(f[1]));
    else if (kind === "mount") byName(f[0])?.mounts.push({ volume: f[1], path: f[2] });
    else if (kind === "env") byName(f[0])?.env.push(f[1]);
    else if (kind === "volume") inv.volumes.push({ name: f[0], driver: f[1] });
  }
  return inv;
}

/**
 * The cut-over, before the stack's Mongo, Redis and proxy are created: stops compose's running
 * containers (web, api, then redis and mongo, each given 60 s to shut down cleanly) and starts the
 * stack's containers that exist already (stopped by an earlier hand-back). Idempotent: with compose
 * stopped it only says so. Leaves the marker while compose is the way back.
 */
export function cutoverScript(a: AdoptSpec): string {
  const order = [a.services.web, a.services.api, a.services.redis, a.services.mongo];
  return lines(
    STRICT,
    `project=${shq(a.composeProject)}; marker=${markerPath(a.identity)}`,
    "stopped=0",
    `for service in ${order.map(shq).join(" ")}; do`,
    `  for c in $(docker ps --filter "label=${COMPOSE_PROJECT_LABEL}=$project" --filter "label=${COMPOSE_SERVICE_LABEL}=$service" --format '{{.Names}}'); do`,
    '    echo "adopt: stopping $c (compose project $project, service $service)"',
    '    docker stop -t 60 "$c" >/dev/null',
    "    stopped=$((stopped + 1))",
    "  done",
    "done",
    'if [ "$stopped" -gt 0 ]; then mkdir -p "$HOME/.copilotos"; echo "$project" > "$marker"; fi',
    `for c in $(docker ps -a --filter status=exited ${stackFilters(a.identity)} --format '{{.Names}}'); do`,
    '  echo "adopt: starting $c again"',
    '  docker start "$c" >/dev/null',
    "done",
    'if [ "$stopped" -gt 0 ]; then echo "adopt: compose project $project stopped ($stopped containers, none removed); the stack takes over its volumes"; else echo "adopt: nothing of compose project $project runs; nothing to stop"; fi',
  );
}

/** Compose's containers started again, data services first: the way back. */
function startComposeLines(a: AdoptSpec): string[] {
  return [
    `for service in ${[a.services.mongo, a.services.redis, a.services.api, a.services.web].map(shq).join(" ")}; do`,
    `  for c in $(docker ps -a --filter "label=${COMPOSE_PROJECT_LABEL}=$project" --filter "label=${COMPOSE_SERVICE_LABEL}=$service" --format '{{.Names}}'); do docker start "$c" >/dev/null; done`,
    "done",
  ];
}

/**
 * Lines for a failing gate: if this update's cut-over stopped compose (the marker), stop the
 * stack's containers (Mongo and Redis must not run twice on one volume) and start compose's again.
 */
export function handBackLines(a: AdoptSpec): string[] {
  return [
    `project=${shq(a.composeProject)}; marker=${markerPath(a.identity)}`,
    'if [ -f "$marker" ]; then',
    `  for c in $(docker ps -q ${stackFilters(a.identity)}); do docker stop -t 60 "$c" >/dev/null; done`,
    ...startComposeLines(a).map((l) => `  ${l}`),
    '  rm -f "$marker"',
    '  echo "adopt: the stack did not become healthy, so compose project $project was started again and serves as before; the stack\'s containers are stopped, nothing was removed" >&2',
    "fi",
  ];
}

/** Run by hand (`npm run adopt -- … --hand-back`) when the update stopped before any gate could hand back. */
export function handBackScript(a: AdoptSpec): string {
  return lines(STRICT, `touch ${markerPath(a.identity)}`, ...handBackLines(a));
}

/**
 * Removes compose's containers once the stack is healthy (every container of the stack running and
 * healthy, no cut-over pending); refuses otherwise. Volumes and images are never removed.
 */
export function cleanupScript(a: AdoptSpec): string {
  return lines(
    STRICT,
    `project=${shq(a.composeProject)}; marker=${markerPath(a.identity)}`,
    'if [ -f "$marker" ]; then echo "adopt: a cut-over to the stack is not finished (run pulumi up first); compose\'s containers are kept" >&2; exit 1; fi',
    `states=$(docker ps -a ${stackFilters(a.identity)} --format '{{.Names}} {{.State}} {{.Status}}')`,
    `if [ -z "$states" ]; then echo "adopt: the stack has no containers on this host; compose's containers are kept" >&2; exit 1; fi`,
    `unhealthy=$(printf '%s\\n' "$states" | grep -v ' running .*(healthy)' || true)`,
    `if [ -n "$unhealthy" ]; then printf 'adopt: the stack is not healthy, compose stays the way back:\\n%s\\n' "$unhealthy" >&2; exit 1; fi`,
    `for c in $(docker ps -a --filter "label=${COMPOSE_PROJECT_LABEL}=$project" --format '{{.Names}}'); do`,
    '  if [ "$(docker inspect --format \'{{.State.Running}}\' "$c")" = true ]; then echo "adopt: $c still runs; it is left alone" >&2; continue; fi',
    '  docker rm "$c" >/dev/null',
    '  echo "adopt: removed $c (its volumes are kept)"',
    "done",
  );
}

/** `npm run ops`: its host scripts (exact strings) and its argument checks (nothing run on a usage error). */
import { execScript, findContainerLines, logsScript, parseStatus, restartScript, statusScript } from "../components/renderers/operations/ops";
import { ops } from "../scripts/ops";
import { MAINTENANCE_CONF, maintenanceScript } from "../components/renderers/proxy/maintenance";
import { ANY_ALIVE, LIST_WORKERS, ROUTES_DIR } from "../components/renderers/proxy";

const id = { project: "copilotos", stack: "staging" };

test("an app service is found by the proxy's route (the serving container), else the newest running one; a fixed one by name", () => {
  expect(findContainerLines(id, "api")).toEqual([
    "ctr=$(docker exec copilotos-staging-proxy cat /etc/nginx/copilotos/api.upstream 2>/dev/null | sed -n 's/^server \\([^:]*\\):.*/\\1/p')",
    "[ -n \"$ctr\" ] || ctr=$(docker ps --filter label=copilotos.project=copilotos --filter label=copilotos.stack=staging --filter label=copilotos.service=api --format '{{.CreatedAt}}|{{.Names}}' | sort -r | head -n 1 | cut -d'|' -f2)",
    "[ -n \"$ctr\" ] || { echo 'ops: no api container of stack staging runs on this host' >&2; exit 1; }",
  ]);
  expect(findContainerLines(id, "redis")).toEqual([
    "ctr=copilotos-staging-redis",
    "docker inspect --format '{{.Id}}' \"$ctr\" >/dev/null 2>&1 || { echo 'ops: no redis container of stack staging runs on this host' >&2; exit 1; }",
  ]);
});

test("logs and exec: every word quoted, so a command's arguments reach the container as they were given", () => {
  expect(logsScript(id, "web", { since: "10m", follow: true }).split("\n").slice(-2)).toEqual(['exec docker logs --tail 200 --since 10m --follow "$ctr"', ""]);
  expect(execScript(id, "redis", ["redis-cli", "GET", "a key; rm -rf /"]).split("\n").slice(-2)).toEqual([
    "exec docker exec -i \"$ctr\" redis-cli GET 'a key; rm -rf /'",
    "",
  ]);
});

test("status lists the stack's containers, the newest verified backup and free disk", () => {
  const s = statusScript({ identity: id, backup: { dir: "~/copilotos-backups", prefix: "copilotos-staging-mongo" } });
  expect(s).toContain("for c in $(docker ps -a --filter label=copilotos.project=copilotos --filter label=copilotos.stack=staging --format '{{.Names}}'); do");
  expect(s).toContain("grep -E '^copilotos-staging-mongo-[0-9]{8}T[0-9]{6}Z\\.tar$'");
  expect(s).toContain('dir="$HOME"/copilotos-backups');
});

test("status --json is the status report parsed: containers, the last verified backup, free disk", () => {
  const out = [
    "SERVICE CONTAINER IMAGE STATE HEALTH RESTARTS STARTED",
    "api copilotos-staging-api-0a1b2c3d copilotos-api:1.4.0 running healthy 0 2026-12-03T10:00:00.123Z",
    "mongo copilotos-staging-mongo mongo:7.0 restarting - 3 2026-12-03T09:59:00Z",
    "last verified backup: copilotos-staging-mongo-20261203T030000Z.tar (123456 bytes)",
    "free disk: 20480 MiB on /var/lib/docker (Docker root)",
    "free disk: 512 MiB on /home/deploy/copilotos-backups (backups)",
    "",
  ].join("\n");
  expect(parseStatus(out)).toEqual({
    containers: [
      {
        service: "api",
        container: "copilotos-staging-api-0a1b2c3d",
        image: "copilotos-api:1.4.0",
        state: "running",
        health: "healthy",
        restarts: 0,
        started: "2026-12-03T10:00:00.123Z",
      },
      {
        service: "mongo",
        container: "copilotos-staging-mongo",
        image: "mongo:7.0",
        state: "restarting",
        health: "-",
        restarts: 3,
        started: "2026-12-03T09:59:00Z",
      },
    ],
    lastBackup: { file: "copilotos-staging-mongo-20261203T030000Z.tar", bytes: 123456 },
    freeDisk: [
      { path: "/var/lib/docker", mib: 20480, of: "docker-root" },
      { path: "/home/deploy/copilotos-backups", mib: 512, of: "backups" },
    ],
  });
  expect(parseStatus("last verified backup: none in /home/deploy/b\n").lastBackup).toBeNull();
  expect(() => parseStatus("Error response from daemon: oops\n")).toThrow('ops status: an unexpected line from the host: "Error response from daemon: oops"');
});

test("restart: the serving container restarted, its health check awaited, an app's answer through the proxy; a failure says it still serves", () => {
  const redis = restartScript(id, "redis", { timeoutSeconds: 60, intervalSeconds: 2 });
  const hint = "echo 'restart: it is still the container the stack runs; its logs: npm run ops -- staging logs redis' >&2; exit 1; }";
  expect(redis).toBe(
    [
      "set -eu",
      ...findContainerLines(id, "redis"),
      'echo "restart: $ctr"',
      'docker restart -t 30 "$ctr" >/dev/null',
      "deadline=$(( $(date +%s) + 60 ))",
      "while :; do",
      `  state=$(docker inspect --format '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$ctr" 2>&1) || { echo "restart: cannot inspect $ctr: $state" >&2; ${hint}`,
      '  case "$state" in',
      '    "running healthy"|"running none") break ;;',
      `    exited*|dead*) { echo "restart: $ctr stopped ($state)" >&2; ${hint} ;;`,
      "  esac",
      `  [ "$(date +%s)" -lt "$deadline" ] || { echo "restart: $ctr is not healthy within 60s ($state)" >&2; ${hint}`,
      '  echo "restart: waiting for $ctr ($state)"',
      "  sleep 2",
      "done",
      'echo "restart: $ctr is healthy"',
      "",
    ].join("\n"),
  );
  const api = restartScript(id, "api", { timeoutSeconds: 60, intervalSeconds: 2, gateUrl: "https://127.0.0.1:8543/api/health/ready" });
  expect(api).toContain(findContainerLines(id, "api").join("\n"));
  expect(api).toContain(
    'url=https://127.0.0.1:8543/api/health/ready\nuntil [ "$(curl -sk -o /dev/null -w \'%{http_code}\' --max-time 4 "$url" || true)" = 200 ]; do\n',
  );
  expect(api.endsWith('echo "restart: $url answers 200 through the proxy"\n')).toBe(true);
});

test.each([
  [["staging", "logs", "api", "--json"], "ops: --json goes with status"],
  [["staging"], "ops: a stack and a command are needed"],
  [["staging", "logs"], "ops: logs needs a service: mongo, redis, api, web, proxy"],
  [["staging", "logs", "db"], "ops: logs needs a service: mongo, redis, api, web, proxy"],
  [["staging", "exec", "redis"], "ops: exec needs a command after --"],
  [["staging", "status", "api"], "ops: status takes no service"],
  [["staging", "reboot", "api"], 'ops: unknown command "reboot"'],
  [["staging", "restart"], "ops: restart needs a service: mongo, redis, api, web, proxy"],
  [["staging", "restart", "api", "web"], "ops: restart takes one service"],
  [["staging", "maintenance"], "ops: maintenance takes on or off"],
  [["staging", "maintenance", "yes"], "ops: maintenance takes on or off"],
  [["staging", "logs", "api", "--tail=-3"], "ops: --tail must be a whole number"],
  [["staging", "logs", "api", "--since", "$(id)"], "ops: --since must be a duration (10m, 2h) or a time stamp"],
  [["staging", "monitor", "api"], "ops: monitor takes no service"],
  [["staging", "status", "--prometheus-port", "9999"], "ops: --prometheus-port and --alertmanager-port go with monitor"],
  [["staging", "monitor", "--alertmanager-port", "70000"], "ops: --prometheus-port and --alertmanager-port must be ports (1-65535)"],
  [["staging", "monitor", "--prometheus-port", "0x50"], "ops: --prometheus-port and --alertmanager-port must be ports (1-65535)"],
  [["staging", "monitor", "--prometheus-port", "9093"], "ops: Prometheus and Alertmanager need two different ports"],
])("%j is refused with the usage (exit 2) before anything runs", async (argv, message) => {
  const err: string[] = [];
  expect(await ops(argv, { out: () => undefined, err: (s) => err.push(s) })).toBe(2);
  expect(err.join("")).toMatch(new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\nusage: npm run ops -- <stack> status \\[--json\\]\\n`));
});

test("maintenance: the switch file in the proxy's own folder, written, checked and reloaded under the host lock; a rejected config put back", () => {
  expect(MAINTENANCE_CONF.startsWith(`${ROUTES_DIR}/`)).toBe(true);
  const on = maintenanceScript("copilotos-staging-proxy", true);
  expect(on).toContain("flock -w 300 9");
  expect(on.split("\n").slice(-14)).toEqual([
    "proxy=copilotos-staging-proxy; file=/etc/nginx/copilotos/maintenance.conf",
    'current=$(docker exec "$proxy" cat "$file" 2>/dev/null || true)',
    'if [ "$current" = \'return 503;\' ]; then echo "maintenance: already on at $proxy"; exit 0; fi',
    `old=$(docker exec "$proxy" sh -c '${LIST_WORKERS}' sh)`,
    "printf '%s\\n' 'return 503;' | docker exec -i \"$proxy\" sh -c 'cat > \"$1.next\"' sh \"$file\"",
    'if ! docker exec "$proxy" sh -c \'cp "$1" "$1.prev" 2>/dev/null; mv "$1.next" "$1" && nginx -t -q && nginx -s reload\' sh "$file"; then',
    '  docker exec "$proxy" sh -c \'if [ -f "$1.prev" ]; then mv "$1.prev" "$1"; fi\' sh "$file" || true',
    '  echo "maintenance: nginx rejected the change; the proxy is as it was" >&2',
    "  exit 1",
    "fi",
    "deadline=$(( $(date +%s) + 15 ))",
    `while [ -n "$old" ] && docker exec "$proxy" sh -c '${ANY_ALIVE}' sh $old && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.2; done`,
    "echo 'maintenance: on at '\"$proxy\" '(both apps answer 503 with the maintenance page)'",
    "",
  ]);
  expect(maintenanceScript("p", false)).toContain('if [ "$current" = \'# maintenance off\' ]; then echo "maintenance: already off at $proxy"; exit 0; fi');
});

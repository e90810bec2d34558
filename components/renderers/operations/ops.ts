/**
 * Day-2 host scripts for `npm run ops` (status, logs, exec), by service name. Pure.
 * App containers carry a random suffix in their names; the one serving is the one the proxy routes to.
 */
import { certificateStatusLines, CertificateStatusSpec } from "./acme";
import { offsiteStatusLines, OffsiteSpec } from "./offsite";
import { backupNamePattern, containerName, LABEL_PROJECT, LABEL_SERVICE, LABEL_STACK, Service, StackIdentity, stackFilters } from "../names";
import { routeFile } from "../proxy";
import { hostPath, lines, shq, STRICT } from "../shell";

export const OPS_SERVICES: readonly Service[] = ["mongo", "redis", "api", "web", "proxy"];

/** Sets `$ctr` to the service's serving container, or fails naming the service and the stack. */
export function findContainerLines(id: StackIdentity, service: Service): string[] {
  const missing = `{ echo ${shq(`ops: no ${service} container of stack ${id.stack} runs on this host`)} >&2; exit 1; }`;
  if (service !== "api" && service !== "web") {
    return [`ctr=${shq(containerName(id, service))}`, `docker inspect --format '{{.Id}}' "$ctr" >/dev/null 2>&1 || ${missing}`];
  }
  // The proxy's route names the container that serves; without a proxy, the newest running one.
  const filter = [`${LABEL_PROJECT}=${id.project}`, `${LABEL_STACK}=${id.stack}`, `${LABEL_SERVICE}=${service}`]
    .map((l) => `--filter ${shq(`label=${l}`)}`)
    .join(" ");
  return [
    `ctr=$(docker exec ${shq(containerName(id, "proxy"))} cat ${routeFile(service)} 2>/dev/null | sed -n 's/^server \\([^:]*\\):.*/\\1/p')`,
    `[ -n "$ctr" ] || ctr=$(docker ps ${filter} --format '{{.CreatedAt}}|{{.Names}}' | sort -r | head -n 1 | cut -d'|' -f2)`,
    `[ -n "$ctr" ] || ${missing}`,
  ];
}

export interface StatusSpec {
  identity: StackIdentity;
  /** Backup folder and file prefix (config backup.dir; `<stack prefix>-mongo`), and the off-host repository if any. */
  backup: { dir: string; prefix: string; offsite?: OffsiteSpec };
  /** The served certificate of `tls.acme`, whose expiry is shown. @default none */
  certificate?: CertificateStatusSpec;
}

/**
 * The newest verified backup in `$dir` (one with its .sha256) and its size, and with an off-host
 * repository its newest snapshot and age. `$dir` must be set (the backup folder).
 */
export function backupStatusLines(b: StatusSpec["backup"]): string[] {
  return [
    `last=$(for f in "$dir"/*; do [ -f "$f.sha256" ] && printf '%s\\n' "\${f##*/}"; done 2>/dev/null | grep -E ${shq(backupNamePattern(b.prefix))} | sort -r | head -n 1 || true)`,
    'if [ -n "$last" ]; then echo "last verified backup: $last ($(wc -c < "$dir/$last") bytes)"; else echo "last verified backup: none in $dir"; fi',
    ...(b.offsite ? offsiteStatusLines(b.offsite, b.prefix) : []),
  ];
}

/**
 * Per container of the stack: service, name, image, state, health, restarts, started; then the
 * newest verified backup (one with its .sha256), the newest off-host snapshot and its age (with
 * `backup.offsite`), and the free space of the Docker root and the backup folder.
 */
export function statusScript(s: StatusSpec): string {
  const filter = stackFilters(s.identity);
  return lines(
    STRICT,
    `dir=${hostPath(s.backup.dir)}`,
    "echo 'SERVICE CONTAINER IMAGE STATE HEALTH RESTARTS STARTED'",
    `for c in $(docker ps -a ${filter} --format '{{.Names}}'); do`,
    // Containers run pinned image IDs; the image is shown by its first tag on the host.
    "  # shellcheck disable=SC2046 # the fields, one word each, split on purpose",
    `  set -- $(docker inspect --format '{{index .Config.Labels "${LABEL_SERVICE}"}} {{.Name}} {{.Image}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}-{{end}} {{.RestartCount}} {{.State.StartedAt}}' "$c")`,
    `  tag=$(docker image inspect --format '{{if .RepoTags}}{{index .RepoTags 0}}{{else}}{{.Id}}{{end}}' "$3" 2>/dev/null) || tag=$3`,
    '  echo "$1 ${2#/} $tag $4 $5 $6 $7"',
    "done | sort",
    ...backupStatusLines(s.backup),
    ...(s.certificate ? certificateStatusLines(s.certificate) : []),
    `root=$(docker info --format '{{.DockerRootDir}}')`,
    `echo "free disk: $(df -Pk "$root" | awk 'NR==2 { print int($4 / 1024) }') MiB on $root (Docker root)"`,
    `if [ -d "$dir" ]; then echo "free disk: $(df -Pk "$dir" | awk 'NR==2 { print int($4 / 1024) }') MiB on $dir (backups)"; fi`,
  );
}

export interface LogsOptions {
  /** `docker logs --since` (e.g. `10m`, `2026-11-30T10:00:00`). @default none */
  since?: string;
  follow?: boolean;
  /** @default 200 */
  tail?: number;
}

/** The service's logs (its serving container), as `docker logs` prints them. */
export function logsScript(id: StackIdentity, service: Service, o: LogsOptions = {}): string {
  const args = ["--tail", String(o.tail ?? 200), ...(o.since ? ["--since", o.since] : []), ...(o.follow ? ["--follow"] : [])];
  return lines(STRICT, ...findContainerLines(id, service), `exec docker logs ${args.map(shq).join(" ")} "$ctr"`);
}

/** Runs `argv` in the service's serving container (stdin passed through); every word quoted. */
export function execScript(id: StackIdentity, service: Service, argv: string[]): string {
  return lines(STRICT, ...findContainerLines(id, service), `exec docker exec -i "$ctr" ${argv.map(shq).join(" ")}`);
}

/** What `ops status --json` prints: {@link statusScript}'s report, parsed. */
export interface StatusReport {
  containers: { service: string; container: string; image: string; state: string; health: string; restarts: number; started: string }[];
  /** The newest verified backup, or null when the folder has none. */
  lastBackup: { file: string; bytes: number } | null;
  freeDisk: { path: string; mib: number; of: "docker-root" | "backups" }[];
  /** The newest off-host snapshot (with `backup.offsite`): its ID, time and age, or why there is none. */
  offsite?: { snapshot: string; time: string; ageHours: number; where: string } | { none: string };
  /** The served certificate (with `tls.acme`): when it expires, or why none is read. */
  certificate?: { expires: string; daysLeft: number; dueForRenewal: boolean } | { none: string };
}

/** Parses what {@link statusScript} printed; a line it does not know is an error naming it. */
export function parseStatus(stdout: string): StatusReport {
  const report: StatusReport = { containers: [], lastBackup: null, freeDisk: [] };
  for (const line of stdout.split("\n")) {
    let m: RegExpExecArray | null;
    if (!line || line === "SERVICE CONTAINER IMAGE STATE HEALTH RESTARTS STARTED") continue;
    if ((m = /^last verified backup: (\S+) \((\d+) bytes\)$/.exec(line))) report.lastBackup = { file: m[1], bytes: Number(m[2]) };
    else if (/^last verified backup: none in /.test(line)) report.lastBackup = null;
    else if ((m = /^off-host snapshot: ([0-9a-f]+) at (\S+) \((\d+) h old\) in (\S+)$/.exec(line)))
      report.offsite = { snapshot: m[1], time: m[2], ageHours: Number(m[3]), where: m[4] };
    else if ((m = /^off-host snapshot: (none .*)$/.exec(line))) report.offsite = { none: m[1] };
    else if ((m = /^certificate: expires (\S+) \((\d+) days left\)(, due for renewal)?$/.exec(line)))
      report.certificate = { expires: m[1], daysLeft: Number(m[2]), dueForRenewal: m[3] !== undefined };
    else if ((m = /^certificate: (.+)$/.exec(line))) report.certificate = { none: m[1] };
    else if ((m = /^free disk: (\d+) MiB on (.+) \((Docker root|backups)\)$/.exec(line)))
      report.freeDisk.push({ path: m[2], mib: Number(m[1]), of: m[3] === "backups" ? "backups" : "docker-root" });
    else if ((m = /^(\S+) (\S+) (\S+) (\S+) (\S+) (\d+) (\S+)$/.exec(line)))
      report.containers.push({ service: m[1], container: m[2], image: m[3], state: m[4], health: m[5], restarts: Number(m[6]), started: m[7] });
    else throw new Error(`ops status: an unexpected line from the host: ${JSON.stringify(line.slice(0, 120))}`);
  }
  return report;
}

export interface RestartSpec {
  /** Seconds to wait for the container's health check, then for `gateUrl`. */
  timeoutSeconds: number;
  intervalSeconds: number;
  /** An app's URL through the proxy (as its deploy gate polls it), checked once it is healthy. @default none */
  gateUrl?: string;
}

/**
 * Restarts the service's serving container and waits until its health check passes and, for an
 * app, until it answers 200 through the proxy. The service is down while it restarts (one
 * container serves it): a change without an outage is a `pulumi up`. On failure it says that the
 * container still gets the traffic and how to read its logs.
 */
export function restartScript(id: StackIdentity, service: Service, r: RestartSpec): string {
  const logs = `npm run ops -- ${id.stack} logs ${service}`;
  const fail = (why: string) =>
    `{ echo "restart: ${why}" >&2; echo ${shq(`restart: it is still the container the stack runs; its logs: ${logs}`)} >&2; exit 1; }`;
  return lines(
    STRICT,
    ...findContainerLines(id, service),
    'echo "restart: $ctr"',
    'docker restart -t 30 "$ctr" >/dev/null',
    `deadline=$(( $(date +%s) + ${r.timeoutSeconds} ))`,
    "while :; do",
    `  state=$(docker inspect --format '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$ctr" 2>&1) || ${fail("cannot inspect $ctr: $state")}`,
    '  case "$state" in',
    '    "running healthy"|"running none") break ;;',
    `    exited*|dead*) ${fail("$ctr stopped ($state)")} ;;`,
    "  esac",
    `  [ "$(date +%s)" -lt "$deadline" ] || ${fail(`$ctr is not healthy within ${r.timeoutSeconds}s ($state)`)}`,
    '  echo "restart: waiting for $ctr ($state)"',
    `  sleep ${r.intervalSeconds}`,
    "done",
    'echo "restart: $ctr is healthy"',
    ...(r.gateUrl
      ? [
          `url=${shq(r.gateUrl)}`,
          `until [ "$(curl -s${r.gateUrl.startsWith("https:") ? "k" : ""} -o /dev/null -w '%{http_code}' --max-time 4 "$url" || true)" = 200 ]; do`,
          `  [ "$(date +%s)" -lt "$deadline" ] || ${fail(`$url does not answer 200 through the proxy within ${r.timeoutSeconds}s`)}`,
          `  sleep ${r.intervalSeconds}`,
          "done",
          'echo "restart: $url answers 200 through the proxy"',
        ]
      : []),
  );
}

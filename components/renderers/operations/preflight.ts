/**
 * The pre-flight script, run on the host before any container changes. Pure.
 * It only reads; every problem is listed (port, owner, name, space) before it exits non-zero. It
 * holds the host lock, so another stack's pre-flight or route change on the host never interleaves.
 */
import { LABEL_PROJECT, LABEL_STACK, StackIdentity } from "../names";
import { HOST_LOCK, lines, shq, STRICT } from "../shell";

export interface PreflightSpec {
  identity: StackIdentity;
  /** Host ports the stack publishes. */
  ports: number[];
  /** Names the stack creates; one owned by another project or stack is a conflict. */
  containers: string[];
  volumes: string[];
  networks: string[];
  /** Minimum free space on the Docker root, in MiB. */
  minFreeMb: number;
  /** Commands the host's scripts need besides docker. @default ["curl", "tar", "sha256sum"] */
  tools?: string[];
  /**
   * Adopting a compose deployment: its ports are released at the cut-over (not a conflict), and the
   * volumes to take over must exist (reported with their driver and owner). @default none
   */
  adopt?: { composeProject: string; volumes: string[] };
}

const COMPOSE = "com.docker.compose.project";

/** `copilotos/staging`, the owner value the script compares labels against. */
const owner = (id: StackIdentity) => `${id.project}/${id.stack}`;

export function preflightScript(p: PreflightSpec): string {
  const me = shq(owner(p.identity));
  const fmt = `{{.Names}}|{{.Label "${LABEL_PROJECT}"}}/{{.Label "${LABEL_STACK}"}}|{{.Label "${COMPOSE}"}}`;
  const labelOf = (kind: "volume" | "network") =>
    `docker ${kind} inspect --format '{{index .Labels "${LABEL_PROJECT}"}}/{{index .Labels "${LABEL_STACK}"}}|{{index .Labels "${COMPOSE}"}}'`;
  return lines(
    STRICT,
    ...HOST_LOCK,
    "fail=0",
    "problem() { printf 'preflight: %s\\n' \"$*\" >&2; fail=1; }",
    'describe() { if [ -n "$2" ]; then echo "compose project $2"; elif [ "$1" = / ]; then echo \'no copilotos labels\'; else echo "stack $1"; fi; }',
    `if ! ver=$(docker version --format '{{.Server.Version}}' 2>&1); then printf 'preflight: docker does not answer on %s: %s\\n' "$(hostname)" "$(echo $ver)" >&2; exit 1; fi`,
    `echo "preflight: docker $ver on $(hostname)"`,
    ...(p.tools ?? ["curl", "tar", "sha256sum"]).map((t) => `command -v ${shq(t)} >/dev/null 2>&1 || problem ${shq(`${t} is not installed on the host`)}`),
    `for port in ${p.ports.join(" ")}; do`,
    "  held=no",
    `  for row in $(docker ps --filter "publish=$port" --format '${fmt}' | tr ' ' '_'); do`,
    "    held=yes",
    "    name=${row%%|*}; rest=${row#*|}; stack=${rest%%|*}; compose=${rest#*|}",
    ...(p.adopt
      ? [
          `    if [ "$compose" = ${shq(p.adopt.composeProject)} ]; then echo "preflight: port $port is held by $name of compose project $compose: released at the cut-over"; continue; fi`,
        ]
      : []),
    `    [ "$stack" = ${me} ] || problem "port $port is held by container $name ($(describe "$stack" "$compose"))"`,
    "  done",
    '  if [ "$held" = no ] && command -v ss >/dev/null 2>&1 && [ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]; then',
    '    problem "port $port is held by a process outside Docker"',
    "  fi",
    "done",
    ...oneItemLoop(p.containers),
    `for name in ${p.containers.map(shq).join(" ")}; do`,
    `  row=$(docker ps -a --filter "name=^/$name\\$" --format '${fmt}' | tr ' ' '_')`,
    '  [ -z "$row" ] && continue',
    "  rest=${row#*|}; stack=${rest%%|*}; compose=${rest#*|}",
    `  [ "$stack" = ${me} ] || problem "container $name already exists ($(describe "$stack" "$compose"))"`,
    "done",
    ...(["volume", "network"] as const).flatMap((kind) => [
      ...oneItemLoop(kind === "volume" ? p.volumes : p.networks),
      `for name in ${(kind === "volume" ? p.volumes : p.networks).map(shq).join(" ")}; do`,
      `  row=$(${labelOf(kind)} "$name" 2>/dev/null) || continue`,
      "  stack=${row%%|*}; compose=${row#*|}",
      `  [ "$stack" = ${me} ] || problem "${kind} $name already exists ($(describe "$stack" "$compose"))"`,
      "done",
    ]),
    ...(p.adopt
      ? [
          `for name in ${p.adopt.volumes.map(shq).join(" ")}; do`,
          `  if row=$(docker volume inspect --format '{{.Driver}} {{index .Labels "${COMPOSE}"}}' "$name" 2>/dev/null); then`,
          '    echo "preflight: taking over volume $name (driver ${row% *}, compose project ${row#* })"',
          "  else",
          '    problem "volume $name to take over does not exist (docker volume ls lists the volumes)"',
          "  fi",
          "done",
        ]
      : []),
    `root=$(docker info --format '{{.DockerRootDir}}')`,
    `free=$(df -Pk "$root" | awk 'NR==2 { print int($4 / 1024) }')`,
    `[ "$free" -ge ${p.minFreeMb} ] || problem "only $free MiB free on $root (the Docker root); need ${p.minFreeMb} MiB"`,
    "if [ \"$fail\" != 0 ]; then echo 'preflight: failed; nothing was changed' >&2; exit 1; fi",
    "echo 'preflight: ok'",
  );
}

/** A loop over one name is this stack's case, not a quoting slip: say so to shellcheck (SC2043). */
function oneItemLoop(items: string[]): string[] {
  return items.length === 1 ? ["# shellcheck disable=SC2043 # one name for this stack"] : [];
}

/**
 * The swarm's pre-flight, run on the manager before anything of the stack is created or changed
 * (the node labels, the network, the secrets, the services). Pure. Like the single host's
 * (components/renderers/operations/preflight.ts) it only reads and lists every problem before it
 * exits non-zero. Through the manager it checks:
 * - this engine answers and is a manager;
 * - each node of `host.nodes`: in the swarm, of the role the config says; the data node Ready and
 *   active (Mongo and Redis can run nowhere else); another node Down or drained is said, not a
 *   problem (its tasks run on the others, and a deploy is how an operator repairs a swarm);
 * - the stack's published ports: no other service of the swarm publishes one; on this node (when
 *   it is an edge node) no container of another stack and no process outside Docker holds one;
 * - the stack's service and network names: none belongs to another stack or to nothing;
 * - free space on the Docker root when this node is the data node (another node's disk is out of
 *   reach: said).
 */
import { LABEL_PROJECT, LABEL_STACK, StackIdentity } from "../names";
import { engineAnswers, lines, shq, STRICT } from "../shell";

export interface SwarmPreflightSpec {
  identity: StackIdentity;
  /** The nodes as `host.nodes` describes them. */
  nodes: { name: string; role: "manager" | "worker"; edge: boolean }[];
  dataNode: string;
  /** Host ports the edge proxies publish. */
  ports: number[];
  /** Service names the stack creates; one of another stack (or of none) is a conflict. */
  services: string[];
  network: string;
  /** Minimum free space on the data node's Docker root, in MiB. */
  minFreeMb: number;
  /** Commands the manager's scripts need besides docker (tar and sha256sum with backups on). @default [] */
  tools?: string[];
}

const owner = (id: StackIdentity) => `${id.project}/${id.stack}`;
const labelsOf = (path: string) => `{{index ${path} "${LABEL_PROJECT}"}}/{{index ${path} "${LABEL_STACK}"}}`;

export function swarmPreflightScript(p: SwarmPreflightSpec): string {
  const me = shq(owner(p.identity));
  const node = (n: SwarmPreflightSpec["nodes"][number]) => {
    const data = n.name === p.dataNode;
    return [
      `if ! row=$(docker node inspect --format '{{.Spec.Role}} {{.Status.State}} {{.Spec.Availability}}' ${shq(n.name)} 2>/dev/null); then`,
      `  problem ${shq(`node ${n.name} of host.nodes is not in this swarm (docker node ls; host.nodes names each node by its hostname)`)}`,
      "else",
      "  role=${row%% *}; state=${row#* }",
      `  [ "$role" = ${n.role} ] || problem "node ${n.name} is a $role, host.nodes says ${n.role}"`,
      data
        ? `  [ "$state" = 'ready active' ] || problem "node ${n.name}, the data node, is \${state% *} and \${state#* }: Mongo and Redis run nowhere else (docker node ls)"`
        : `  [ "$state" = 'ready active' ] || echo "preflight: node ${n.name} is \${state% *} and \${state#* }: its tasks run on the others meanwhile${n.edge ? ", and its proxy serves no one" : ""}"`,
      "fi",
    ];
  };
  return lines(
    STRICT,
    engineAnswers("preflight"),
    "fail=0",
    "problem() { printf 'preflight: %s\\n' \"$*\" >&2; fail=1; }",
    'describe() { if [ "$1" = / ]; then echo \'no copilotos labels\'; else echo "stack $1"; fi; }',
    `self=$(docker info --format '{{.Name}}')`,
    `if [ "$(docker info --format '{{.Swarm.ControlAvailable}}')" != true ]; then echo "preflight: the engine of $self is not a swarm manager; host.address must name a manager of the swarm (docker swarm init, then docker swarm join on the others)" >&2; exit 1; fi`,
    `echo "preflight: docker $(docker version --format '{{.Server.Version}}') on $self, a manager"`,
    ...(p.tools ?? []).map((t) => `command -v ${shq(t)} >/dev/null 2>&1 || problem ${shq(`${t} is not installed on the manager`)}`),
    ...p.nodes.flatMap(node),
    // Ports: other services first (the swarm would not place the proxy), then this node's own holders.
    `ours=$(docker service ls --filter ${shq(`label=${LABEL_PROJECT}=${p.identity.project}`)} --filter ${shq(`label=${LABEL_STACK}=${p.identity.stack}`)} -q | tr '\\n' ' ')`,
    "for svc in $(docker service ls -q); do",
    '  case " $ours " in *" $svc "*) continue ;; esac',
    `  published=" $(docker service inspect --format '{{range .Endpoint.Spec.Ports}}{{.PublishedPort}} {{end}}' "$svc") "`,
    `  for port in ${p.ports.join(" ")}; do`,
    `    case "$published" in *" $port "*) problem "port $port is published by service $(docker service inspect --format '{{.Spec.Name}}' "$svc") ($(describe "$(docker service inspect --format '${labelsOf(".Spec.Labels")}' "$svc")"))" ;; esac`,
    "  done",
    "done",
    `for port in ${p.ports.join(" ")}; do`,
    "  held=no",
    `  for row in $(docker ps --filter "publish=$port" --format '{{.Names}}|{{.Label "${LABEL_PROJECT}"}}/{{.Label "${LABEL_STACK}"}}' | tr ' ' '_'); do`,
    "    held=yes",
    `    [ "\${row#*|}" = ${me} ] || problem "port $port is held on $self by container \${row%%|*}"`,
    "  done",
    '  if [ "$held" = no ] && command -v ss >/dev/null 2>&1 && [ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]; then',
    '    problem "port $port is held on $self by a process outside Docker"',
    "  fi",
    "done",
    `for name in ${p.services.map(shq).join(" ")}; do`,
    `  row=$(docker service inspect --format '${labelsOf(".Spec.Labels")}' "$name" 2>/dev/null) || continue`,
    `  [ "$row" = ${me} ] || problem "service $name already exists ($(describe "$row"))"`,
    "done",
    `if row=$(docker network inspect --format '${labelsOf(".Labels")}' ${shq(p.network)} 2>/dev/null) && [ "$row" != ${me} ]; then`,
    `  problem "network ${p.network} already exists ($(describe "$row"))"`,
    "fi",
    `if [ "$self" = ${shq(p.dataNode)} ]; then`,
    `  root=$(docker info --format '{{.DockerRootDir}}')`,
    `  free=$(df -Pk "$root" | awk 'NR==2 { print int($4 / 1024) }')`,
    `  [ "$free" -ge ${p.minFreeMb} ] || problem "only $free MiB free on $root (the data node's Docker root); need ${p.minFreeMb} MiB"`,
    "else",
    `  echo ${shq(`preflight: the data node ${p.dataNode} is not this manager: its free space is not checked from here`)}`,
    "fi",
    "if [ \"$fail\" != 0 ]; then echo 'preflight: failed; nothing was changed' >&2; exit 1; fi",
    "echo 'preflight: ok'",
  );
}

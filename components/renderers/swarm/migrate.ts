/**
 * The migration step on a swarm (config `api.migrate`, the seeds' `make db-migrate`): a one-off task
 * of the new API image, as a `replicated-job` service on the stack's overlay network with the API's
 * env and its Docker secrets (the same hash-named ones, as the same files), run through the manager
 * after the backup and before the API's rolling update. The step waits for the task to end, prints
 * its output and removes the job; anything but `Complete` fails it, and the API's update never
 * starts: the old API keeps serving. Pure.
 */
import { labelFlags, labelMap, StackIdentity, stackPrefix } from "../names";
import { engineAnswers, lines, shq, STRICT } from "../shell";

export interface SwarmMigrateSpec {
  identity: StackIdentity;
  /** The new API image, by digest. */
  image: string;
  /** The stack's overlay network. */
  network: string;
  /** The API's env (no secret: those are files). */
  env: Record<string, string>;
  /** The API's Docker secrets: the secret's name and the file (under /run/secrets) the app reads. */
  secrets: { name: string; file: string }[];
  /** The command, one word an element: the first is the entrypoint. */
  command: string[];
  /** How long the task may run. @default 1800 */
  timeoutSeconds?: number;
}

/** The job's service: one at a time per stack (a leftover of a killed `up` is removed first). */
export const migrateJobName = (id: StackIdentity) => `${stackPrefix(id)}-api-migrate`;

export function swarmMigrateScript(m: SwarmMigrateSpec): string {
  const [entrypoint, ...args] = m.command;
  const cmd = m.command.join(" ");
  const timeout = m.timeoutSeconds ?? 1800;
  const flags = [
    ...labelFlags(labelMap(m.identity, "api")),
    ...Object.entries(m.env)
      .sort(([a], [b]) => a.localeCompare(b))
      .flatMap(([k, v]) => ["--env", `${k}=${v}`]),
    ...m.secrets.flatMap((s) => ["--secret", `source=${s.name},target=${s.file},mode=0444`]),
    "--entrypoint",
    entrypoint,
  ];
  return lines(
    STRICT,
    engineAnswers("migrate"),
    `svc=${shq(migrateJobName(m.identity))}`,
    `trap 'docker service rm "$svc" >/dev/null 2>&1 || true' EXIT`,
    "trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM",
    'docker service rm "$svc" >/dev/null 2>&1 || true',
    `echo ${shq(`migrate: running ${cmd} in a one-off task of the new API's image on the stack's network`)}`,
    `docker service create --detach --quiet --name "$svc" --mode replicated-job --restart-condition none --network ${shq(m.network)} ${flags.map(shq).join(" ")} ${shq(m.image)} ${args.map(shq).join(" ")} >/dev/null`,
    // Until the task ends (Complete, Failed, Rejected...), every 2 s.
    "n=0",
    `while state=$(docker service ps --format '{{.CurrentState}}' "$svc" | head -n 1) && case "$state" in Complete*|Failed*|Rejected*|Shutdown*|Orphaned*) false ;; *) true ;; esac; do`,
    `  n=$((n + 1)); if [ "$n" -gt ${Math.ceil(timeout / 2)} ]; then state="still \${state%% *} after ${timeout} s"; break; fi`,
    "  sleep 2",
    "done",
    'docker service logs --raw "$svc" 2>&1 || true',
    'case "$state" in',
    '  Complete*) echo "migrate: done" ;;',
    `  *) echo ${shq(`migrate: ${cmd} ended `)}"\${state:-without a task}"${shq(`; the API's update does not start and the old API keeps serving`)} >&2; exit 1 ;;`,
    "esac",
  );
}

/**
 * The migration step (the seeds' `make db-migrate`): a one-off container of the new API's image,
 * with its env, its network and its secret files, runs the configured command before the new API
 * gets any traffic. A failure fails the step: the route still leads to the old API. Pure.
 */
import { engineAnswers, lines, shq, STRICT } from "../shell";

export interface MigrateSpec {
  /** The new API container (created, not yet routed to): image, env, network and secrets come from it. */
  container: string;
  /** The command, one word an element (config `api.migrate`). */
  command: string[];
}

export function migrateScript(m: MigrateSpec): string {
  return lines(
    STRICT,
    "umask 077",
    engineAnswers("migrate"),
    `api=${shq(m.container)}; one="$api-migrate"`,
    'envf=$(mktemp); trap \'rm -f "$envf"; docker rm -f "$one" >/dev/null 2>&1 || true\' EXIT',
    "trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM",
    'docker rm -f "$one" >/dev/null 2>&1 || true',
    // The API's env (connection parts; its secrets are files) on the host for the moment, 0600.
    `docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$api" > "$envf"`,
    `net=$(docker inspect --format '{{range $k, $v := .NetworkSettings.Networks}}{{println $k}}{{end}}' "$api" | head -n 1)`,
    `image=$(docker inspect --format '{{.Image}}' "$api")`,
    `docker create --name "$one" --network "$net" --env-file "$envf" --entrypoint '' "$image" ${m.command.map(shq).join(" ")} >/dev/null`,
    // The secret files go container to container through a pipe: on no command line, in no file here.
    'docker cp "$api:/run" - | docker cp - "$one:/"',
    `echo ${shq(`migrate: running ${m.command.join(" ")} in a one-off container of the new API's image`)}`,
    'if ! docker start -a "$one"; then',
    `  echo ${shq(`migrate: ${m.command.join(" ")} failed; the new API gets no traffic and the old one keeps serving`)} >&2`,
    "  exit 1",
    "fi",
    'echo "migrate: done"',
  );
}

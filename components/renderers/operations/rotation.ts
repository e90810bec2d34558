/**
 * Mongo password rotation in place, run on the host before Mongo and the API get the new
 * password. Pure.
 *
 * `MONGO_INITDB_ROOT_*` only act when mongod initialises an empty data directory; once the volume
 * holds data, a new password in the container's env or files changes nothing in the database.
 * So the user's password is changed inside the running mongod, with `db.changeUserPassword`,
 * authenticated with the current password (the running container's own secret file). The new one
 * arrives on stdin, lands in a mode-0600 file inside the container for the moment mongosh reads
 * it, and is on no command line and in no log.
 */
import { COMPOSE_PROJECT_LABEL, COMPOSE_SERVICE_LABEL } from "./adopt";
import { SwarmMongo, swarmMongoLines } from "./backup";
import { localTask } from "../swarm/services";
import { engineAnswers, lines, shq, STRICT } from "../shell";
import { IN_CONTAINER, NEXT_PASSWORD_FILE, throwawayRekeyLines } from "./rekey";

export interface RotationSpec {
  /** The Mongo container (it may not exist yet). */
  container: string;
  /** Its data volume. */
  volume: string;
  /** The root user the stack configures (config `mongo.user`). */
  user: string;
  /** Adopting a compose deployment: while that project's Mongo runs, the stack takes its password as it is. @default none */
  compose?: { project: string; service: string };
  /** On a swarm: Mongo's service and data node; the change runs in its task there, found by label. @default one host */
  swarm?: SwarmMongo;
  /**
   * Mongo's image, on the host. On one host, data in the volume with no Mongo running (a new host
   * after `npm run restore -- --onto-new-host`, or Mongo stopped) gets the stack's password through a
   * throwaway mongod of it (./rekey.ts) instead of the step failing. @default none: refused
   */
  image?: string;
}

/**
 * Sets `$ctr` to the running Mongo container and `$running` to true or false. On one host the
 * stack's container, waited for while its restart policy brings it back; on a swarm the service's
 * task on the data node, waited for while the swarm (re)starts it. A swarm with no Mongo service
 * and no volume here is a first deploy: nothing to change, wherever the data node is.
 */
function findMongoLines(r: RotationSpec): string[] {
  if (!r.swarm)
    return [
      `ctr=${shq(r.container)}; vol=${shq(r.volume)}; want_user=${shq(r.user)}`,
      // A Mongo its restart policy is bringing back (it crashed, or was killed mid-rotation) is waited for.
      `state() { s=$(docker inspect --format '{{.State.Running}} {{.State.Restarting}}' "$ctr" 2>/dev/null) || s='false false'; echo "$s"; }`,
      "waited=0; while [ \"$(state)\" = 'false true' ] && [ $waited -lt 60 ]; do sleep 1; waited=$((waited + 1)); done",
      "running=$(state); running=${running%% *}",
    ];
  return [
    `svc=${shq(r.swarm.service)}; vol=${shq(r.volume)}; want_user=${shq(r.user)}`,
    'if ! docker service inspect "$svc" >/dev/null 2>&1 && ! docker volume inspect "$vol" >/dev/null 2>&1; then',
    "  cat >/dev/null",
    '  echo "rotate: no Mongo data yet; mongod sets the password when it initialises $vol"',
    "  exit 0",
    "fi",
    ...swarmMongoLines(r.swarm, "rotate", true),
    // A task the swarm is starting (or starting again) is waited for.
    `waited=0; while [ -z "$ctr" ] && docker service inspect "$svc" >/dev/null 2>&1 && [ $waited -lt 60 ]; do sleep 1; waited=$((waited + 1)); ctr=$(${localTask(r.swarm.service)}); done`,
    'if [ -n "$ctr" ]; then running=true; else running=false; fi',
  ];
}

/** Output markers the host script checks. */
export const ROTATED = "rotate: changed";
export const ALREADY_CURRENT = "rotate: already current";

/** mongosh code: log in with the new password (done already) or the current one, then change it. */
export function rotationJs(): string {
  return [
    'const fs = require("fs");',
    "const user = process.env.MONGO_INITDB_ROOT_USERNAME;",
    'const read = (f) => fs.readFileSync(f, "utf8").replace(/\\n+$/, "");',
    `const next = read("${NEXT_PASSWORD_FILE}");`,
    "const current = read(process.env.MONGO_INITDB_ROOT_PASSWORD_FILE);",
    'const admin = () => new Mongo("mongodb://127.0.0.1:27017/admin").getDB("admin");',
    "const login = (pw) => { try { return admin().auth(user, pw).ok === 1; } catch (e) { return false; } };",
    `if (login(next)) { print("${ALREADY_CURRENT}: " + user); quit(0); }`,
    'if (!login(current)) { print("rotate: neither the current nor the new password logs in as " + user); quit(2); }',
    "const a = admin(); a.auth(user, current); a.changeUserPassword(user, next);",
    'if (!login(next)) { print("rotate: the new password was not accepted for " + user); quit(3); }',
    `print("${ROTATED} the password of " + user);`,
  ].join(" ");
}

/**
 * MONGO_INITDB_ROOT_USERNAME, like the password, acts only on an empty volume: a new user name on
 * existing data would not exist in the database, and the API could not log in. Refused, from the
 * container's env (`$ctr`; none: nothing to compare), before anything changes.
 */
function userCheckLines(indent: string): string[] {
  return [
    `user=$(docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$ctr" 2>/dev/null | sed -n 's/^MONGO_INITDB_ROOT_USERNAME=//p')`,
    'if [ -n "$user" ] && [ "$user" != "$want_user" ]; then',
    "  cat >/dev/null",
    '  echo "rotate: mongo.user is $want_user, but the data in $vol was initialised for $user (MONGO_INITDB_ROOT_USERNAME acts only on an empty volume), so $want_user does not exist there and the API could not log in. Nothing was changed. Set it back: pulumi config set --path copilotos:mongo.user $user" >&2',
    "  exit 1",
    "fi",
  ].map((l) => indent + l);
}

/** Mongo not running, on one host, and the data there: the stack's password set through a throwaway mongod of `image`. */
function notRunningRekeyLines(image: string): string[] {
  const failed = (why: string) =>
    `echo "rotate: the data in $vol did not take the stack's Mongo password: ${why}. Nothing else was changed and Mongo was not started; pulumi up again retries it" >&2; exit 1`;
  return [
    '  if ! docker volume inspect "$vol" >/dev/null 2>&1; then',
    "    cat >/dev/null",
    '    echo "rotate: no Mongo data yet; mongod sets the password when it initialises $vol"',
    "    exit 0",
    "  fi",
    ...userCheckLines("  "),
    `  user=$want_user; image=${shq(image)}; rekey="$ctr-rotation"`,
    '  echo "rotate: $vol holds data and $ctr is not running (a new host, or Mongo stopped): giving the data the stack\'s Mongo password for $user (a throwaway mongod without auth or network)"',
    ...throwawayRekeyLines("", failed).map((l) => `  ${l}`),
    '  echo "rotate: the data in $vol accepts the stack\'s Mongo password for $user"',
    "  exit 0",
    "fi",
  ];
}

/** Mongo not running: nothing to change on an empty volume or under compose; data without a Mongo to change it in is refused. */
function notRunningLines(r: RotationSpec, mongo: string): string[] {
  // On one host with Mongo's image the data is re-keyed, so stdin stays unread until a branch that ends.
  const rekeyImage = r.swarm ? undefined : r.image;
  const compose = r.compose
    ? [
        `  if [ -n "$(docker ps --filter ${shq(`label=${COMPOSE_PROJECT_LABEL}=${r.compose.project}`)} --filter ${shq(`label=${COMPOSE_SERVICE_LABEL}=${r.compose.service}`)} -q)" ]; then`,
        ...(rekeyImage ? ["    cat >/dev/null"] : []),
        `    echo ${shq(`rotate: Mongo runs under compose project ${r.compose.project}; the stack takes its password as it is (mongoPassword); rotate after the cut-over`)}`,
        "    exit 0",
        "  fi",
      ]
    : [];
  if (rekeyImage) return ['if [ "$running" != true ]; then', ...compose, ...notRunningRekeyLines(rekeyImage)];
  return [
    'if [ "$running" != true ]; then',
    "  cat >/dev/null",
    ...compose,
    '  if docker volume inspect "$vol" >/dev/null 2>&1; then',
    `    echo "rotate: $vol holds data but ${mongo} is not running, so the password cannot be changed in place; start Mongo with its current password (pulumi up without the change), then rotate" >&2`,
    "    exit 1",
    "  fi",
    '  echo "rotate: no Mongo data yet; mongod sets the password when it initialises $vol"',
    "  exit 0",
    "fi",
  ];
}

/** The host script; stdin is the new password. */
export function rotationScript(r: RotationSpec): string {
  // What the messages call Mongo: its container on one host, its service's task on a swarm.
  const mongo = r.swarm ? "the task of $svc" : "$ctr";
  return lines(
    STRICT,
    engineAnswers("rotate"),
    ...findMongoLines(r),
    ...notRunningLines(r, mongo),
    ...userCheckLines(""),
    `started=$(docker inspect --format '{{.State.StartedAt}}' "$ctr")`,
    `out=$(docker exec -i "$ctr" sh -c ${shq(IN_CONTAINER)} sh ${shq(rotationJs())} 2>&1) && rc=0 || rc=$?`,
    `case "$out" in *${shq(ROTATED)}*|*${shq(ALREADY_CURRENT)}*) printf '%s\\n' "$out"; exit 0 ;; esac`,
    "printf '%s\\n' \"$out\" >&2",
    // Stopped mid-change, Mongo holds the old or the new password (a change is atomic); the re-run tries both.
    'case "$out" in *"rotate: neither"*|*"rotate: the new password"*) ;; *)',
    // mongosh killed with its container (status 128+signal), or the container restarted since.
    "  sleep 1",
    `  if [ "$rc" -ge 128 ] || [ "$(docker inspect --format '{{.State.Running}} {{.State.StartedAt}}' "$ctr" 2>/dev/null || true)" != "true $started" ]; then`,
    `    echo "rotate: Mongo in ${mongo} stopped during the change, so it holds either its current or the new password; nothing else was changed. Run pulumi up again once ${mongo} runs: the rotation logs in with either password and finishes" >&2`,
    "    exit 1",
    "  fi ;;",
    "esac",
    `echo "rotate: the password of Mongo in ${mongo} was not changed; nothing else was" >&2`,
    "exit 1",
  );
}

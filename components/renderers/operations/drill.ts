/**
 * A restore drill: the newest backup (or a named one) goes through every check a restore makes,
 * is unpacked into a scratch volume, and a throwaway mongod of the stack's image (no network, no
 * auth) must start on it and list its databases. The live container and volume are never touched;
 * the scratch container and volume are removed however the drill ends. Pure.
 */
import { LIST_DATABASES_JS, NAMES_IN_DIR, SwarmMongo, swarmMongoLines, tarImage } from "./backup";
import { archiveCheckLines } from "./restore";
import { backupNamePattern } from "../names";
import { engineAnswers, EXIT_ON_SIGNALS, hostPath, lines, shq, STRICT } from "../shell";

export interface DrillSpec {
  /** The stack's Mongo container (only its image is used). */
  container: string;
  dir: string;
  prefix: string;
  /** Image for the scratch mongod when the container is gone. */
  image: string;
  /** A backup file name; newest when unset. @default the newest */
  file?: string;
  /** Seconds the scratch mongod may take to answer. @default 60 */
  timeoutSeconds?: number;
  /** On a swarm: the image is that of Mongo's running task on this data node (found by label). @default one host */
  swarm?: SwarmMongo;
}

/** The drill's last line when it passed. */
export const DRILL_PASSED = "drill: passed";

export function drillScript(d: DrillSpec): string {
  if (d.file !== undefined && !new RegExp(backupNamePattern(d.prefix)).test(d.file)) {
    throw new Error(`"${d.file}" is not a backup of this stack (${d.prefix}-<UTC stamp>.tar)`);
  }
  const refuse = (why: string) => `{ echo "drill: FAILED: $name ${why}" >&2; exit 1; }`;
  const timeout = d.timeoutSeconds ?? 60;
  return lines(
    STRICT,
    "umask 077",
    engineAnswers("drill"),
    `ctr=${shq(d.container)}; dir=${hostPath(d.dir)}`,
    ...(d.swarm ? [...swarmMongoLines(d.swarm, "drill"), `[ -n "$ctr" ] || ctr=${shq(d.container)}`] : []),
    d.file !== undefined ? `name=${shq(d.file)}` : `name=$(${NAMES_IN_DIR} | grep -E ${shq(backupNamePattern(d.prefix))} | sort -r | head -n 1 || true)`,
    `if [ -z "$name" ]; then echo "drill: no backup of this stack in $dir to drill with" >&2; exit 1; fi`,
    ...archiveCheckLines("drill", refuse),
    tarImage(d.image),
    'scratch="$ctr-drill-$$"',
    'cleanup() { docker rm -f "$scratch" >/dev/null 2>&1 || true; docker volume rm "$scratch" >/dev/null 2>&1 || true; }',
    "trap cleanup EXIT",
    EXIT_ON_SIGNALS,
    'docker volume create --label copilotos.drill=true "$scratch" >/dev/null',
    'echo "drill: $name passed its checks (sha256 $sum); unpacking it into the scratch volume $scratch"',
    `docker run --rm -i --network none -v "$scratch":/data --entrypoint tar "$image" -xf - -C /data < "$f" || ${refuse("did not unpack")}`,
    `docker run -d --name "$scratch" --network none -v "$scratch":/data/db "$image" mongod --noauth --bind_ip 127.0.0.1 >/dev/null || ${refuse("could not be served: a scratch mongod did not start")}`,
    "tries=0",
    `until [ "$(docker exec "$scratch" mongosh --quiet --norc --eval 'db.runCommand({ ping: 1 }).ok' 2>/dev/null)" = 1 ]; do`,
    `  tries=$((tries + 1)); [ "$tries" -lt ${timeout} ] || ${refuse(`was not served: mongod on it did not answer within ${timeout}s`)}`,
    "  sleep 1",
    "done",
    `dbs=$(docker exec "$scratch" mongosh --quiet --norc --eval ${shq(LIST_DATABASES_JS)}) || ${refuse("was served, but listing its databases failed")}`,
    `[ -n "$dbs" ] || ${refuse("was served, but holds no database")}`,
    `echo "${DRILL_PASSED}: $name restored into a scratch volume and served by mongod; databases: $dbs. The live data was not touched; the scratch volume is removed"`,
  );
}

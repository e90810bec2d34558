/**
 * Giving Mongo's data a password without knowing the one it holds: a throwaway mongod of the stack's
 * image runs on the volume without auth and without a network, the password arrives on a pipe into a
 * 0600 file inside it (on no command line, in no file on the host), `changeUserPassword` sets it, and
 * the throwaway stops cleanly (its journal flushed) before the stack's Mongo starts on the volume.
 * A restore uses it (an archive holds the password it was backed up with), and so does the rotation
 * when the data is there but no Mongo runs (a new host, after `npm run restore -- --onto-new-host`).
 * Pure.
 */
import { shq } from "../shell";

/** Where a new password waits inside a Mongo container while mongosh runs (the rotation's and the re-key's). */
export const NEXT_PASSWORD_FILE = "/tmp/.copilotos-next-password";

/** Runs inside the container: the new password from stdin into a private file, mongosh (code in `$1`), cleanup. */
export const IN_CONTAINER = `umask 077; trap "rm -f ${NEXT_PASSWORD_FILE}" EXIT; cat > ${NEXT_PASSWORD_FILE}; mongosh --quiet --norc --eval "$1"`;

/** What mongosh prints when the data took the password. */
export const REKEYED = "rekeyed";

/** mongosh code, against a mongod without auth: sets the user's password to the one in the private file. */
export function rekeyJs(): string {
  return [
    'const fs = require("fs");',
    "const user = process.env.COPILOTOS_MONGO_USER;",
    `const pw = fs.readFileSync("${NEXT_PASSWORD_FILE}", "utf8").replace(/\\n+$/, "");`,
    'db.getSiblingDB("admin").changeUserPassword(user, pw);',
    `print("${REKEYED} " + user);`,
  ].join(" ");
}

/**
 * The throwaway mongod `$rekey` on `$vol` from `$image`, `$user`'s password set to what `feed` writes
 * (a command and `|`; "" reads the script's own stdin), the throwaway gone after. `failed(why)` ends
 * the script; every failure removes the throwaway first.
 */
export function throwawayRekeyLines(feed: string, failed: (why: string) => string): string[] {
  const fail = (why: string) => `{ docker rm -f "$rekey" >/dev/null 2>&1 || true; ${failed(why)}; }`;
  return [
    'docker rm -f "$rekey" >/dev/null 2>&1 || true',
    `docker run -d --name "$rekey" --network none -e "COPILOTOS_MONGO_USER=$user" -v "$vol":/data/db "$image" mongod --noauth --bind_ip 127.0.0.1 >/dev/null || ${fail("a throwaway mongod did not start")}`,
    "tries=0",
    `until [ "$(docker exec "$rekey" mongosh --quiet --norc --eval 'db.runCommand({ ping: 1 }).ok' 2>/dev/null)" = 1 ]; do`,
    `  tries=$((tries + 1)); [ "$tries" -lt 60 ] || ${fail("the throwaway mongod did not answer within 60s")}`,
    "  sleep 1",
    "done",
    `out=$(${feed}docker exec -i "$rekey" sh -c ${shq(IN_CONTAINER)} sh ${shq(rekeyJs())} 2>&1) || true`,
    `case "$out" in *${shq(REKEYED)}*) ;; *) printf '%s\\n' "$out" >&2; ${fail("its password could not be set to the stack's")} ;; esac`,
    'docker stop -t 60 "$rekey" >/dev/null || true; docker rm -f "$rekey" >/dev/null 2>&1 || true',
  ];
}

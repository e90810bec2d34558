/**
 * The throwaway mongod's lines exactly as a restore and the rotation must print them
 * (components/renderers/operations/rekey.ts), for the exact-string tests of both: written out here
 * once, not derived from the renderer.
 */
import { IN_CONTAINER, rekeyJs } from "../../components/renderers/operations/rekey";
import { shq } from "../../components/renderers/shell";

/** Indented by `indent`; `feed` pipes the password in ("" for the script's stdin); `failed(why)` the whole failure block, braces included. */
export function expectedRekeyLines(indent: string, feed: string, failed: (why: string) => string): string[] {
  return [
    'docker rm -f "$rekey" >/dev/null 2>&1 || true',
    `docker run -d --name "$rekey" --network none -e "COPILOTOS_MONGO_USER=$user" -v "$vol":/data/db "$image" mongod --noauth --bind_ip 127.0.0.1 >/dev/null || ${failed("a throwaway mongod did not start")}`,
    "tries=0",
    `until [ "$(docker exec "$rekey" mongosh --quiet --norc --eval 'db.runCommand({ ping: 1 }).ok' 2>/dev/null)" = 1 ]; do`,
    `  tries=$((tries + 1)); [ "$tries" -lt 60 ] || ${failed("the throwaway mongod did not answer within 60s")}`,
    "  sleep 1",
    "done",
    `out=$(${feed}docker exec -i "$rekey" sh -c ${shq(IN_CONTAINER)} sh ${shq(rekeyJs())} 2>&1) || true`,
    `case "$out" in *rekeyed*) ;; *) printf '%s\\n' "$out" >&2; ${failed("its password could not be set to the stack's")} ;; esac`,
    'docker stop -t 60 "$rekey" >/dev/null || true; docker rm -f "$rekey" >/dev/null 2>&1 || true',
  ].map((l) => indent + l);
}

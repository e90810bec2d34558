/**
 * Stand-in images for the stack's services that keep the app's contract (the real images cannot be
 * pulled or built here: no registry, no MongoDB package, no network for pip/pnpm):
 * - api (Python, like the app): loads its secrets by copilotos-bridge's rules (apps/api/src/core/secrets.py: /run/secrets/<NAME>
 *   or <name>, then env, then /etc/copilotos/secrets/<name>); with NODE_ENV=production it stops at
 *   start without MONGODB_PASSWORD/JWT_SECRET_KEY/SECRET_KEY; builds its Mongo and Redis logins from
 *   MONGODB_USER/HOST/PORT and REDIS_HOST/PORT plus the secrets; `/api/health/ready` answers 503
 *   while Mongo refuses it (logging "Authentication failed.", as pymongo does), `/api/health` 200
 *   "degraded". It has curl (the app's image does) for its health check; it logs in to real Redis.
 *   Like the app's middleware, it answers 400 "Invalid host header" to a Host not in ALLOWED_HOSTS
 *   and lets only CORS_ORIGINS call it from a browser (main.py, core/config.py; same defaults).
 * - mongo: credentials fixed at first init in its volume from MONGO_INITDB_* (as mongod's are); a
 *   `mongosh` that answers ping, fsyncLock/Unlock and changeUserPassword against those credentials,
 *   and a `mongod --noauth` under which it sets a password without one (a restore's re-key).
 * - redis: Debian's real redis-server on the uploaded config.
 * - proxy: Debian's real nginx.  - web: busybox httpd on :3000.
 */
import { binaryFiles, busyboxImage, nginxImage } from "./testImages";

export const STANDIN_TAGS = {
  api: "cpt-standin/api:1",
  web: "cpt-standin/web:1",
  mongo: "cpt-standin/mongo:1",
  redis: "cpt-standin/redis:1",
  proxy: "cpt-standin/nginx:1",
} as const;

const PASSWD = "root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
/** PID 1 that runs `$@` in the background and exits on SIGTERM, as the real servers do. */
const SERVE = (cmd: string) => ["sh", "-c", `${cmd} & pid=$!; trap 'kill $pid; exit 0' TERM; wait $pid`];

/**
 * The API stand-in, in Python like the app: its secret loader and readiness rules, a threaded HTTP
 * server on :8001, and test endpoints (auth report, upload, server-sent events).
 */
export const API_PY = String.raw`import json, os, socket, sys, threading, time, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

def log(msg):
    print(msg, flush=True)

def secret(name):  # apps/api/src/core/secrets.py: docker secret (NAME, name), env, /etc/copilotos/secrets/name
    for f in ("/run/secrets/" + name, "/run/secrets/" + name.lower()):
        if os.path.exists(f):
            v = open(f).read().strip()
            if v:
                return v
    if os.environ.get(name):
        return os.environ[name]
    f = "/etc/copilotos/secrets/" + name.lower()
    if os.path.exists(f) and not (os.stat(f).st_mode & 0o077):
        return open(f).read().strip()
    return None

WEAK = {"password", "123456", "admin", "secret", "test", "demo", "change_me", "changeme", "default", "temp", "temporary"}
for name, minimum in (("MONGODB_PASSWORD", 12), ("JWT_SECRET_KEY", 32), ("SECRET_KEY", 32)):
    v = secret(name)
    problem = None
    if not v:
        problem = "Required secret '%s' not found in any source" % name
    elif len(v) < minimum:
        problem = "Secret '%s' too short (minimum %d characters)" % (name, minimum)
    elif v.lower() in WEAK:
        problem = "Secret '%s' uses a weak/default value" % name
    if problem:
        log("Critical secret validation failed: " + problem)
        if os.environ.get("NODE_ENV") == "production":
            sys.exit(1)

MONGO = (os.environ.get("MONGODB_USER", "copilotos_user"), secret("MONGODB_PASSWORD") or "",
         os.environ.get("MONGODB_HOST", "mongodb"), os.environ.get("MONGODB_PORT", "27017"))
REDIS = (secret("REDIS_PASSWORD") or "", os.environ.get("REDIS_HOST", "redis"), int(os.environ.get("REDIS_PORT", "6379")))
VERSION = os.environ.get("STANDIN_VERSION", "1")

def mongo_ok():
    user, password, host, port = MONGO
    try:
        body = ("%s:%s" % (user, password)).encode()
        with urllib.request.urlopen("http://%s:%s/cgi-bin/auth" % (host, port), data=body, timeout=3) as r:
            return r.read().decode().strip() == "ok"
    except Exception:
        return False

def mongo_notes(note):  # the notes collection through Mongo, logged in: its lines, or None when Mongo refused
    user, password, host, port = MONGO
    try:
        body = ("%s:%s\n%s" % (user, password, note)).encode()
        with urllib.request.urlopen("http://%s:%s/cgi-bin/notes" % (host, port), data=body, timeout=3) as r:
            lines = r.read().decode().splitlines()
        return None if lines[:1] == ["denied"] else lines
    except Exception:
        return None

def redis_ok():
    password, host, port = REDIS
    try:
        with socket.create_connection((host, port), timeout=3) as s:
            s.sendall(("*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n*1\r\n$4\r\nPING\r\n" % (len(password), password)).encode())
            data = b""
            while data.count(b"\r\n") < 2:
                chunk = s.recv(256)
                if not chunk:
                    break
                data += chunk
            return data.startswith(b"+OK") and b"+PONG" in data
    except Exception:
        return False

def env_list(name, default):  # core/config.py: a JSON list, else comma-separated; unset, the app's default
    v = os.environ.get(name, "")
    if not v:
        return default
    try:
        parsed = json.loads(v)
        if isinstance(parsed, list):
            return parsed
    except ValueError:
        pass
    return [x.strip() for x in v.split(",") if x.strip()]

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "testserver"])
CORS_ORIGINS = env_list("CORS_ORIGINS", ["http://localhost:3000"])

def host_allowed(header):  # Starlette's TrustedHostMiddleware: the Host without its port, "*" and "*.domain"
    host = (header or "").split(":")[0]
    return any(p == "*" or host == p or (p.startswith("*.") and host.endswith(p[1:])) for p in ALLOWED_HOSTS)

IN_FLIGHT = [0]
IN_FLIGHT_LOCK = threading.Lock()

def counted(handle):  # requests being answered: a stop waits for them, as uvicorn's graceful shutdown does
    def run(self):
        with IN_FLIGHT_LOCK:
            IN_FLIGHT[0] += 1
        try:
            return handle(self)
        finally:
            with IN_FLIGHT_LOCK:
                IN_FLIGHT[0] -= 1
    return run

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, obj):
        body = json.dumps(obj, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        origin = self.headers.get("Origin")
        if origin and ("*" in CORS_ORIGINS or origin in CORS_ORIGINS):  # Starlette's CORSMiddleware, credentials allowed
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Allow-Credentials", "true")
            self.send_header("Vary", "Origin")
        self.end_headers()
        self.wfile.write(body)

    def refused_host(self):
        if host_allowed(self.headers.get("Host")):
            return False
        body = b"Invalid host header"
        self.send_response(400)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return True

    @counted
    def do_GET(self):
        if self.refused_host():
            return
        path = self.path.split("?")[0]
        if path == "/api/health/live":
            return self.reply(200, {"status": "alive"})
        if path == "/api/health/ready":
            if os.environ.get("STANDIN_FAIL_READY"):
                return self.reply(503, {"detail": "never ready on purpose"})  # a test switch: a new version that never gets ready
            if os.path.exists("/tmp/not-ready"):
                return self.reply(503, {"detail": "held not ready"})  # a test switch: not ready to anyone while the file exists
            if (os.environ.get("STANDIN_FAIL_PROXIED") or os.path.exists("/tmp/fail-proxied")) and self.headers.get("X-Real-IP"):
                return self.reply(503, {"detail": "failing on purpose"})  # a test switch: fails only through the proxy (the file: for as long as it exists)
            if mongo_ok():
                return self.reply(200, {"status": "ready"})
            log("Readiness check failed error='Authentication failed.'")
            return self.reply(503, {"detail": "Service not ready"})
        if path == "/api/health":
            return self.reply(200, {"status": "healthy" if mongo_ok() else "degraded"})
        if path == "/api/standin/auth":
            return self.reply(200, {"mongo": "ok" if mongo_ok() else "refused", "redis": "ok" if redis_ok() else "refused", "version": VERSION})
        if path == "/api/standin/notes":  # the data a recovery must bring back, read through the API
            notes = mongo_notes("")
            return self.reply(200, {"notes": notes}) if notes is not None else self.reply(503, {"detail": "Authentication failed."})
        if path == "/api/stream":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            for i in range(1, 6):
                self.wfile.write(('data: {"event":%d}\n\n' % i).encode())
                self.wfile.flush()
                time.sleep(1)
            self.close_connection = True
            return
        return self.reply(404, {"detail": "Not Found"})

    @counted
    def do_POST(self):
        if self.refused_host():
            return
        if self.path == "/api/upload":
            left, n = int(self.headers.get("Content-Length", "0")), 0
            while left > 0:
                chunk = self.rfile.read(min(left, 65536))
                if not chunk:
                    break
                n += len(chunk)
                left -= len(chunk)
            return self.reply(200, {"bytes": n})
        if self.path == "/api/standin/notes":  # one note (the body, one line) written through Mongo
            note = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode().replace("\n", " ").strip()
            notes = mongo_notes(note) if note else None
            return self.reply(200, {"notes": notes}) if notes is not None else self.reply(503, {"detail": "not written"})
        return self.reply(404, {"detail": "Not Found"})

PORT = int(os.environ.get("PORT", "8001"))
log("api stand-in: secrets loaded; listening on :%d (version %s)" % (PORT, VERSION))
server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
server.daemon_threads = True
threading.Thread(target=server.serve_forever, daemon=True).start()
import signal
# Blocked first: as PID 1 a signal with its default action would be dropped, and stop would wait its full timeout.
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
signal.sigwait([signal.SIGTERM, signal.SIGINT])
# As uvicorn on SIGTERM: stop accepting, finish the requests in flight (10 s at most), drop idle connections.
server.shutdown()
server.server_close()
deadline = time.time() + 10
while IN_FLIGHT[0] and time.time() < deadline:
    time.sleep(0.05)
`;

/** Files of the API stand-in image: Python from this machine, curl for the app's health check. */
const apiImageSpec = (version: string) => ({
  files: { "/app/api.py": API_PY, "/etc/passwd": PASSWD },
  hostFiles: binaryFiles("/usr/bin/python3.11", "curl"),
  hostDirs: ["/usr/lib/python3.11"],
  env: ["PATH=/bin:/usr/bin", `STANDIN_VERSION=${version}`, "PYTHONDONTWRITEBYTECODE=1"],
  cmd: ["/usr/bin/python3.11", "/app/api.py"],
});

const MONGO_START = String.raw`#!/bin/sh
db=/data/db
if [ ! -f "$db/.users" ]; then
  # Like mongod: MONGO_INITDB_* act only when the data directory is empty.
  # The password from its file (the stack), or from MONGO_INITDB_ROOT_PASSWORD (a compose deployment).
  printf '%s:%s\n' "$MONGO_INITDB_ROOT_USERNAME" "${"$"}{MONGO_INITDB_ROOT_PASSWORD:-$(cat "$MONGO_INITDB_ROOT_PASSWORD_FILE")}" > "$db/.users"
  : > "$db/_mdb_catalog.wt"
  echo "mongo stand-in: initialised $db for $MONGO_INITDB_ROOT_USERNAME"
fi
echo "mongo stand-in: listening on :27017"
exec httpd -f -p 27017 -h /mongo
`;

/** `user:password` in the POST body → ok, or denied (and a log line, as mongod logs a failed auth). */
const MONGO_AUTH = String.raw`#!/bin/sh
body=$(head -c "${"$"}{CONTENT_LENGTH:-0}")
printf 'Content-Type: text/plain\r\n\r\n'
if grep -qxF -- "$body" /data/db/.users; then echo ok; else echo "Authentication failed: ${"$"}{body%%:*}" >&2; echo denied; fi
`;

/** `user:password`, a newline, a note (or nothing) → the note appended to the notes collection, then all of it; or denied. */
const MONGO_NOTES = String.raw`#!/bin/sh
body=$(head -c "${"$"}{CONTENT_LENGTH:-0}")
printf 'Content-Type: text/plain\r\n\r\n'
grep -qxF -- "$(printf '%s\n' "$body" | head -n 1)" /data/db/.users || { echo denied; exit 0; }
note=$(printf '%s\n' "$body" | sed -n '2p')
[ -z "$note" ] || printf '%s\n' "$note" >> /data/db/collection-notes.wt
cat /data/db/collection-notes.wt 2>/dev/null || true
`;

/** What a test's migration asks Mongo (test/support/convergeMatrix.ts): `ok` once the test has healed its cause, else `no`. */
const MONGO_MIGRATE = String.raw`#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
if [ -e /tmp/migrate-ok ]; then echo ok; else echo no; fi
`;

/** Enough of mongosh for the stack's scripts: ping, fsyncLock/Unlock (backup), changeUserPassword (rotation), listDatabases (drill). */
const MONGOSH = String.raw`#!/bin/sh
users=/data/db/.users; user=$MONGO_INITDB_ROOT_USERNAME
stored=$(sed -n "s/^$user://p" "$users" 2>/dev/null)
case "$*" in
  *ping*) echo 1 ;;
  *listDatabases*) # a drill: the "databases" are the .wt files beside the catalog
    printf 'admin'; for f in /data/db/*.wt; do n=${"$"}{f##*/}; case $n in _mdb_catalog.wt|"*.wt") ;; *) printf ' %s' "${"$"}{n%.wt}" ;; esac; done; echo ;;
  *fsyncUnlock*) rm -f /tmp/locked; echo unlock >> /tmp/mongosh.log ;;
  *fsyncLock*) [ "$stored" = "${"$"}{MONGO_INITDB_ROOT_PASSWORD:-$(cat "$MONGO_INITDB_ROOT_PASSWORD_FILE")}" ] || { echo "MongoServerError: Authentication failed." >&2; exit 1; }
    touch /tmp/locked; echo lock >> /tmp/mongosh.log ;;
  *rekeyed*) # a restore's re-key, against the mongod below started with --noauth
    [ -e /tmp/noauth ] || { echo "MongoServerError: command updateUser requires authentication" >&2; exit 1; }
    grep -q "^$COPILOTOS_MONGO_USER:" "$users" || { echo "MongoServerError: User $COPILOTOS_MONGO_USER@admin not found" >&2; exit 1; }
    printf '%s:%s\n' "$COPILOTOS_MONGO_USER" "$(cat /tmp/.copilotos-next-password)" > "$users"; echo "rekeyed $COPILOTOS_MONGO_USER" ;;
  *changeUserPassword*)
    next=$(cat /tmp/.copilotos-next-password); current=$(cat "$MONGO_INITDB_ROOT_PASSWORD_FILE")
    if [ "$stored" = "$next" ]; then echo "rotate: already current: $user"
    elif [ "$stored" = "$current" ]; then printf '%s:%s\n' "$user" "$next" > "$users"
      # A fault test's switch: the change is made, then mongod dies before it answers (the container is killed meanwhile).
      if [ -e /tmp/slow-once ]; then rm -f /tmp/slow-once; touch /tmp/rotating; sleep 60; fi
      echo "rotate: changed the password of $user"
    else echo "rotate: neither the current nor the new password logs in as $user"; exit 2; fi ;;
  *) echo "mongosh stand-in: unsupported: $*" >&2; exit 1 ;;
esac
`;

/**
 * `mongod`: as the container's command (the stack sizes its cache: `mongod --wiredTigerCacheSizeGB N`)
 * it records its arguments and starts as the image does; for one-off runs (a restore's re-key) with
 * --noauth it serves without checking passwords.
 */
const MONGOD = String.raw`#!/bin/sh
case " $* " in
  *" --noauth "*) touch /tmp/noauth; httpd -f -p 27017 -h /mongo & pid=$! ;;
  *) echo "$*" > /tmp/mongod.args; /bin/mongod-start & pid=$! ;;
esac
trap 'kill $pid; exit 0' TERM
wait $pid
`;

/** Builds every stand-in in the engine `dockerArgs` name (`["-H", "unix://…"]`). */
export function buildStandins(dockerArgs: string[]): typeof STANDIN_TAGS {
  busyboxImage(dockerArgs, STANDIN_TAGS.api, apiImageSpec("1"));
  busyboxImage(dockerArgs, STANDIN_TAGS.mongo, {
    files: {
      "/bin/mongod-start": MONGO_START,
      "/bin/mongod": MONGOD,
      "/mongo/cgi-bin/auth": MONGO_AUTH,
      "/mongo/cgi-bin/migrate": MONGO_MIGRATE,
      "/mongo/cgi-bin/notes": MONGO_NOTES,
      "/bin/mongosh": MONGOSH,
    },
    dirs: ["/data/db"],
    cmd: SERVE("/bin/mongod-start"),
  });
  busyboxImage(dockerArgs, STANDIN_TAGS.redis, {
    hostFiles: binaryFiles("redis-server", "redis-cli"),
    dirs: ["/data", "/usr/local/etc/redis"],
    files: { "/etc/passwd": PASSWD },
    env: ["PATH=/bin:/usr/bin"],
    cmd: ["redis-server"],
    workdir: "/data",
  });
  busyboxImage(dockerArgs, STANDIN_TAGS.web, {
    files: { "/www/index.html": "<h1>copilotos web stand-in</h1>\n" },
    cmd: SERVE("httpd -f -p 3000 -h /www"),
  });
  nginxImage(dockerArgs, STANDIN_TAGS.proxy);
  return STANDIN_TAGS;
}

/** A second API version: the same stand-in reporting another version (a new image ID, so a replacement). */
export function apiVersion(dockerArgs: string[], tag: string, version: string): string {
  return busyboxImage(dockerArgs, tag, apiImageSpec(version));
}

/**
 * The zero-downtime and rotation renderers (components/renderers/{names,proxy,rotation}.ts): exact
 * text, no I/O. The proxy config and switch script run for real in test/e2e/swap.test.ts.
 */
import * as vm from "node:vm";
import { appContainerName, canonicalJson, fingerprint } from "../components/renderers/names";
import { PLACEHOLDER_ROUTE, proxyConf, proxyStartScript, routeLine, securityHeaders, switchScript } from "../components/renderers/proxy";
import { ALREADY_CURRENT, ROTATED, rotationJs, rotationScript } from "../components/renderers/operations/rotation";
import { NEXT_PASSWORD_FILE } from "../components/renderers/operations/rekey";
import { expectedRekeyLines } from "./support/rekeyExpected";
import { DEFAULT_MAINTENANCE_PAGE } from "../components/renderers/proxy/maintenance";

/** The host lock every route change and pre-flight takes, as written out (components/renderers/shell.ts HOST_LOCK). */
const HOST_LOCK_TEXT = [
  'lockdir="$HOME/.copilotos"; mkdir -p "$lockdir"; chmod 700 "$lockdir"',
  "command -v flock >/dev/null 2>&1 || { echo 'host lock: flock (util-linux) is not installed on the host; it keeps the steps of two stacks on one host from interleaving' >&2; exit 1; }",
  'exec 9>>"$lockdir/host.lock"',
  "if ! flock -n 9; then",
  '  echo "host lock: waiting for another copilotos step on this host to finish ($lockdir/host.lock)"',
  '  flock -w 300 9 || { echo "host lock: another copilotos step held $lockdir/host.lock for 300s; nothing was done. Run again when it has finished" >&2; exit 1; }',
  "fi",
];

const id = { project: "copilotos", stack: "staging" };
const text = (linesOf: string[]) => linesOf.join("\n") + "\n";

describe("app container names", () => {
  test("canonical JSON sorts keys at every level and keeps array order", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}');
  });

  test("the name is stack + service + an 8-hex suffix; the fingerprint (the suffix's keeper) changes with any value, not with key order", () => {
    const spec = { image: "api@sha256:aa", envs: ["A=1"], uploads: [{ file: "/run/secrets/x", content: "s3cret" }] };
    expect(appContainerName(id, "api", "1a2b3c4d")).toBe("copilotos-staging-api-1a2b3c4d");
    expect(appContainerName(id, "web", "00ff00ff")).toBe("copilotos-staging-web-00ff00ff");
    expect(() => appContainerName(id, "api", "x; rm -rf /")).toThrow('an app container\'s suffix is 8 hex digits, not "x; rm -rf /"');
    expect(fingerprint(spec)).toMatch(/^[0-9a-f]{8}$/);
    expect(fingerprint({ uploads: spec.uploads, envs: spec.envs, image: spec.image })).toBe(fingerprint(spec));
    expect(fingerprint({ ...spec, image: "api@sha256:bb" })).not.toBe(fingerprint(spec));
    expect(fingerprint({ ...spec, uploads: [{ file: "/run/secrets/x", content: "rotated" }] })).not.toBe(fingerprint(spec));
    expect(fingerprint(spec)).not.toContain("s3cret");
  });
});

describe("proxy config", () => {
  test("the proxy's start keeps the routes and the maintenance switch on its volume, fills in a missing one, and starts with none when the kept ones do not load", () => {
    expect(proxyStartScript()).toBe(
      [
        "[ -e /etc/nginx/copilotos/maintenance.conf ] || echo '# maintenance off' > /etc/nginx/copilotos/maintenance.conf",
        `[ -e /etc/nginx/copilotos/maintenance.html ] || printf '%s' '${DEFAULT_MAINTENANCE_PAGE}' > /etc/nginx/copilotos/maintenance.html`,
        'for f in /etc/nginx/copilotos/api.upstream /etc/nginx/copilotos/web.upstream; do [ -s "$f" ] || echo \'server 127.0.0.1:9 down;\' > "$f"; done',
        "if ! nginx -t -q; then",
        '  echo "proxy: the kept routes do not load (a routed container is gone); starting with none until the next route switch" >&2',
        "  for f in /etc/nginx/copilotos/api.upstream /etc/nginx/copilotos/web.upstream; do echo 'server 127.0.0.1:9 down;' > \"$f\"; done",
        "fi",
        "exec nginx -g 'daemon off;'",
        "",
      ].join("\n"),
    );
    expect(proxyStartScript()).toContain(PLACEHOLDER_ROUTE);
  });

  test("exact nginx.conf (plain HTTP): routes included per app, security headers but no HSTS, real client address, rate limit", () => {
    expect(proxyConf({ contentSecurityPolicy: "default-src 'self'", hsts: true, apiRateLimitPerSecond: 20, maxBodyMb: 100, apiReadTimeoutSeconds: 3600 })).toBe(
      text([
        "# Written by copilotos (components/renderers/proxy/); routes are switched in /etc/nginx/copilotos.",
        "worker_processes auto;",
        "worker_shutdown_timeout 10s;",
        "pid /tmp/nginx.pid;",
        "error_log /dev/stderr warn;",
        "events { worker_connections 1024; }",
        "http {",
        "  server_tokens off;",
        "  default_type application/octet-stream;",
        '  log_format main \'$remote_addr "$http_x_forwarded_for" [$time_local] "$request" $status $body_bytes_sent $request_time $upstream_addr "$http_user_agent"\';',
        "  access_log /dev/stdout main;",
        "  client_body_temp_path /tmp/nginx-client-body;",
        "  proxy_temp_path /tmp/nginx-proxy;",
        "  fastcgi_temp_path /tmp/nginx-fastcgi;",
        "  uwsgi_temp_path /tmp/nginx-uwsgi;",
        "  scgi_temp_path /tmp/nginx-scgi;",
        "  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }",
        "  limit_req_zone $binary_remote_addr zone=api:10m rate=20r/s;",
        "  upstream copilotos_api { include /etc/nginx/copilotos/api.upstream; keepalive 16; }",
        "  upstream copilotos_web { include /etc/nginx/copilotos/web.upstream; keepalive 16; }",
        "  server {",
        "    listen 8001;",
        "    client_max_body_size 100m;",
        '    add_header X-Content-Type-Options "nosniff" always;',
        '    add_header X-Frame-Options "DENY" always;',
        '    add_header Referrer-Policy "strict-origin-when-cross-origin" always;',
        '    add_header Permissions-Policy "camera=(), microphone=(), geolocation=()" always;',
        "    add_header Content-Security-Policy \"default-src 'self'\" always;",
        "    limit_req zone=api burst=40 nodelay;",
        "    limit_req_status 429;",
        "    error_page 503 /copilotos-maintenance.html;",
        "    location = /copilotos-maintenance.html {",
        "      root /etc/nginx/copilotos;",
        "      try_files /maintenance.html =503;",
        "      internal;",
        "    }",
        "    location / {",
        "      include /etc/nginx/copilotos/maintenance.conf;",
        "      proxy_pass http://copilotos_api;",
        "      proxy_set_header Host $host;",
        "      proxy_set_header X-Real-IP $remote_addr;",
        "      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "      proxy_set_header X-Forwarded-Proto $scheme;",
        "      proxy_set_header X-Forwarded-Host $host;",
        "      proxy_http_version 1.1;",
        "      proxy_set_header Upgrade $http_upgrade;",
        "      proxy_set_header Connection $connection_upgrade;",
        "      proxy_hide_header X-Powered-By;",
        "      proxy_buffering off;",
        "      proxy_cache off;",
        "      proxy_read_timeout 3600s;",
        "      proxy_send_timeout 3600s;",
        "    }",
        "  }",
        "  server {",
        "    listen 3000;",
        "    client_max_body_size 100m;",
        '    add_header X-Content-Type-Options "nosniff" always;',
        '    add_header X-Frame-Options "DENY" always;',
        '    add_header Referrer-Policy "strict-origin-when-cross-origin" always;',
        '    add_header Permissions-Policy "camera=(), microphone=(), geolocation=()" always;',
        "    add_header Content-Security-Policy \"default-src 'self'\" always;",
        "    error_page 503 /copilotos-maintenance.html;",
        "    location = /copilotos-maintenance.html {",
        "      root /etc/nginx/copilotos;",
        "      try_files /maintenance.html =503;",
        "      internal;",
        "    }",
        "    location / {",
        "      include /etc/nginx/copilotos/maintenance.conf;",
        "      proxy_pass http://copilotos_web;",
        "      proxy_set_header Host $host;",
        "      proxy_set_header X-Real-IP $remote_addr;",
        "      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "      proxy_set_header X-Forwarded-Proto $scheme;",
        "      proxy_set_header X-Forwarded-Host $host;",
        "      proxy_http_version 1.1;",
        "      proxy_set_header Upgrade $http_upgrade;",
        "      proxy_set_header Connection $connection_upgrade;",
        "      proxy_hide_header X-Powered-By;",
        "    }",
        "  }",
        "}",
      ]),
    );
  });

  test("no HSTS and no rate limit when turned off; quotes in a policy are escaped", () => {
    const conf = proxyConf({ contentSecurityPolicy: 'default-src "self"', hsts: false, apiRateLimitPerSecond: 0, maxBodyMb: 1, apiReadTimeoutSeconds: 60 });
    expect(conf).not.toContain("Strict-Transport-Security");
    expect(conf).not.toContain("limit_req");
    expect(conf).toContain('add_header Content-Security-Policy "default-src \\"self\\"" always;');
    expect(securityHeaders({ contentSecurityPolicy: "x", hsts: false, apiRateLimitPerSecond: 0, maxBodyMb: 1, apiReadTimeoutSeconds: 60 }, true)).toHaveLength(
      5,
    );
    expect(conf.match(/client_max_body_size 1m;/g)).toHaveLength(2);
    expect(conf).toContain("proxy_read_timeout 60s;");
  });

  test("with TLS: each app keeps its plain server for the stack network, gets an HTTPS server with HSTS, and a redirect server", () => {
    const spec = { contentSecurityPolicy: "x", hsts: true, apiRateLimitPerSecond: 0, maxBodyMb: 1, apiReadTimeoutSeconds: 60 };
    const conf = proxyConf({ ...spec, tls: { hostPorts: { api: 8443, web: 443 } } });
    const servers = conf.split("  server {\n").slice(1);
    expect(servers.map((b) => b.split("\n")[0].trim())).toEqual([
      "listen 8001;",
      "listen 8443 ssl;",
      "listen 8080;",
      "listen 3000;",
      "listen 3443 ssl;",
      "listen 3080;",
    ]);
    const hsts = 'add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;';
    expect(servers.map((b) => b.includes(hsts))).toEqual([false, true, false, false, true, false]);
    expect(servers[4]).toContain(
      text([
        "    listen 3443 ssl;",
        "    ssl_certificate /etc/nginx/tls/cert.pem;",
        "    ssl_certificate_key /etc/nginx/tls/key.pem;",
        "    ssl_protocols TLSv1.2 TLSv1.3;",
        "    ssl_session_cache shared:TLS:10m;",
        "    ssl_session_timeout 1d;",
        "    ssl_session_tickets off;",
        "    client_max_body_size 1m;",
      ]),
    );
    // The API's redirect keeps method and body (308); the web's drops the default port 443.
    expect(servers[2]).toBe(text(["    listen 8080;", "    return 308 https://$host:8443$request_uri;", "  }"]));
    expect(servers[5]).toBe(text(["    listen 3080;", "    return 301 https://$host$request_uri;", "  }", "}"]));
    // The HTTPS servers proxy like the plain ones, maintenance switch included.
    const body = (b: string) => b.slice(b.indexOf("    client_max_body_size")).replace(`    ${hsts}\n`, "");
    expect(body(servers[1])).toBe(body(servers[0]));
    expect(body(servers[1])).toContain("      include /etc/nginx/copilotos/maintenance.conf;\n      proxy_pass http://copilotos_api;");
    expect(securityHeaders(spec, false)).not.toContain(hsts);
    expect(securityHeaders(spec, true)).toContain(hsts);
  });

  test("route lines", () => {
    expect(routeLine("copilotos-staging-web-0a1b2c3d", 3000)).toBe("server copilotos-staging-web-0a1b2c3d:3000;");
    expect(PLACEHOLDER_ROUTE).toBe("server 127.0.0.1:9 down;");
  });

  test("exact switch script: unchanged route left alone, rejected route put back, old workers drained", () => {
    expect(switchScript({ proxy: "copilotos-staging-proxy", service: "api", container: "copilotos-staging-api-1a2b3c4d", port: 8001, drainSeconds: 15 })).toBe(
      text([
        "set -eu",
        ...HOST_LOCK_TEXT,
        "proxy=copilotos-staging-proxy; file=/etc/nginx/copilotos/api.upstream; want='server copilotos-staging-api-1a2b3c4d:8001;'",
        'current=$(docker exec "$proxy" cat "$file" 2>/dev/null || true)',
        'if [ "$current" = "$want" ]; then echo "proxy: api already routes to copilotos-staging-api-1a2b3c4d"; exit 0; fi',
        'old=$(docker exec "$proxy" sh -c \'for p in /proc/[0-9]*; do grep -q "worker process" "$p/cmdline" 2>/dev/null && echo "${p#/proc/}"; done; true\' sh)',
        'printf \'%s\\n\' "$want" | docker exec -i "$proxy" sh -c \'cat > "$1.next"\' sh "$file"',
        'if ! docker exec "$proxy" sh -c \'cp "$1" "$1.prev" && mv "$1.next" "$1" && nginx -t -q\' sh "$file"; then',
        '  docker exec "$proxy" sh -c \'mv "$1.prev" "$1"\' sh "$file" || true',
        '  echo "proxy: nginx rejected the route to copilotos-staging-api-1a2b3c4d; api still goes to its previous container" >&2',
        "  exit 1",
        "fi",
        "docker exec \"$proxy\" sh -c 'nginx -s reload' sh",
        "deadline=$(( $(date +%s) + 15 ))",
        'while [ -n "$old" ] && docker exec "$proxy" sh -c \'for p; do [ -d "/proc/$p" ] && exit 0; done; exit 1\' sh $old; do',
        '  if [ "$(date +%s)" -ge "$deadline" ]; then',
        '    echo "proxy: the workers that served the old route of api did not exit within 15s" >&2',
        "    exit 1",
        "  fi",
        "  sleep 0.2",
        "done",
        'echo "proxy: api now routes to copilotos-staging-api-1a2b3c4d (was: ${current:-nothing})"',
      ]),
    );
  });
});

describe("Mongo password rotation", () => {
  test("exact host script: new password on stdin, into a private file, never on a command line", () => {
    const script = rotationScript({ container: "copilotos-staging-mongo", volume: "copilotos-staging-mongo-data", user: "copilotos_user" });
    expect(script).toBe(
      text([
        "set -eu",
        "docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || { echo 'rotate: the Docker engine does not answer (docker version failed); nothing was done. Check that it runs and that DOCKER_HOST names it' >&2; exit 1; }",
        "ctr=copilotos-staging-mongo; vol=copilotos-staging-mongo-data; want_user=copilotos_user",
        "state() { s=$(docker inspect --format '{{.State.Running}} {{.State.Restarting}}' \"$ctr\" 2>/dev/null) || s='false false'; echo \"$s\"; }",
        "waited=0; while [ \"$(state)\" = 'false true' ] && [ $waited -lt 60 ]; do sleep 1; waited=$((waited + 1)); done",
        "running=$(state); running=${running%% *}",
        'if [ "$running" != true ]; then',
        "  cat >/dev/null",
        '  if docker volume inspect "$vol" >/dev/null 2>&1; then',
        '    echo "rotate: $vol holds data but $ctr is not running, so the password cannot be changed in place; start Mongo with its current password (pulumi up without the change), then rotate" >&2',
        "    exit 1",
        "  fi",
        '  echo "rotate: no Mongo data yet; mongod sets the password when it initialises $vol"',
        "  exit 0",
        "fi",
        "user=$(docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' \"$ctr\" 2>/dev/null | sed -n 's/^MONGO_INITDB_ROOT_USERNAME=//p')",
        'if [ -n "$user" ] && [ "$user" != "$want_user" ]; then',
        "  cat >/dev/null",
        '  echo "rotate: mongo.user is $want_user, but the data in $vol was initialised for $user (MONGO_INITDB_ROOT_USERNAME acts only on an empty volume), so $want_user does not exist there and the API could not log in. Nothing was changed. Set it back: pulumi config set --path copilotos:mongo.user $user" >&2',
        "  exit 1",
        "fi",
        "started=$(docker inspect --format '{{.State.StartedAt}}' \"$ctr\")",
        'out=$(docker exec -i "$ctr" sh -c \'umask 077; trap "rm -f /tmp/.copilotos-next-password" EXIT; cat > /tmp/.copilotos-next-password; mongosh --quiet --norc --eval "$1"\' sh \'const fs = require("fs"); const user = process.env.MONGO_INITDB_ROOT_USERNAME; const read = (f) => fs.readFileSync(f, "utf8").replace(/\\n+$/, ""); const next = read("/tmp/.copilotos-next-password"); const current = read(process.env.MONGO_INITDB_ROOT_PASSWORD_FILE); const admin = () => new Mongo("mongodb://127.0.0.1:27017/admin").getDB("admin"); const login = (pw) => { try { return admin().auth(user, pw).ok === 1; } catch (e) { return false; } }; if (login(next)) { print("rotate: already current: " + user); quit(0); } if (!login(current)) { print("rotate: neither the current nor the new password logs in as " + user); quit(2); } const a = admin(); a.auth(user, current); a.changeUserPassword(user, next); if (!login(next)) { print("rotate: the new password was not accepted for " + user); quit(3); } print("rotate: changed the password of " + user);\' 2>&1) && rc=0 || rc=$?',
        "case \"$out\" in *'rotate: changed'*|*'rotate: already current'*) printf '%s\\n' \"$out\"; exit 0 ;; esac",
        "printf '%s\\n' \"$out\" >&2",
        'case "$out" in *"rotate: neither"*|*"rotate: the new password"*) ;; *)',
        "  sleep 1",
        `  if [ "$rc" -ge 128 ] || [ "$(docker inspect --format '{{.State.Running}} {{.State.StartedAt}}' "$ctr" 2>/dev/null || true)" != "true $started" ]; then`,
        '    echo "rotate: Mongo in $ctr stopped during the change, so it holds either its current or the new password; nothing else was changed. Run pulumi up again once $ctr runs: the rotation logs in with either password and finishes" >&2',
        "    exit 1",
        "  fi ;;",
        "esac",
        'echo "rotate: the password of Mongo in $ctr was not changed; nothing else was" >&2',
        "exit 1",
      ]),
    );
  });

  test("exact lines, with Mongo's image on one host: data but no Mongo running gets the stack's password through a throwaway mongod, from the script's stdin", () => {
    const spec = { container: "copilotos-staging-mongo", volume: "copilotos-staging-mongo-data", user: "copilotos_user" };
    const script = rotationScript({ ...spec, image: "mongo@sha256:ab" });
    const failed = (why: string) =>
      `{ docker rm -f "$rekey" >/dev/null 2>&1 || true; echo "rotate: the data in $vol did not take the stack's Mongo password: ${why}. Nothing else was changed and Mongo was not started; pulumi up again retries it" >&2; exit 1; }`;
    const notRunning = [
      'if [ "$running" != true ]; then',
      '  if ! docker volume inspect "$vol" >/dev/null 2>&1; then',
      "    cat >/dev/null",
      '    echo "rotate: no Mongo data yet; mongod sets the password when it initialises $vol"',
      "    exit 0",
      "  fi",
      "  user=$(docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' \"$ctr\" 2>/dev/null | sed -n 's/^MONGO_INITDB_ROOT_USERNAME=//p')",
      '  if [ -n "$user" ] && [ "$user" != "$want_user" ]; then',
      "    cat >/dev/null",
      '    echo "rotate: mongo.user is $want_user, but the data in $vol was initialised for $user (MONGO_INITDB_ROOT_USERNAME acts only on an empty volume), so $want_user does not exist there and the API could not log in. Nothing was changed. Set it back: pulumi config set --path copilotos:mongo.user $user" >&2',
      "    exit 1",
      "  fi",
      '  user=$want_user; image=mongo@sha256:ab; rekey="$ctr-rotation"',
      '  echo "rotate: $vol holds data and $ctr is not running (a new host, or Mongo stopped): giving the data the stack\'s Mongo password for $user (a throwaway mongod without auth or network)"',
      ...expectedRekeyLines("  ", "", failed),
      '  echo "rotate: the data in $vol accepts the stack\'s Mongo password for $user"',
      "  exit 0",
      "fi",
    ];
    expect(script).toContain(`running=$(state); running=\${running%% *}\n${notRunning.join("\n")}\nuser=$(docker inspect`);
    // Everything after the branch is the script without the image: Mongo running, the change inside it.
    const tail = (x: string) => x.slice(x.indexOf("started=$(docker inspect"));
    expect(tail(script)).toBe(tail(rotationScript(spec)));
    // Under compose, a running compose Mongo still takes its password as it is (stdin read first); on a swarm, no throwaway.
    expect(rotationScript({ ...spec, image: "m", compose: { project: "copilotos", service: "mongodb" } })).toContain(
      '  if [ -n "$(docker ps --filter label=com.docker.compose.project=copilotos --filter label=com.docker.compose.service=mongodb -q)" ]; then\n    cat >/dev/null\n    echo',
    );
    expect(rotationScript({ ...spec, image: "m", swarm: { service: "s", node: "node-1" } })).not.toContain("rekey");
  });

  /** Runs the mongosh code against a fake server holding `stored` as the user's password. */
  function runJs(stored: string, current: string, next: string, opts: { rejectChange?: boolean } = {}) {
    const state = { stored, printed: [] as string[], code: undefined as number | undefined, changes: 0 };
    class Quit extends Error {}
    const files: Record<string, string> = { [NEXT_PASSWORD_FILE]: `${next}\n`, "/run/secrets/mongo_root_password": current };
    class Mongo {
      getDB() {
        let authed = false;
        return {
          auth: (user: string, pw: string) => {
            if (user !== "copilotos" || pw !== state.stored) throw new Error("Authentication failed.");
            authed = true;
            return { ok: 1 };
          },
          changeUserPassword: (_user: string, pw: string) => {
            if (!authed) throw new Error("unauthorized");
            state.changes++;
            if (!opts.rejectChange) state.stored = pw;
          },
        };
      }
    }
    const sandbox = {
      require: (m: string) => (m === "fs" ? { readFileSync: (f: string) => files[f] } : undefined),
      process: { env: { MONGO_INITDB_ROOT_USERNAME: "copilotos", MONGO_INITDB_ROOT_PASSWORD_FILE: "/run/secrets/mongo_root_password" } },
      Mongo,
      print: (s: string) => state.printed.push(s),
      quit: (code: number) => {
        state.code = code;
        throw new Quit();
      },
    };
    try {
      vm.runInNewContext(rotationJs(), sandbox);
    } catch (e) {
      if (!(e instanceof Quit)) throw e;
    }
    return state;
  }

  test("changes the password when the current one logs in", () => {
    const r = runJs("old-password", "old-password", "new-password");
    expect(r).toMatchObject({ stored: "new-password", changes: 1, code: undefined });
    expect(r.printed).toEqual([`${ROTATED} the password of copilotos`]);
  });

  test("is idempotent: a second run finds the new password current and changes nothing", () => {
    const r = runJs("new-password", "old-password", "new-password");
    expect(r).toMatchObject({ stored: "new-password", changes: 0, code: 0 });
    expect(r.printed).toEqual([`${ALREADY_CURRENT}: copilotos`]);
  });

  test("fails without changing anything when neither password logs in", () => {
    const r = runJs("someone-elses", "old-password", "new-password");
    expect(r).toMatchObject({ stored: "someone-elses", changes: 0, code: 2 });
    expect(r.printed.join("")).not.toContain("password-");
  });

  test("fails when the server did not take the new password", () => {
    const r = runJs("old-password", "old-password", "new-password", { rejectChange: true });
    expect(r).toMatchObject({ stored: "old-password", changes: 1, code: 3 });
  });
});

test("a gate that puts a route back says so only once the workers of the failed route are gone (a request right after a reload can reach one)", async () => {
  const { healthGateScript } = await import("../components/renderers/operations/health");
  const { SAVE_WORKERS, waitOldWorkers } = await import("../components/renderers/proxy");
  const s = healthGateScript({
    container: "c",
    url: "http://127.0.0.1:8001/",
    timeoutSeconds: 5,
    intervalSeconds: 1,
    revert: { proxy: "p", service: "api", port: 8001, drainSeconds: 15 },
  });
  expect(s).toContain(`= true ] && ${SAVE_WORKERS} &&\n`);
  expect(s).toContain(
    `${waitOldWorkers(15)
      .map((l) => `  ${l}`)
      .join("\n")}\n  echo "health: the api route is back on $prevctr`,
  );
});

test("a gate with a route first makes the route lead to its container (the switch, idempotent), then polls; without one it only polls", async () => {
  const { healthGateScript } = await import("../components/renderers/operations/health");
  const { switchScript } = await import("../components/renderers/proxy");
  const { shq } = await import("../components/renderers/shell");
  const spec = { container: "copilotos-staging-api-1a2b3c4d", url: "http://127.0.0.1:8101/api/health/ready", timeoutSeconds: 5, intervalSeconds: 1 };
  const s = healthGateScript({ ...spec, revert: { proxy: "copilotos-staging-proxy", service: "api", port: 8001, drainSeconds: 15 } });
  const sw = switchScript({ proxy: "copilotos-staging-proxy", service: "api", container: spec.container, port: 8001, drainSeconds: 15 });
  expect(s).toContain(
    [
      `ctr=${shq(spec.container)}; url=${shq(spec.url)}`,
      `if ! sh -c ${shq(sw)}; then`,
      '  echo "health: the api route could not be switched to $ctr, so nothing was checked; the route is as it was. Run pulumi up again" >&2',
      "  exit 1",
      "fi",
      "deadline=$(( $(date +%s) + 5 ))",
    ].join("\n"),
  );
  expect(healthGateScript(spec)).not.toContain("sh -c");
});

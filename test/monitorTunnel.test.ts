/**
 * `ops monitor`: where the UIs answer (the host script, run against a fake docker), the tunnel's
 * ssh argv, and the tunnel's life (a fake ssh that listens on the forwarded ports as ssh would):
 * opened, reported, closed on stop; a taken port and a refused connection are errors.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { forwardArgs, parseUiAddresses, uiAddressesScript } from "../components/renderers/monitoring/tunnel";
import type { HostTarget } from "../scripts/stack/hostExec";
import { monitor, tunnelArgv } from "../scripts/stack/tunnel";
import { freePorts } from "./support/processes";

const ID = { project: "copilotos", stack: "prod" };
const SSH: Extract<HostTarget, { kind: "ssh" }> = {
  kind: "ssh",
  address: "192.0.2.10",
  port: 2222,
  user: "deploy",
  knownHostsFile: "/k/known_hosts",
  connectTimeoutSeconds: 5,
};
const bin = fs.mkdtempSync(path.join(os.tmpdir(), "monitor-tunnel-"));
const argsFile = path.join(bin, "ssh-args");

// docker: the engine answers; Prometheus and Alertmanager run (unless DOWN names one) with these addresses.
fs.writeFileSync(
  path.join(bin, "docker"),
  `#!/bin/sh
case "$*" in
  "version --format"*) echo 27.5.1 ;;
  *State.Running*) case "$*" in *"\${DOWN:-none}"*) exit 1 ;; esac; echo true ;;
  *Networks*prometheus) echo "172.20.0.5 " ;;
  *Networks*alertmanager) echo "172.20.0.6 10.9.0.2 " ;;
esac
`,
  { mode: 0o755 },
);
// ssh: a host step runs its script here; a tunnel (-N) listens on its -L ports until SIGTERM, or fails as told.
fs.writeFileSync(
  path.join(bin, "ssh"),
  `#!/bin/sh
for a; do last=$a; done
case " $* " in
  *" -N "*)
    printf '%s\\n' "$@" > ${JSON.stringify(argsFile)}
    if [ -n "\${FAIL_TUNNEL:-}" ]; then echo "$FAIL_TUNNEL" >&2; exit 255; fi
    ports=$(printf '%s\\n' "$@" | sed -n 's/^127[.]0[.]0[.]1:\\([0-9]*\\):.*/\\1/p')
    # shellcheck disable=SC2086
    exec python3 -c 'import signal, socket, sys
socks = [socket.create_server(("127.0.0.1", int(p))) for p in sys.argv[1:]]
signal.pause()' $ports ;;
  *) exec sh -c "$last" ;;
esac
`,
  { mode: 0o755 },
);
const PATH = process.env.PATH;
beforeEach(() => {
  process.env.PATH = `${bin}:${PATH}`;
  delete process.env.DOWN;
  delete process.env.FAIL_TUNNEL;
  fs.rmSync(argsFile, { force: true });
});
afterAll(() => {
  process.env.PATH = PATH;
  fs.rmSync(bin, { recursive: true, force: true });
});

test("the host script prints each UI's first container address, or names the container that does not run", () => {
  const script = uiAddressesScript(ID);
  expect(script).toContain(
    "if [ \"$(docker inspect -f '{{.State.Running}}' copilotos-prod-prometheus 2>/dev/null)\" != true ]; then echo 'monitor: copilotos-prod-prometheus is not running: monitoring is off for this stack (monitoring.enabled), or Prometheus is down (npm run ops -- prod status)' >&2; exit 1; fi\n" +
      "ctr=copilotos-prod-prometheus\n" +
      "ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' \"$ctr\")\n" +
      "ip=${ip%% *}\n" +
      "if [ -z \"$ip\" ]; then echo 'monitor: copilotos-prod-prometheus has no network address' >&2; exit 1; fi\n" +
      'echo prometheus "$ip"\n',
  );
  const run = (env: Record<string, string>) => spawnSync("sh", ["-c", script], { env: { ...process.env, ...env }, encoding: "utf8" });
  const up = run({});
  expect([up.status, up.stdout]).toEqual([0, "prometheus 172.20.0.5\nalertmanager 172.20.0.6\n"]);
  expect(parseUiAddresses(up.stdout)).toEqual({ prometheus: { address: "172.20.0.5", port: 9090 }, alertmanager: { address: "172.20.0.6", port: 9093 } });
  const down = run({ DOWN: "alertmanager" });
  expect([down.status, down.stdout, down.stderr]).toEqual([
    1,
    "prometheus 172.20.0.5\n",
    "monitor: copilotos-prod-alertmanager is not running: monitoring is off for this stack (monitoring.enabled), or Alertmanager is down (npm run ops -- prod status)\n",
  ]);
});

test.each([
  ["prometheus 172.20.0.5\n", "alertmanager"],
  ["prometheus 172.20.0.5\nalertmanager fe80::1\n", "alertmanager"],
  ["alertmanager 172.20.0.6\nprometheus $(id)\n", "prometheus"],
])("parseUiAddresses(%j) names %s", (out, part) => {
  expect(() => parseUiAddresses(out)).toThrow(`monitor: the host named no IPv4 address for ${part} (it printed ${JSON.stringify(out)})`);
});

test("the tunnel: the pinned ssh options, no command, loopback-only forwards, ssh exits when one cannot listen", () => {
  const forwards = [
    { localPort: 9090, to: { address: "172.20.0.5", port: 9090 } },
    { localPort: 19093, to: { address: "172.20.0.6", port: 9093 } },
  ];
  expect(forwardArgs(forwards)).toEqual(["-L", "127.0.0.1:9090:172.20.0.5:9090", "-L", "127.0.0.1:19093:172.20.0.6:9093"]);
  expect(tunnelArgv(SSH, forwards)).toEqual([
    "ssh",
    [
      ...["-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=/k/known_hosts", "-o", "GlobalKnownHostsFile=/dev/null", "-o", "BatchMode=yes"],
      ...["-o", "ConnectTimeout=5", "-o", "ServerAliveInterval=15", "-N", "-o", "ExitOnForwardFailure=yes"],
      ...["-L", "127.0.0.1:9090:172.20.0.5:9090", "-L", "127.0.0.1:19093:172.20.0.6:9093", "-p", "2222", "deploy@192.0.2.10"],
    ],
  ]);
});

function io() {
  const out: string[] = [];
  const err: string[] = [];
  const stop = new AbortController();
  return { out, err, stop, io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s), stop: stop.signal } };
}

test("monitor opens the tunnel to the addresses the host named, reports the URLs, and closes it on stop (exit 0)", async () => {
  const [prometheus, alertmanager] = await freePorts(2);
  const t = io();
  const running = monitor(SSH, ID, { prometheus, alertmanager }, t.io);
  const deadline = Date.now() + 10_000;
  while (!t.out.join("").includes("open until Ctrl-C") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(t.out.join("")).toBe(
    "monitor: opening a tunnel through deploy@192.0.2.10:2222\n" +
      `  Prometheus: http://127.0.0.1:${prometheus}/\n  Alertmanager: http://127.0.0.1:${alertmanager}/\nmonitor: open until Ctrl-C\n`,
  );
  expect(fs.readFileSync(argsFile, "utf8").split("\n")).toEqual(
    expect.arrayContaining([`127.0.0.1:${prometheus}:172.20.0.5:9090`, `127.0.0.1:${alertmanager}:172.20.0.6:9093`, "deploy@192.0.2.10"]),
  );
  t.stop.abort();
  expect(await running).toBe(0);
  expect(t.err).toEqual([]);
  // The forwards are gone with ssh.
  await expect(new Promise((resolve, reject) => net.connect(prometheus, "127.0.0.1", () => resolve("open")).on("error", reject))).rejects.toThrow(
    /ECONNREFUSED/,
  );
});

test("monitor fails with what went wrong: monitoring not running, a local port taken, ssh refused", async () => {
  const [prometheus, alertmanager] = await freePorts(2);
  process.env.DOWN = "prometheus";
  let t = io();
  expect(await monitor(SSH, ID, { prometheus, alertmanager }, t.io)).toBe(1);
  expect(t.err.join("")).toBe(
    "monitor: copilotos-prod-prometheus is not running: monitoring is off for this stack (monitoring.enabled), or Prometheus is down (npm run ops -- prod status)\n",
  );
  delete process.env.DOWN;
  const taken = net.createServer();
  await new Promise<void>((r) => taken.listen(alertmanager, "127.0.0.1", r));
  t = io();
  expect(await monitor(SSH, ID, { prometheus, alertmanager }, t.io)).toBe(1);
  await new Promise((r) => taken.close(r));
  expect(t.err.join("")).toBe(`monitor: port ${alertmanager} is taken on this machine's loopback; choose another (--prometheus-port, --alertmanager-port)\n`);
  expect(fs.existsSync(argsFile)).toBe(false);
  process.env.FAIL_TUNNEL = "deploy@192.0.2.10: Permission denied (publickey).";
  t = io();
  expect(await monitor(SSH, ID, { prometheus, alertmanager }, t.io)).toBe(255);
  expect(t.err.join("")).toBe("monitor: the tunnel did not open: deploy@192.0.2.10: Permission denied (publickey).\n");
});

test("on the local engine the containers answer here: their addresses are printed, no tunnel", async () => {
  const t = io();
  expect(await monitor({ kind: "local" }, ID, { prometheus: 9090, alertmanager: 9093 }, t.io)).toBe(0);
  expect(t.out.join("")).toBe(
    "monitor: the local engine's containers answer on this machine:\n  Prometheus: http://172.20.0.5:9090/\n  Alertmanager: http://172.20.0.6:9093/\n",
  );
  expect(fs.existsSync(argsFile)).toBe(false);
});

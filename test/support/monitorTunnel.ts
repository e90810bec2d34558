/**
 * `npm run ops -- <stack> monitor` as an operator uses it, for the e2e suites (one host and swarm):
 * the real CLI opens its tunnel on two free loopback ports, Prometheus and Alertmanager answer
 * through it, and once stopped (Ctrl-C's abort) it exits 0.
 */
import { ops } from "../../scripts/ops";
import { get } from "./loadClient";
import { freePorts } from "./processes";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `argv`: the CLI's arguments up to and with the stack's name; `log` gets one line once both answered. */
export async function monitorThroughTunnel(argv: string[], log: (line: string) => void): Promise<void> {
  const [port, amPort] = await freePorts(2);
  const out: string[] = [];
  const stop = new AbortController();
  const running = ops([...argv, "monitor", "--prometheus-port", String(port), "--alertmanager-port", String(amPort)], {
    out: (x) => out.push(x),
    err: (x) => out.push(x),
    stop: stop.signal,
  });
  const deadline = Date.now() + 30_000;
  while (!out.join("").includes("open until Ctrl-C") && Date.now() < deadline) await sleep(200);
  try {
    expect(out.join("")).toContain(`  Prometheus: http://127.0.0.1:${port}/\n  Alertmanager: http://127.0.0.1:${amPort}/\nmonitor: open until Ctrl-C\n`);
    const [prom, am] = [await get(`http://127.0.0.1:${port}/-/ready`), await get(`http://127.0.0.1:${amPort}/api/v2/status`)];
    expect([prom.status, prom.body.trim()]).toEqual([200, "Prometheus Server is Ready."]);
    expect([am.status, (JSON.parse(am.body) as { cluster: { status: string } }).cluster.status]).toEqual([200, "disabled"]);
    log(`ops monitor: Prometheus and Alertmanager answered through the tunnel on 127.0.0.1:${port} and ${amPort}`);
  } finally {
    stop.abort();
  }
  expect(await running).toBe(0);
}

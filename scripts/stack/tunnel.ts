/**
 * `npm run ops -- <stack> monitor`: asks the host where Prometheus and Alertmanager answer, then
 * holds an SSH tunnel to them (the stack's pinned connection, this machine's loopback only) until
 * stopped. On the local engine the containers answer directly: their addresses are printed.
 */
import { spawn } from "node:child_process";
import * as net from "node:net";
import type { StackIdentity } from "../../components/renderers/names";
import { sshClientOptions } from "../../components/renderers/hosts/ssh";
import { forwardArgs, parseUiAddresses, uiAddressesScript, UI_PARTS, UI_TITLES, type Forward, type UiPart } from "../../components/renderers/monitoring/tunnel";
import { describeTarget, runOnHost, type HostTarget } from "./hostExec";

/** argv of the tunnel: no command (`-N`), and ssh exits when a forward cannot listen. Pure. */
export function tunnelArgv(target: Extract<HostTarget, { kind: "ssh" }>, forwards: Forward[]): [string, string[]] {
  return [
    "ssh",
    [
      ...sshClientOptions(target),
      "-N",
      "-o",
      "ExitOnForwardFailure=yes",
      ...forwardArgs(forwards),
      "-p",
      String(target.port),
      `${target.user}@${target.address}`,
    ],
  ];
}

export interface MonitorIo {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Closes the tunnel (the CLI aborts it on Ctrl-C). */
  stop: AbortSignal;
}

/**
 * Opens the tunnel and holds it: 0 once stopped, else ssh's status with what it said. `addresses`
 * is the host step that finds the UIs. @default one host's ({@link uiAddressesScript})
 */
export async function monitor(
  target: HostTarget,
  id: StackIdentity,
  localPorts: Record<UiPart, number>,
  io: MonitorIo,
  addresses = uiAddressesScript(id),
): Promise<number> {
  const found = await runOnHost(target, addresses);
  if (found.code !== 0) {
    io.err(found.stderr || `monitor: the host step failed (exit ${found.code})\n`);
    return found.code;
  }
  const ui = parseUiAddresses(found.stdout);
  if (target.kind === "local") {
    io.out(
      `monitor: the local engine's containers answer on this machine:\n${UI_PARTS.map((p) => `  ${UI_TITLES[p]}: http://${ui[p].address}:${ui[p].port}/\n`).join("")}`,
    );
    return 0;
  }
  const forwards = UI_PARTS.map((p) => ({ localPort: localPorts[p], to: ui[p] }));
  for (const f of forwards) {
    if (!(await free(f.localPort))) {
      io.err(`monitor: port ${f.localPort} is taken on this machine's loopback; choose another (--prometheus-port, --alertmanager-port)\n`);
      return 1;
    }
  }
  const [cmd, args] = tunnelArgv(target, forwards);
  io.out(`monitor: opening a tunnel through ${describeTarget(target)}\n`);
  const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"], env: process.env });
  let said = "";
  child.stderr.on("data", (b: Buffer) => (said += b.toString()));
  // Ends the wait for the forwards: Ctrl-C, or ssh gone (it could not connect, or a forward could not listen).
  const waiting = new AbortController();
  const exited = new Promise<number>((resolve) => child.on("close", (c) => (waiting.abort(), resolve(c ?? 1))));
  const stop = () => (waiting.abort(), child.kill("SIGTERM"));
  io.stop.addEventListener("abort", stop, { once: true });
  try {
    if (io.stop.aborted) stop();
    if (
      !(await listening(
        forwards.map((f) => f.localPort),
        waiting.signal,
      ))
    ) {
      const code = await exited;
      if (io.stop.aborted) return 0;
      io.err(`monitor: the tunnel did not open: ${said.trim() || `ssh exited ${code}`}\n`);
      return code || 1;
    }
    io.out(`${UI_PARTS.map((p) => `  ${UI_TITLES[p]}: http://127.0.0.1:${localPorts[p]}/\n`).join("")}monitor: open until Ctrl-C\n`);
    const code = await exited;
    if (io.stop.aborted) return 0;
    io.err(`monitor: the tunnel closed: ${said.trim() || `ssh exited ${code}`}\n`);
    return code || 1;
  } finally {
    io.stop.removeEventListener("abort", stop);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  }
}

/** Whether nothing listens on a loopback port yet (ssh's forward would fail, or a poll would reach someone else). */
function free(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** Resolves true once every port accepts a connection on loopback (polled every 100 ms), false when stopped. */
async function listening(ports: number[], stop: AbortSignal): Promise<boolean> {
  while (!stop.aborted) {
    const open = await Promise.all(ports.map(accepts));
    if (open.every(Boolean)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => (s.destroy(), resolve(true)));
    s.on("error", () => resolve(false));
  });
}

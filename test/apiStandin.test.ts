/**
 * The API stand-in stops as uvicorn does on SIGTERM: it stops accepting, finishes the requests in
 * flight, then exits. (It used to exit at once: a rolling update's stopped task cut a request off
 * mid-answer, and the swarm suite counted it as failed.)
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { get } from "./support/loadClient";
import { freePorts } from "./support/processes";
import { API_PY } from "./support/standins";

test("SIGTERM: a stream in flight gets all its events, new connections are refused, then it exits 0", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "api-standin-"));
  fs.writeFileSync(path.join(dir, "api.py"), API_PY);
  const [port] = await freePorts(1);
  const api = spawn("python3", [path.join(dir, "api.py")], { env: { PATH: process.env.PATH, PORT: String(port) }, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<number | null>((resolve) => api.on("close", (code) => resolve(code)));
  try {
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 10_000;
    while ((await get(`${url}/api/health/live`).catch(() => undefined))?.status !== 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const stream = get(`${url}/api/stream`, { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 1500)); // two events sent, three to come
    const stoppedAt = Date.now();
    api.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 1000));
    await expect(get(`${url}/api/health/live`)).rejects.toThrow(/ECONNREFUSED/);
    const answer = await stream;
    expect([answer.status, answer.body.match(/^data: /gm)?.length]).toEqual([200, 5]);
    expect(await exited).toBe(0);
    // It waited for the stream (about 3.5 s more), not for its 10 s bound.
    expect(Date.now() - stoppedAt).toBeGreaterThan(2500);
    expect(Date.now() - stoppedAt).toBeLessThan(8000);
  } finally {
    if (api.exitCode === null) api.kill("SIGKILL");
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);

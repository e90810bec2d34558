/**
 * The request loop counts what the server answered, not when the test's own event loop got to
 * read it: its clients run in a worker thread, so a test that blocks (synchronous `docker` calls,
 * modules loaded again before a deploy) does not turn answers into "no answer within N ms".
 * Loopback only; the server is a child process, so the block does not stop it either.
 */
import { ChildProcess, spawn } from "node:child_process";
import { get, startLoad } from "./support/loadLoop";

let server: ChildProcess;
let url = "";

beforeAll(async () => {
  // /slow: 200 after 400 ms. /window: 503 from 200 ms to 600 ms after its first request, 200 before and after; /window-state
  // answers the same without starting the window (the test's own polls must not start it).
  const code = `let first = 0; require("node:http").createServer((q, s) => { if (q.url === "/window") first ||= Date.now(); const t = first && q.url.startsWith("/window") ? Date.now() - first : -1; s.statusCode = q.url === "/bad" || (t >= 200 && t < 600) ? 503 : 200; setTimeout(() => s.end("ok"), q.url === "/slow" ? 400 : 0); }).listen(0, "127.0.0.1", function () { console.log(this.address().port); });`;
  server = spawn(process.execPath, ["-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<string>((resolve) => server.stdout!.once("data", (b: Buffer) => resolve(b.toString().trim())));
  url = `http://127.0.0.1:${port}`;
});
afterAll(() => server.kill());

/** Keeps this thread busy, as a synchronous child process or a module load does. */
const block = (ms: number) => {
  const until = Date.now() + ms;
  while (Date.now() < until);
};

test("answers that arrive while the test's thread is blocked are counted as answers", async () => {
  const loop = startLoad(`${url}/`, { minRequests: 10, clients: 2, timeoutMs: 300 });
  await loop.reached(5);
  block(1500);
  const during = loop.count();
  loop.stop();
  const result = await loop.done;
  expect(result.failed).toBe(0);
  expect(result.samples).toEqual([]);
  expect(result.statuses).toEqual({});
  expect(result.bodies.ok).toBe(result.requests);
  // The clients went on while this thread was blocked.
  expect(during).toBeGreaterThan(20);
  expect(result.requests).toBeGreaterThanOrEqual(during);
});

test("the slowest answer's time is kept", async () => {
  const slow = startLoad(`${url}/slow`, { minRequests: 2, clients: 1 });
  slow.stop();
  const fast = startLoad(`${url}/`, { minRequests: 2, clients: 1 });
  fast.stop();
  const [s, f] = [await slow.done, await fast.done];
  expect([s.failed, s.slowestSeconds >= 0.4, s.slowestSeconds < 2]).toEqual([0, true, true]);
  expect([f.failed, f.slowestSeconds < 0.4]).toEqual([0, true]);
});

test("a failed answer is still a failure, with its sample", async () => {
  const loop = startLoad(`${url}/bad`, { minRequests: 3, clients: 1 });
  loop.stop();
  const result = await loop.done;
  expect(result.requests).toBeGreaterThanOrEqual(3);
  expect(result.failed).toBe(result.requests);
  expect(result.statuses).toEqual({ 503: result.requests });
  expect(result.samples[0]).toMatch(/^\d+\.\d\ds: HTTP 503 after \d+\.\d\ds$/);
});

test("an outage's bounds: its first and last failure, and the first answer after it", async () => {
  const before = Date.now();
  const loop = startLoad(`${url}/window`, { minRequests: 10, clients: 2 });
  // Not a fixed wait: on a loaded machine the worker's first request can come late. The window is
  // over once this thread sees a 503 and then a 200; the loop's next requests all start after that.
  let seen503 = false;
  for (let i = 0; i < 200; i++) {
    const { status } = await get(`${url}/window-state`);
    if (status === 503) seen503 = true;
    else if (seen503) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await loop.reached(loop.count() + 4);
  loop.stop();
  const r = await loop.done;
  expect(r.statuses["503"]).toBe(r.failed);
  expect(r.firstFailAt).toBeGreaterThanOrEqual(before + 200);
  expect(r.lastFailAt).toBeGreaterThanOrEqual(r.firstFailAt + 200);
  expect(r.recoveredAt).toBeGreaterThanOrEqual(r.lastFailAt);
  expect(r.recoveredAt - r.firstFailAt).toBeLessThan(2000);
  expect(r.outageSeconds).toBe((r.lastFailAt - r.firstFailAt) / 1000);
});

test("without a failure there are no bounds", async () => {
  const loop = startLoad(`${url}/`, { minRequests: 5, clients: 1 });
  loop.stop();
  expect(await loop.done).toMatchObject({ failed: 0, firstFailAt: 0, lastFailAt: 0, recoveredAt: 0 });
});

test("get answers in this thread too", async () => {
  expect(await get(`${url}/`)).toMatchObject({ status: 200, body: "ok" });
});

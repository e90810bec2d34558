/**
 * Zero-downtime app updates on a real Docker engine (this machine's): the project's own nginx.conf,
 * switch script and health gate, run in the engine's order while a request loop hits the proxy.
 * The images are made here (nginx from this machine's package, a busybox httpd app).
 */
import { execFileSync } from "node:child_process";
import { get as fetchOnce, failuresOf, NO_FAILURES } from "../support/loadLoop";
import { buildSwapImages, seedBaseline, SWAP_PORT, SwapImages, SwapRig, underLoad, waitHealthy } from "../support/swap";
import { host } from "./support";

jest.setTimeout(180000);
const url = `http://127.0.0.1:${SWAP_PORT}/api/health`;
const MIN = 1000;
let images: SwapImages;
let rig: SwapRig;
let current: string;

const get = (path: string, headers: Record<string, string> = {}) => fetchOnce(`http://127.0.0.1:${SWAP_PORT}${path}`, { headers });

beforeAll(async () => {
  expect(host.target).toBeDefined(); // fails with the missing tools/privileges if the real-engine setup could not run
  images = buildSwapImages();
  rig = new SwapRig(images);
  rig.cleanup();
  await rig.startProxy();
  current = await rig.createApp(images.v1);
  await waitHealthy(current, 30);
  expect((await rig.switchTo(current)).code).toBe(0);
});

afterAll(() => {
  rig?.cleanup();
  if (images) execFileSync("docker", ["image", "rm", "-f", ...Object.values(images)], { stdio: "ignore" });
});

test("the proxy adds the security headers (HSTS not over plain HTTP) and passes the client's address to the app", async () => {
  const page = await get("/api/health");
  expect(page).toMatchObject({ status: 200, body: "v1" });
  expect(page.headers).toMatchObject({
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
    "content-security-policy": "default-src 'self'",
    server: "nginx",
  });
  expect(page.headers["strict-transport-security"]).toBeUndefined();
  const seen = await get("/cgi-bin/headers", { "X-Forwarded-For": "198.51.100.7" });
  const realIp = /real_ip=(\S+)/.exec(seen.body)?.[1];
  expect(realIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  expect(seen.body).toContain(`forwarded_for=198.51.100.7, ${realIp}`);
});

test("switching is idempotent, and a route nginx rejects is put back while the old container keeps serving", async () => {
  const again = await rig.switchTo(current);
  expect(again).toEqual({ code: 0, out: `proxy: api already routes to ${current}\n` });
  const missing = "cpt-swap-api-00000000";
  const rejected = await rig.switchTo(missing);
  expect(rejected.code).toBe(1);
  expect(rejected.out).toContain(`proxy: nginx rejected the route to ${missing}; api still goes to its previous container`);
  expect(await rig.route()).toBe(`server ${current}:8001;`);
  expect(await get("/api/health")).toMatchObject({ status: 200, body: "v1" });
});

test(`a v2 that never gets healthy gets no traffic: 0 failed of at least ${MIN}, v1 still serving`, async () => {
  const { load, error } = await underLoad(url, MIN, async () => {
    await rig.upgrade(current, images.bad, 15);
  });
  expect(error?.message).toMatch(/^container cpt-swap-api-[0-9a-f]{8} is unhealthy$/);
  expect(load.requests).toBeGreaterThanOrEqual(MIN);
  expect(failuresOf(load)).toEqual(NO_FAILURES);
  expect(load.bodies).toEqual({ v1: load.requests });
  expect(await rig.route()).toBe(`server ${current}:8001;`);
  expect(execFileSync("docker", ["inspect", "--format", "{{.State.Running}}", current]).toString().trim()).toBe("true");
  // The failed replacement got no traffic; the next update removes it (here: by hand).
  execFileSync("docker", ["rm", "-f", /cpt-swap-api-[0-9a-f]{8}/.exec(error!.message)![0]], { stdio: "ignore" });
});

test(`upgrade v1 → v2: 0 failed of at least ${MIN}; v2 serves and v1 is gone`, async () => {
  const { load, error } = await underLoad(url, MIN, async () => {
    current = await rig.upgrade(current, images.v2, 30);
  });
  expect(error).toBeUndefined();
  expect(load.requests).toBeGreaterThanOrEqual(MIN);
  expect(failuresOf(load)).toEqual(NO_FAILURES);
  expect(load.bodies.v1).toBeGreaterThan(0);
  expect(load.bodies.v2).toBeGreaterThan(0);
  expect(await get("/api/health")).toMatchObject({ status: 200, body: "v2" });
  expect(execFileSync("docker", ["ps", "-a", "--format", "{{.Names}}", "--filter", "name=^/cpt-swap-api-"]).toString().trim()).toBe(current);
});

test("the seeds' docker-compose down && up of the same images drops requests (the baseline)", async () => {
  const seed = await seedBaseline(images, MIN);
  process.stdout.write(`swap baseline: compose down/up failed ${seed.failed} of ${seed.requests} requests over ${seed.outageSeconds.toFixed(2)}s\n`);
  expect(seed.requests).toBeGreaterThanOrEqual(MIN);
  expect(seed.failed).toBeGreaterThan(0);
  expect(seed.bodies.v2).toBeGreaterThan(0);
});

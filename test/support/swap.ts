/**
 * The zero-downtime swap on a real Docker engine, for test/e2e/swap.test.ts and `npm run bench --
 * swap`. It runs the project's own proxy config, switch script and health gate in the order the
 * Pulumi engine takes for a replaced app container (create the new one and wait for its health
 * check, switch the route, gate through the proxy, delete the old one at the end), while a request
 * loop hits the proxy. The seeds' baseline is `docker-compose down && up` of the same images.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { HEALTHCHECKS } from "../../components/renderers/services/containers";
import { healthGateScript } from "../../components/renderers/operations/health";
import { appContainerName, fingerprint, StackIdentity, stackPrefix } from "../../components/renderers/names";
import { MAINTENANCE_CONF } from "../../components/renderers/proxy/maintenance";
import { PLACEHOLDER_ROUTE, PROXY_CONF, proxyConf, routeFile, switchScript } from "../../components/renderers/proxy";
import { runLocal } from "../../scripts/stack/hostExec";
import { LoadResult, startLoad } from "./loadLoop";
import { busyboxImage, nginxImage } from "./testImages";

export const SWAP_ID: StackIdentity = { project: "cpt", stack: "swap" };
const PREFIX = stackPrefix(SWAP_ID);
export const SWAP_PORT = 18801;
export const SEED_PORT = 18802;
export const SEED_PROJECT = "cptseed";

const docker = (...args: string[]) => execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
const tryDocker = (...args: string[]) => spawnSync("docker", args, { encoding: "utf8" });
/** Async (the request loop keeps running while a step runs); stdout and stderr together. */
async function run(file: string, args: string[]): Promise<{ code: number; out: string }> {
  const r = await runLocal(file, args);
  return { code: r.code, out: `${r.stdout}${r.stderr}` };
}
async function dockerAsync(...args: string[]): Promise<string> {
  const r = await run("docker", args);
  if (r.code !== 0) throw new Error(`docker ${args[0]} failed: ${r.out.trim()}`);
  return r.out.trim();
}

export interface SwapImages {
  proxy: string;
  v1: string;
  v2: string;
  /** A v2 whose health check never passes (no /api/health). */
  bad: string;
}

/** A tiny app: busybox httpd answering `/api/health` with its version, and a CGI echoing forwarded headers. */
function appImage(tag: string, version: string, healthy: boolean): string {
  return busyboxImage([], tag, {
    files: {
      ...(healthy ? { "/www/api/health": `${version}\n` } : {}),
      "/www/index.html": `${version}\n`,
      "/www/cgi-bin/headers":
        '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n"\necho "real_ip=$HTTP_X_REAL_IP"\necho "forwarded_for=$HTTP_X_FORWARDED_FOR"\n',
    },
    // httpd in the background and a shell that exits on SIGTERM, as a real app does (PID 1 ignores it by default).
    cmd: ["sh", "-c", "httpd -p 8001 -h /www; trap 'exit 0' TERM; while :; do sleep 1; done"],
  });
}

export function buildSwapImages(): SwapImages {
  nginxImage([], `${PREFIX}-nginx:test`);
  appImage(`${PREFIX}-app:v1`, "v1", true);
  appImage(`${PREFIX}-app:v2`, "v2", true);
  appImage(`${PREFIX}-app:bad`, "bad", false);
  return { proxy: `${PREFIX}-nginx:test`, v1: `${PREFIX}-app:v1`, v2: `${PREFIX}-app:v2`, bad: `${PREFIX}-app:bad` };
}

const health = (cmd: string) => ["--health-cmd", cmd, "--health-interval", "1s", "--health-timeout", "2s", "--health-retries", "3"];
const APP_HEALTH = "wget -q -O /dev/null http://127.0.0.1:8001/api/health";

/** Polls the container's health like the provider's `wait`; throws on unhealthy or timeout. */
export async function waitHealthy(name: string, timeoutSeconds: number): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const status = await dockerAsync("inspect", "--format", "{{.State.Health.Status}}", name);
    if (status === "healthy") return;
    if (status === "unhealthy") throw new Error(`container ${name} is unhealthy`);
    if (Date.now() > deadline) throw new Error(`container ${name} did not become healthy within ${timeoutSeconds}s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const sh = (script: string) => run("sh", ["-c", script]);

export class SwapRig {
  readonly network = PREFIX;
  readonly proxy = `${PREFIX}-proxy`;
  constructor(readonly images: SwapImages) {}

  /** The proxy container with the project's nginx.conf and placeholder routes, as the Proxy component makes it. */
  async startProxy(): Promise<void> {
    docker("network", "create", "--label", "copilotos.stack=swap", this.network);
    docker(
      "create",
      "--name",
      this.proxy,
      "--network",
      this.network,
      "-p",
      `127.0.0.1:${SWAP_PORT}:8001`,
      ...health(HEALTHCHECKS.proxy.tests[1]),
      this.images.proxy,
    );
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cpt-proxy-"));
    try {
      const put = (file: string, content: string) => {
        fs.writeFileSync(path.join(dir, "f"), content);
        docker("cp", path.join(dir, "f"), `${this.proxy}:${file}`);
      };
      put(
        PROXY_CONF,
        proxyConf({ contentSecurityPolicy: "default-src 'self'", hsts: true, apiRateLimitPerSecond: 0, maxBodyMb: 100, apiReadTimeoutSeconds: 3600 }),
      );
      put(routeFile("api"), `${PLACEHOLDER_ROUTE}\n`);
      put(routeFile("web"), `${PLACEHOLDER_ROUTE}\n`);
      put(MAINTENANCE_CONF, "# maintenance off\n");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    docker("start", this.proxy);
    await waitHealthy(this.proxy, 30);
  }

  /** Creates an app container named like the program names it (fingerprint of its spec); returns the name. */
  async createApp(image: string): Promise<string> {
    const name = appContainerName(SWAP_ID, "api", fingerprint({ image, health: APP_HEALTH }));
    await dockerAsync("run", "-d", "--name", name, "--network", this.network, "--label", "copilotos.stack=swap", ...health(APP_HEALTH), image);
    return name;
  }

  switchTo(container: string): Promise<{ code: number; out: string }> {
    return sh(switchScript({ proxy: this.proxy, service: "api", container, port: 8001, drainSeconds: 15 }));
  }

  gate(container: string): Promise<{ code: number; out: string }> {
    return sh(healthGateScript({ container, url: `http://127.0.0.1:${SWAP_PORT}/api/health`, timeoutSeconds: 20, intervalSeconds: 1 }));
  }

  /** What the engine does at the end of an update to a replaced container: stop, then remove. */
  async remove(container: string): Promise<void> {
    await dockerAsync("stop", "-t", "10", container);
    await dockerAsync("rm", container);
  }

  /** Steps done so far, with seconds since the rig started them (for the bench's report). */
  readonly steps: string[] = [];

  /** One app update in the engine's order; throws at the step that fails, leaving the rest undone. */
  async upgrade(from: string, image: string, healthTimeoutSeconds: number): Promise<string> {
    const t0 = Date.now();
    const step = (what: string) => this.steps.push(`${((Date.now() - t0) / 1000).toFixed(2)}s ${what}`);
    const next = await this.createApp(image);
    step(`created ${next}`);
    await waitHealthy(next, healthTimeoutSeconds);
    step("healthy");
    const switched = await this.switchTo(next);
    if (switched.code !== 0) throw new Error(`switch failed: ${switched.out}`);
    step("route switched");
    const gated = await this.gate(next);
    if (gated.code !== 0) throw new Error(`health gate failed: ${gated.out}`);
    step("health gate passed");
    await this.remove(from);
    step(`removed ${from}`);
    return next;
  }

  route(): Promise<string> {
    return dockerAsync("exec", this.proxy, "cat", routeFile("api"));
  }

  cleanup(): void {
    const names = tryDocker("ps", "-aq", "--filter", `name=^/${PREFIX}-`).stdout.split("\n").filter(Boolean);
    if (names.length) tryDocker("rm", "-f", ...names);
    tryDocker("network", "rm", this.network);
  }
}

/** Requests through the proxy while `action` runs; at least `minRequests`. */
export async function underLoad(url: string, minRequests: number, action: () => Promise<void>): Promise<{ load: LoadResult; error?: Error }> {
  const loop = startLoad(url, { minRequests });
  await loop.reached(50);
  let error: Error | undefined;
  try {
    await action();
  } catch (e) {
    error = e as Error;
  }
  loop.stop();
  return { load: await loop.done, error };
}

/** The seeds' method: `docker-compose down && up -d` of the same app, v1 then v2, under the same loop. */
export async function seedBaseline(images: SwapImages, minRequests: number): Promise<LoadResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cpt-seed-"));
  const file = path.join(dir, "docker-compose.yml");
  const compose = async (image: string, ...args: string[]) => {
    const r = await run("env", [`APP_IMAGE=${image}`, "docker-compose", "-p", SEED_PROJECT, "-f", file, ...args]);
    if (r.code !== 0) throw new Error(`docker-compose ${args[0]} failed: ${r.out.trim()}`);
  };
  fs.writeFileSync(
    file,
    ['version: "3.7"', "services:", "  api:", "    image: ${APP_IMAGE}", "    ports:", `      - "127.0.0.1:${SEED_PORT}:8001"`, ""].join("\n"),
  );
  try {
    await compose(images.v1, "up", "-d");
    const url = `http://127.0.0.1:${SEED_PORT}/api/health`;
    const deadline = Date.now() + 30000;
    while ((await sh(`curl -sf ${url}`)).code !== 0) {
      if (Date.now() > deadline) throw new Error("the compose baseline never answered");
      await new Promise((r) => setTimeout(r, 200));
    }
    const { load, error } = await underLoad(url, minRequests, async () => {
      await compose(images.v1, "down");
      await compose(images.v2, "up", "-d");
      // The loop runs until the new version answers, as a user would keep retrying.
      while ((await sh(`curl -sf ${url}`)).out.trim() !== "v2") await new Promise((r) => setTimeout(r, 50));
    });
    if (error) throw error;
    return load;
  } finally {
    await compose(images.v2, "down").catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

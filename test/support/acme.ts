/**
 * A certificate from a real ACME exchange, on loopback: Let's Encrypt's test server (pebble, a
 * Debian package) with its challenge test server as DNS (every name → 127.0.0.1), and certbot
 * (Debian's), whose standalone server answers pebble's real http-01 challenge. Everything it starts
 * it stops; its files go when it returns.
 */
import { execFile, spawn, ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { get } from "./loadLoop";
import { makeTestCa } from "./testCa";
import { stopChild } from "./processes";

export interface AcmeCertificate {
  /** certbot's fullchain.pem and privkey.pem. */
  fullchain: string;
  privkey: string;
  /** pebble's root (it signs the chain's intermediate): what a client must trust. */
  root: string;
}

const PORTS = { acme: 14000, management: 15000, http01: 5002, dns: 8053, challManagement: 8055 };

export interface PebbleOptions {
  /** Where pebble, its management API and its DNS listen. @default 127.0.0.1 */
  listen?: string;
  /** The address every name resolves to (where the http-01 challenge is fetched). @default 127.0.0.1 */
  namesResolveTo?: string;
  /** The port pebble fetches http-01 challenges from. @default 5002 */
  httpPort?: number;
}

export interface Pebble {
  /** The ACME directory URL. */
  directory: string;
  /** The CA of pebble's own HTTPS listener (PEM): what an ACME client must trust, as a file too. */
  listenerCa: string;
  listenerCaFile: string;
  /** pebble's root (it signs the chain's intermediate): what a client of the issued certificate trusts. */
  root(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Pebble (Let's Encrypt's test ACME server) and its challenge test server as DNS, every name
 * resolving to `namesResolveTo`: a real ACME exchange on this machine. No sleeps between validation
 * attempts and no forced nonce rejections: a quick, deterministic exchange. `stop` ends both and
 * removes their files.
 */
export async function startPebble(o: PebbleOptions = {}): Promise<Pebble> {
  const listen = o.listen ?? "127.0.0.1";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "copilotos-pebble-"));
  // pebble's own HTTPS listener needs a certificate: one from a CA made here, which clients trust.
  const ca = makeTestCa([listen]);
  const caPem = fs.readFileSync(ca.caFile, "utf8");
  fs.writeFileSync(path.join(dir, "listener.crt"), ca.cert);
  fs.writeFileSync(path.join(dir, "listener.key"), ca.key);
  fs.writeFileSync(path.join(dir, "ca.pem"), caPem);
  fs.writeFileSync(
    path.join(dir, "pebble.json"),
    JSON.stringify({
      pebble: {
        listenAddress: `${listen}:${PORTS.acme}`,
        managementListenAddress: `${listen}:${PORTS.management}`,
        certificate: path.join(dir, "listener.crt"),
        privateKey: path.join(dir, "listener.key"),
        httpPort: o.httpPort ?? PORTS.http01,
        tlsPort: 5001,
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
      },
    }),
  );
  const started: ChildProcess[] = [];
  const start = (cmd: string, args: string[], env: Record<string, string> = {}) => {
    const log = fs.openSync(path.join(dir, `${cmd}.log`), "a");
    started.push(spawn(cmd, args, { stdio: ["ignore", log, log], env: { ...process.env, ...env } }));
  };
  const stop = async () => {
    await Promise.all(started.map((p) => stopChild(p)));
    ca.remove();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    start("pebble-challtestsrv", [
      "-defaultIPv4",
      o.namesResolveTo ?? "127.0.0.1",
      "-defaultIPv6",
      "",
      "-dns01",
      `${listen}:${PORTS.dns}`,
      "-http01",
      "",
      "-https01",
      "",
      "-tlsalpn01",
      "",
      "-management",
      `${listen}:${PORTS.challManagement}`,
    ]);
    start("pebble", ["-config", path.join(dir, "pebble.json"), "-dnsserver", `${listen}:${PORTS.dns}`], {
      PEBBLE_VA_NOSLEEP: "1",
      PEBBLE_WFE_NONCEREJECT: "0",
    });
    const directory = `https://${listen}:${PORTS.acme}/dir`;
    const deadline = Date.now() + 20_000;
    while (
      !(await get(directory, { ca: caPem }).then(
        (r) => r.status === 200,
        () => false,
      ))
    ) {
      if (Date.now() > deadline) throw new Error(`pebble did not answer within 20s (log: ${path.join(dir, "pebble.log")})`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return {
      directory,
      listenerCa: caPem,
      listenerCaFile: path.join(dir, "ca.pem"),
      root: async () => `${(await get(`https://${listen}:${PORTS.management}/roots/0`, { ca: caPem })).body}\n`,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** A certificate for `domain` from pebble on loopback, got by this machine's certbot with its standalone server. */
export async function issueWithCertbot(domain: string): Promise<AcmeCertificate> {
  const pebble = await startPebble();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "copilotos-acme-"));
  try {
    const certbotDirs = ["--config-dir", path.join(dir, "config"), "--work-dir", path.join(dir, "work"), "--logs-dir", path.join(dir, "logs")];
    await promisify(execFile)(
      "certbot",
      [
        "certonly",
        "--standalone",
        "--non-interactive",
        "--agree-tos",
        "--register-unsafely-without-email",
        "--server",
        pebble.directory,
        "-d",
        domain,
        "--http-01-address",
        "127.0.0.1",
        "--http-01-port",
        String(PORTS.http01),
        ...certbotDirs,
      ],
      { env: { ...process.env, REQUESTS_CA_BUNDLE: pebble.listenerCaFile }, timeout: 120_000 },
    );
    const live = path.join(dir, "config", "live", domain);
    return {
      fullchain: fs.readFileSync(path.join(live, "fullchain.pem"), "utf8"),
      privkey: fs.readFileSync(path.join(live, "privkey.pem"), "utf8"),
      root: await pebble.root(),
    };
  } finally {
    await pebble.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

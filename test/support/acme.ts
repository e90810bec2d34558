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

export interface AcmeCertificate {
  /** certbot's fullchain.pem and privkey.pem. */
  fullchain: string;
  privkey: string;
  /** pebble's root (it signs the chain's intermediate): what a client must trust. */
  root: string;
}

const PORTS = { acme: 14000, management: 15000, http01: 5002, dns: 8053, challManagement: 8055 };

export async function issueWithCertbot(domain: string): Promise<AcmeCertificate> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "copilotos-acme-"));
  // pebble's own HTTPS listener needs a certificate: one from a CA made here, which certbot trusts.
  const ca = makeTestCa();
  const caPem = fs.readFileSync(ca.caFile, "utf8");
  fs.writeFileSync(path.join(dir, "listener.crt"), ca.cert);
  fs.writeFileSync(path.join(dir, "listener.key"), ca.key);
  fs.writeFileSync(
    path.join(dir, "pebble.json"),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${PORTS.acme}`,
        managementListenAddress: `127.0.0.1:${PORTS.management}`,
        certificate: path.join(dir, "listener.crt"),
        privateKey: path.join(dir, "listener.key"),
        httpPort: PORTS.http01,
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
  try {
    start("pebble-challtestsrv", [
      "-defaultIPv4",
      "127.0.0.1",
      "-defaultIPv6",
      "",
      "-dns01",
      `127.0.0.1:${PORTS.dns}`,
      "-http01",
      "",
      "-https01",
      "",
      "-tlsalpn01",
      "",
      "-management",
      `127.0.0.1:${PORTS.challManagement}`,
    ]);
    // No sleeps between validation attempts and no forced nonce rejections: a quick, deterministic exchange.
    start("pebble", ["-config", path.join(dir, "pebble.json"), "-dnsserver", `127.0.0.1:${PORTS.dns}`], {
      PEBBLE_VA_NOSLEEP: "1",
      PEBBLE_WFE_NONCEREJECT: "0",
    });
    const deadline = Date.now() + 20_000;
    while (
      !(await get(`https://127.0.0.1:${PORTS.acme}/dir`, { ca: caPem }).then(
        (r) => r.status === 200,
        () => false,
      ))
    ) {
      if (Date.now() > deadline) throw new Error(`pebble did not answer within 20s (log: ${path.join(dir, "pebble.log")})`);
      await new Promise((r) => setTimeout(r, 200));
    }
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
        `https://127.0.0.1:${PORTS.acme}/dir`,
        "-d",
        domain,
        "--http-01-address",
        "127.0.0.1",
        "--http-01-port",
        String(PORTS.http01),
        ...certbotDirs,
      ],
      { env: { ...process.env, REQUESTS_CA_BUNDLE: ca.caFile }, timeout: 120_000 },
    );
    const live = path.join(dir, "config", "live", domain);
    const root = await get(`https://127.0.0.1:${PORTS.management}/roots/0`, { ca: caPem });
    return {
      fullchain: fs.readFileSync(path.join(live, "fullchain.pem"), "utf8"),
      privkey: fs.readFileSync(path.join(live, "privkey.pem"), "utf8"),
      root: `${root.body}\n`,
    };
  } finally {
    for (const p of started) p.kill();
    ca.remove();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

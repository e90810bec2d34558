/**
 * A certificate authority made for one test run with openssl: a CA, a leaf certificate it signed
 * for localhost and the given addresses (where the HTTPS tests reach the proxy), and an unrelated key.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface TestCa {
  /** Path of the CA certificate (for `curl --cacert`). */
  caFile: string;
  /** The leaf's certificate and key (PEM). */
  cert: string;
  key: string;
  /** A key that does not belong to `cert`. */
  otherKey: string;
  remove(): void;
}

/** `days`: how long the leaf is valid (the CA: 2 days; the leaf alone is served, so its own expiry is what a client sees). */
export function makeTestCa(addresses: string[] = ["127.0.0.1"], days = 2): TestCa {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "copilotos-ca-"));
  const at = (f: string) => path.join(dir, f);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl("req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=copilotos test CA");
  openssl("req", ...ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=localhost");
  const names = ["DNS:localhost", ...addresses.map((a) => `IP:${a}`)].join(",");
  fs.writeFileSync(at("leaf.ext"), `subjectAltName=${names}\nextendedKeyUsage=serverAuth\n`);
  openssl(
    "x509",
    "-req",
    "-in",
    "leaf.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    String(days),
    "-extfile",
    "leaf.ext",
    "-out",
    "leaf.crt",
  );
  openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "other.key");
  return {
    caFile: at("ca.crt"),
    cert: fs.readFileSync(at("leaf.crt"), "utf8"),
    key: fs.readFileSync(at("leaf.key"), "utf8"),
    otherKey: fs.readFileSync(at("other.key"), "utf8"),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

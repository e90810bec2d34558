/**
 * Certificates from an ACME CA (config `tls.acme`), got and renewed on the host by certbot in a
 * throwaway container of the pinned image. Pure.
 *
 * Three volumes: certbot's state (`/etc/letsencrypt`: account, keys, every certificate it got), the
 * webroot the proxy serves `/.well-known/acme-challenge/` from on `httpPort`, and the pair the proxy
 * serves (`cert.pem`, `key.pem`, and the directory they came from). One script does both the first
 * certificate and every renewal: it reads the served certificate and does nothing unless it is
 * missing, for other names or another CA, or expires within `renewBeforeDays` (or `--force` is its
 * first argument). Else certbot answers the HTTP-01 challenge: through the proxy's webroot when the
 * proxy runs, else with its own server on `httpPort` (the first deploy, before the proxy exists).
 * The new pair replaces the served one, and a running proxy reloads gracefully (`nginx -s reload`:
 * old workers finish their requests), so no request fails.
 */
import { StackIdentity, stackPrefix } from "../names";
import { ACME_WEBROOT } from "../proxy/paths";
import { engineAnswers, HOST_LOCK, lines, pullWhenMissing, shq, STRICT } from "../shell";

export interface AcmeSpec {
  /** The stack's prefix: certbot's certificate name. */
  stack: string;
  /** certbot's image (`certbot` on PATH, python3 with `cryptography`). */
  image: string;
  email: string;
  domains: string[];
  directory: string;
  /** The host port HTTP-01 reaches (the proxy's, or certbot's own server before the proxy exists). */
  httpPort: number;
  renewBeforeDays: number;
  volumes: { state: string; webroot: string; tls: string };
  /** The proxy container that serves the pair. */
  proxy: string;
}

const STATE = "/etc/letsencrypt";

/** The volumes of a stack's ACME certificate: certbot's state, the challenge webroot, the served pair. */
export const acmeVolumeNames = (identity: StackIdentity): AcmeSpec["volumes"] => {
  const prefix = stackPrefix(identity);
  return { state: `${prefix}-acme`, webroot: `${prefix}-acme-webroot`, tls: `${prefix}-tls` };
};
const TLS = "/tls";

/**
 * What the served pair needs (python3 + cryptography, as certbot's image has them): prints `missing`,
 * `names`, `directory`, `due <expiry>` or `ok <expiry>` for argv[1] (names, comma-separated),
 * argv[2] (days before expiry) and argv[3] (the directory).
 */
export const CERT_STATE_PY = [
  "import datetime, sys",
  "from cryptography import x509",
  "try:",
  `    cert = x509.load_pem_x509_certificate(open('${TLS}/cert.pem', 'rb').read())`,
  `    came = open('${TLS}/directory').read()`,
  "    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value",
  "except Exception:",
  "    print('missing'); sys.exit()",
  "expiry = getattr(cert, 'not_valid_after_utc', None) or cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)",
  "left = expiry - datetime.datetime.now(datetime.timezone.utc)",
  "if sorted(san.get_values_for_type(x509.DNSName)) != sorted(sys.argv[1].split(',')): print('names')",
  "elif came != sys.argv[3]: print('directory')",
  "else: print('due' if left < datetime.timedelta(days=int(sys.argv[2])) else 'ok', expiry.strftime('%Y-%m-%dT%H:%M:%SZ'), left.days)",
].join("\n");

/** Lines that pull the image when missing and define `state` (the served pair's state) and `certbot_run <docker run args> <image> <certbot args>`. */
function certbotLines(s: AcmeSpec): string[] {
  const v = s.volumes;
  return [
    `proxy=${shq(s.proxy)}`,
    ...pullWhenMissing(s.image, "tls: pulling"),
    `state() { docker run --rm -v ${shq(v.tls)}:${TLS}:ro --entrypoint python3 "$img" -c ${shq(CERT_STATE_PY)} ${shq(s.domains.join(","))} ${s.renewBeforeDays} ${shq(s.directory)}; }`,
    `certbot_run() { docker run --rm -v ${shq(v.state)}:${STATE} -v ${shq(v.webroot)}:${ACME_WEBROOT} --entrypoint certbot "$@"; }`,
  ];
}

/** The script that gets, renews and installs the certificate (`--force` as its first argument: renew now). */
export function acmeScript(s: AcmeSpec): string {
  const names = s.domains.join(",");
  const certbotArgs = [
    "certonly",
    "--non-interactive",
    "--agree-tos",
    "--email",
    s.email,
    "--server",
    s.directory,
    "--cert-name",
    s.stack,
    "--force-renewal",
    ...s.domains.flatMap((d) => ["-d", d]),
  ]
    .map(shq)
    .join(" ");
  const install = [
    "set -e",
    "umask 077",
    `cp -L ${STATE}/live/$1/fullchain.pem ${TLS}/.cert.pem`,
    `cp -L ${STATE}/live/$1/privkey.pem ${TLS}/.key.pem`,
    `chmod 444 ${TLS}/.cert.pem; chmod 400 ${TLS}/.key.pem`,
    `printf %s "$2" > ${TLS}/.directory`,
    `mv ${TLS}/.key.pem ${TLS}/key.pem; mv ${TLS}/.cert.pem ${TLS}/cert.pem; mv ${TLS}/.directory ${TLS}/directory`,
  ].join("; ");
  return lines(
    STRICT,
    ...HOST_LOCK,
    engineAnswers("tls"),
    ...certbotLines(s),
    "now=$(state)",
    "# shellcheck disable=SC2086 # the state's words",
    `case "\${1:-}:$now" in :ok*) set -- $now; echo "tls: the certificate for ${names} is good until $2 ($3 days left); nothing to do"; exit 0 ;; esac`,
    `echo "tls: getting a certificate for ${names} from ${s.directory} ($now\${1:+, forced})"`,
    `if [ "$(docker inspect -f '{{.State.Running}}' "$proxy" 2>/dev/null)" = true ]; then`,
    `  echo "tls: answering the HTTP-01 challenge through the proxy on port ${s.httpPort}"`,
    `  certbot_run "$img" ${certbotArgs} --webroot -w ${ACME_WEBROOT}`,
    "else",
    `  echo "tls: answering the HTTP-01 challenge with certbot's own server on port ${s.httpPort} (no proxy yet)"`,
    `  certbot_run -p ${s.httpPort}:80 "$img" ${certbotArgs} --standalone`,
    "fi",
    `docker run --rm -v ${shq(s.volumes.state)}:${STATE}:ro -v ${shq(s.volumes.tls)}:${TLS} --entrypoint sh "$img" -c ${shq(install)} sh ${shq(s.stack)} ${shq(s.directory)}`,
    "# shellcheck disable=SC2046 # the state's words",
    "set -- $(state)",
    `[ "$1" = ok ] || [ "$1" = due ] || { echo "tls: the installed certificate is not right for ${names} ($*); the proxy was not reloaded; run pulumi up again" >&2; exit 1; }`,
    `if [ "$(docker inspect -f '{{.State.Running}}' "$proxy" 2>/dev/null)" = true ]; then docker exec "$proxy" sh -c 'nginx -t -q && nginx -s reload'; echo "tls: the proxy reloaded gracefully with the new certificate"; fi`,
    `echo "tls: the certificate for ${names} is good until $2"`,
  );
}

/** The scheduled renewal: {@link acmeScript}, a no-op until the certificate is due. */
export function acmeRenewJob(s: AcmeSpec): string {
  return lines("#!/bin/sh", "# Written by copilotos (components/renderers/operations/acme.ts): the stack's certificate renewal.") + acmeScript(s);
}

/** Lines for `ops status`: the served certificate's expiry (or that there is none). */
export type CertificateStatusSpec = Pick<AcmeSpec, "image" | "volumes" | "domains" | "renewBeforeDays" | "directory">;

export function certificateStatusLines(s: CertificateStatusSpec): string[] {
  return [
    `tls_state=$(docker run --rm -v ${shq(s.volumes.tls)}:${TLS}:ro --entrypoint python3 ${shq(s.image)} -c ${shq(CERT_STATE_PY)} ${shq(s.domains.join(","))} ${s.renewBeforeDays} ${shq(s.directory)} 2>/dev/null || echo unreadable)`,
    "# shellcheck disable=SC2086 # the state's words",
    'set -- $tls_state; case $1 in ok) echo "certificate: expires $2 ($3 days left)" ;; due) echo "certificate: expires $2 ($3 days left), due for renewal" ;; *) echo "certificate: $1 (run pulumi up)" ;; esac',
  ];
}

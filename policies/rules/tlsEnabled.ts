import { StackValidationPolicy } from "@pulumi/policy";
import { labelsOf, uploadAt, validateContainers } from "../lib";

/** Where the stack's proxy reads its certificate (components/renderers/proxy/paths.ts TLS_DIR, TLS_CERT). */
const TLS_DIR = "/etc/nginx/tls";
const TLS_CERT = `${TLS_DIR}/cert.pem`;

/**
 * Sign-in forms, JWTs and chat contents cross the network: the proxy should serve HTTPS, with a
 * certificate from config or (`tls.acme`) one from an ACME CA that the host renews itself. Advisory
 * by default; mandatory on prod (policies/config.prod.json).
 */
export const tlsEnabled: StackValidationPolicy = {
  name: "tls-enabled",
  description: "The stack's proxy serves HTTPS (config tls: tls.acme, or tls.certificate and tls.key); plain ports only redirect.",
  enforcementLevel: "advisory",
  configSchema: { properties: {} },
  validateStack: validateContainers((p, args, report) => {
    if (labelsOf(p)["copilotos.service"] !== "proxy") return;
    const copied = uploadAt(p, TLS_CERT) !== undefined;
    const mounted = (p.volumes ?? []).some((v) => v.containerPath === TLS_DIR);
    if (!copied && !mounted)
      report(`${args.name}: serves plain HTTP only; set tls.acme (a certificate from Let's Encrypt, renewed on the host) or tls.certificate and tls.key.`);
  }),
};

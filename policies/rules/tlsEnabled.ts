import { StackValidationPolicy } from "@pulumi/policy";
import { labelsOf, uploadAt, validateContainers } from "../lib";
import { SERVICE, serviceView } from "../swarmLib";

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
  description: "The stack's proxy (a swarm's edge proxies too) serves HTTPS (config tls: tls.acme, or tls.certificate and tls.key); plain ports only redirect.",
  enforcementLevel: "advisory",
  configSchema: { properties: {} },
  validateStack: (args, report) => {
    validateContainers((p, c, report) => {
      if (labelsOf(p)["copilotos.service"] !== "proxy") return;
      const copied = uploadAt(p, TLS_CERT) !== undefined;
      const mounted = (p.volumes ?? []).some((v) => v.containerPath === TLS_DIR);
      if (!copied && !mounted)
        report(`${c.name}: serves plain HTTP only; set tls.acme (a certificate from Let's Encrypt, renewed on the host) or tls.certificate and tls.key.`);
    })(args, report);
    // A swarm's edge proxies: the certificate is a Docker secret at the same path (tls.acme is refused there).
    for (const r of args.resources) {
      if (r.type !== SERVICE) continue;
      const s = serviceView(r.props);
      if (s.service === "proxy" && !s.secrets.some((x) => x.file === TLS_CERT))
        report(`${r.name}: the edge proxies serve plain HTTP only; set tls.certificate and tls.key (a Docker secret each).`, r.urn);
    }
  },
};

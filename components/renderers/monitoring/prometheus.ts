/**
 * prometheus.yml and the blackbox exporter's modules. Pure: YAML text from a {@link MonitoringSpec},
 * checked by the real `promtool check config` and the blackbox exporter in test/monitoring.test.ts.
 */
import { stringify } from "yaml";
import { CHECKS, MONITORING_ADDRESSES, MonitoringSpec, portOf, PROMETHEUS_RULES, SyntheticCheck } from "./spec";
import { PROBE_USER_AGENT } from "./proxyMetrics";

/** The blackbox module of a synthetic check: its status, and its text when given. */
export const checkModule = (c: SyntheticCheck) => `check_${c.name.replace(/-/g, "_")}`;

/** Escapes `text` for an RE2 regular expression (the body match of a blackbox module). */
export function re2Literal(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}]/g, "\\$&");
}

/** An HTTP module; its User-Agent keeps the probes out of the proxy's response counts (proxyMetrics.ts). */
const http = (extra: Record<string, unknown>) => ({
  prober: "http",
  timeout: "5s",
  http: { preferred_ip_protocol: "ip4", headers: { "User-Agent": PROBE_USER_AGENT }, ...extra },
});

/**
 * The probes, as a user sees the stack: the API ready (200; 503 while it cannot reach or
 * authenticate to Mongo), its health answering without "degraded" (the app's body when Mongo
 * fails), the web's front page, a certificate's expiry, and each synthetic check.
 */
export function blackboxConfig(spec: MonitoringSpec): string {
  const modules: Record<string, unknown> = {
    http_ready: http({ valid_status_codes: [200], no_follow_redirects: true }),
    http_api_health: http({ valid_status_codes: [200], no_follow_redirects: true, fail_if_body_matches_regexp: ["degraded"] }),
    http_web: http({ valid_status_codes: [200], no_follow_redirects: true }),
  };
  // The expiry is what is watched; the name is checked by the proxy's clients, and a test CA must not hide it.
  if (spec.tls) modules.tls_expiry = http({ tls_config: { server_name: spec.tls.serverName, insecure_skip_verify: true }, valid_status_codes: [] });
  for (const c of spec.checks) {
    modules[checkModule(c)] = http({
      valid_status_codes: [c.status],
      no_follow_redirects: true,
      ...(c.contains === undefined ? {} : { fail_if_body_not_matches_regexp: [re2Literal(c.contains)] }),
    });
  }
  return stringify({ modules });
}

/** A static target group with labels. */
const group = (targets: string[], labels: Record<string, string> = {}) => ({ targets, ...(Object.keys(labels).length ? { labels } : {}) });

/** One probe target: its URL, the module (a target label relabelled into the `module` parameter) and its `check` label. */
const probe = (url: string, module: string, check: string, kind: "app" | "synthetic" | "tls") => group([url], { module, check, kind });

/**
 * prometheus.yml: the exporters, Alertmanager and the probes through the blackbox exporter, every
 * series labelled with the stack. On a swarm the node exporters are every task of their global
 * service, as Docker's DNS answers `tasks.<service>` (re-read each scrape interval: a node that
 * joins is scraped, one that leaves is dropped).
 */
export function prometheusConfig(spec: MonitoringSpec): string {
  const a = MONITORING_ADDRESSES;
  const probes = [
    probe(spec.probes.apiReady, "http_ready", CHECKS.apiReady, "app"),
    probe(spec.probes.apiHealth, "http_api_health", CHECKS.apiHealth, "app"),
    probe(spec.probes.web, "http_web", CHECKS.web, "app"),
    ...(spec.tls ? [probe(spec.tls.url, "tls_expiry", CHECKS.tls, "tls")] : []),
    ...spec.checks.map((c) => probe(c.url, checkModule(c), c.name, "synthetic")),
  ];
  const job = (name: string, targets: string[]) => ({ job_name: name, static_configs: [group(targets)] });
  return stringify({
    global: {
      scrape_interval: `${spec.scrapeIntervalSeconds}s`,
      evaluation_interval: `${spec.evaluationIntervalSeconds}s`,
      external_labels: { stack: spec.stack },
    },
    rule_files: [PROMETHEUS_RULES],
    alerting: { alertmanagers: [{ static_configs: [group([a.alertmanager])] }] },
    scrape_configs: [
      job("prometheus", [a.prometheus]),
      job("alertmanager", [a.alertmanager]),
      spec.swarm
        ? {
            job_name: "node",
            dns_sd_configs: [
              {
                names: [`tasks.${spec.swarm.nodeExporterService}`],
                type: "A",
                port: portOf("nodeExporter"),
                refresh_interval: `${spec.scrapeIntervalSeconds}s`,
              },
            ],
          }
        : job("node", [a.nodeExporter]),
      job("redis", [a.redisExporter]),
      job("blackbox", [a.blackbox]),
      {
        job_name: "probe",
        metrics_path: "/probe",
        static_configs: probes,
        relabel_configs: [
          { source_labels: ["__address__"], target_label: "__param_target" },
          { source_labels: ["module"], target_label: "__param_module" },
          { source_labels: ["__param_target"], target_label: "instance" },
          { target_label: "__address__", replacement: a.blackbox },
        ],
      },
    ],
  });
}

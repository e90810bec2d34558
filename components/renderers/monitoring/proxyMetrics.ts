/**
 * The proxy's responses by status class, for ProxyErrorRate: each sample of the host's metrics job
 * reads the proxy's access log since the last one (`docker logs --since --until`, whole seconds)
 * and adds what it finds to counters the host keeps in the stack's metrics folder. nginx's stub
 * status has no status codes, and no log exporter is needed for five counters. Pure.
 *
 * Counted: the responses the apps gave, or the proxy gave for them (502 and 504 when an app does not
 * answer). Not counted: the monitoring's own probes (their User-Agent is {@link PROBE_USER_AGENT}),
 * which ApiNotReady and WebDown already judge and which would turn a quiet stack's one failed probe
 * into a 100% error rate, and the maintenance page (nginx's own 503, no upstream).
 */
import { containerName, type StackIdentity } from "../names";
import { shq } from "../shell";

/** The User-Agent the blackbox exporter's probes send (blackboxConfig), so the proxy's counts leave them out. */
export const PROBE_USER_AGENT = "copilotos-monitoring";
/** The proxy's counters in the stack's metrics folder: what the job copies into the node exporter. */
export const PROXY_METRICS_FILE = "proxy.prom";
const CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"];
const METRIC = "copilotos_proxy_responses_total";

/**
 * awk over the access log (`-F '"'`; the proxy's `log_format main`: address, "forwarded for",
 * [time], "request", status bytes time upstream, "user agent"): the counts so far read back from
 * the last sample's metrics file (`prom`), this window's added, the metrics printed.
 */
const TO_PROXY_METRICS = [
  "BEGIN {",
  `  n = split("${CLASSES.join(" ")}", k, " "); for (i = 1; i <= n; i++) c[k[i]] = 0`,
  // The last sample's lines `<metric>{code="2xx"} 41`: the class between the quotes, the count after `} `.
  `  while ((getline l < prom) > 0) if (index(l, "${METRIC}{code=") == 1) { split(l, f, "\\""); if (f[2] in c) c[f[2]] = substr(l, index(l, "} ") + 2) + 0 }`,
  "}",
  "NF >= 7 {",
  '  split($5, w, " ")',
  `  if (w[1] ~ /^[1-5][0-9][0-9]$/ && w[4] != "-" && $6 != "${PROBE_USER_AGENT}") c[substr(w[1], 1, 1) "xx"]++`,
  "}",
  "END {",
  `  print "# HELP ${METRIC} Responses the proxy gave for the apps, by status class (probes and the maintenance page not counted)."`,
  `  print "# TYPE ${METRIC} counter"`,
  `  for (i = 1; i <= n; i++) printf "${METRIC}{code=\\"%s\\"} %d\\n", k[i], c[k[i]]`,
  "}",
].join("\n");

/** The single host's proxy log from the last sample's end (`$since`) to now (`$now`): its container's. */
export const proxyContainerLogs = (id: StackIdentity): string => `timeout 10 docker logs --since "$since" --until "$now" ${shq(containerName(id, "proxy"))}`;

/**
 * One sample's lines, after `$mdir` is set: the access log from the last sample's end to now (`logs`,
 * a command printing it: {@link proxyContainerLogs} by default) added to the counters in
 * {@link PROXY_METRICS_FILE} (which keeps them between samples). The first sample starts counting
 * from now; a proxy that is not there (or a log driver `docker logs` cannot read) adds nothing.
 */
export function proxyCountLines(id: StackIdentity, logs = proxyContainerLogs(id)): string[] {
  const state = (f: string) => `"$mdir/${f}"`;
  return [
    "now=$(date +%s)",
    `since=$(cat ${state("proxy.since")} 2>/dev/null || echo "$now")`,
    `{ ${logs} 2>/dev/null || true; } | awk -F '"' -v prom=${state(PROXY_METRICS_FILE)} ${shq(TO_PROXY_METRICS)} > ${state(`${PROXY_METRICS_FILE}.next`)}`,
    `mv ${state(`${PROXY_METRICS_FILE}.next`)} ${state(PROXY_METRICS_FILE)}; echo "$now" > ${state("proxy.since")}`,
  ];
}

/**
 * Stand-ins for the monitoring's upstream images (prom/prometheus, prom/alertmanager,
 * prom/blackbox-exporter, prom/node-exporter, oliver006/redis_exporter), which cannot be pulled
 * here: this machine's Debian builds of the same programs, at the upstream images' paths and with
 * their entrypoints, on busybox (whose wget the health checks use, as upstream's busybox base has).
 */
import type { MonitoringPart } from "../../components/renderers/monitoring/containers";
import { binaryFiles, busyboxImage } from "./testImages";

export const MONITORING_STANDIN_TAGS: Record<MonitoringPart, string> = {
  prometheus: "cpt-standin/prometheus:1",
  alertmanager: "cpt-standin/alertmanager:1",
  blackbox: "cpt-standin/blackbox:1",
  nodeExporter: "cpt-standin/node-exporter:1",
  redisExporter: "cpt-standin/redis-exporter:1",
};

/** Each part: Debian's program, where the upstream image has it, and the folders it writes or reads. */
const PARTS: Record<MonitoringPart, { program: string; at: string; dirs: string[]; hostDirs?: string[]; tools?: Record<string, string> }> = {
  prometheus: { program: "/usr/bin/prometheus", at: "/bin/prometheus", dirs: ["/etc/prometheus", "/prometheus"] },
  // Debian's build reads its notification templates from its package's folder.
  alertmanager: {
    program: "/usr/bin/prometheus-alertmanager",
    at: "/bin/alertmanager",
    dirs: ["/etc/alertmanager", "/alertmanager"],
    hostDirs: ["/usr/share/prometheus/alertmanager"],
    // amtool, as upstream's image has it: maintenance silences.
    tools: { "/bin/amtool": "/usr/bin/amtool" },
  },
  blackbox: { program: "/usr/bin/prometheus-blackbox-exporter", at: "/bin/blackbox_exporter", dirs: ["/etc/blackbox_exporter"] },
  nodeExporter: { program: "/usr/bin/prometheus-node-exporter", at: "/bin/node_exporter", dirs: ["/textfile"] },
  redisExporter: { program: "/usr/bin/prometheus-redis-exporter", at: "/redis_exporter", dirs: ["/run/secrets"] },
};

/** Builds the five stand-ins in the engine `dockerArgs` reach. */
export function buildMonitoringStandins(dockerArgs: string[]): void {
  for (const [part, p] of Object.entries(PARTS) as [MonitoringPart, (typeof PARTS)[MonitoringPart]][]) {
    busyboxImage(dockerArgs, MONITORING_STANDIN_TAGS[part], {
      hostFiles: [p.program, ...Object.values(p.tools ?? {})].flatMap((b) => binaryFiles(b).filter((f) => f !== b)),
      executables: { [p.at]: p.program, ...p.tools },
      dirs: p.dirs,
      hostDirs: p.hostDirs,
      files: { "/etc/passwd": "root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n" },
      entrypoint: [p.at],
      cmd: [],
    });
  }
}

/** Config that points a stack's monitoring at the stand-ins. */
export const MONITORING_STANDIN_SETTINGS = Object.entries(MONITORING_STANDIN_TAGS).map(([part, tag]) => `copilotos:images.${part}=${tag}`);

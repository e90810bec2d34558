/** A prod stack's monitoring spec with everything on (TLS, backups, a check): the renderers' tests' fixture. */
import type { MonitoringSpec } from "../../components/renderers/monitoring/spec";

export const SPEC: MonitoringSpec = {
  stack: "prod",
  scrapeIntervalSeconds: 15,
  evaluationIntervalSeconds: 15,
  thresholds: {
    diskFreePercent: 10,
    memoryAvailablePercent: 10,
    certificateDays: 14,
    backupMaxAgeHours: 26,
    redisMemoryPercent: 90,
    restarts: 3,
    restartWindowMinutes: 15,
    proxyErrorPercent: 5,
  },
  probes: { apiReady: "http://proxy:8001/api/health/ready", apiHealth: "http://proxy:8001/api/health", web: "http://proxy:3000/" },
  tls: { url: "https://proxy:3443/", serverName: "chat.example.com" },
  backups: true,
  checks: [{ name: "login-page", url: "http://proxy:3000/login", status: 200, contains: "Sign in (beta)" }],
};

/**
 * The health gate, run on the host after an app container is created or replaced. Pure.
 * It polls the app through the host's published port; on timeout it prints the container's last
 * log lines and Docker health log with every secret value (read from stdin, one per line) masked.
 */
import { lines, shq, STRICT } from "./shell";

export interface HealthGateSpec {
  /** Container whose logs are shown on failure. */
  container: string;
  /** URL polled on the host, e.g. `http://127.0.0.1:8001/api/health`. */
  url: string;
  timeoutSeconds: number;
  intervalSeconds: number;
  /** Log lines shown on failure. @default 50 */
  tailLines?: number;
}

/** awk program replacing every literal secret (from $SECRETS, newline-separated) with [secret]. */
export const REDACT_AWK =
  'BEGIN { n = split(ENVIRON["SECRETS"], s, "\\n") } ' +
  '{ for (i = 1; i <= n; i++) if (length(s[i]) > 0) while ((p = index($0, s[i])) > 0) $0 = substr($0, 1, p - 1) "[secret]" substr($0, p + length(s[i])); print }';

export function healthGateScript(h: HealthGateSpec): string {
  return lines(
    STRICT,
    // Secrets arrive on stdin so they are on no command line; only awk's environment sees them.
    "SECRETS=$(cat); export SECRETS",
    `ctr=${shq(h.container)}; url=${shq(h.url)}`,
    `deadline=$(( $(date +%s) + ${h.timeoutSeconds} ))`,
    "while :; do",
    `  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time ${Math.max(1, Math.min(10, h.intervalSeconds * 2))} "$url" || true)`,
    '  if [ "$code" = 200 ]; then echo "health: $url answered 200"; exit 0; fi',
    "  now=$(date +%s)",
    '  [ "$now" -lt "$deadline" ] || break',
    '  echo "health: waiting for $url (last status ${code:-none}; $((deadline - now))s left)"',
    `  sleep ${h.intervalSeconds}`,
    "done",
    `echo "health: $url did not answer 200 within ${h.timeoutSeconds}s (last status \${code:-none}); last log lines of $ctr:" >&2`,
    "{",
    `  docker logs --tail ${h.tailLines ?? 50} "$ctr" 2>&1 || true`,
    `  echo "health log of $ctr:"`,
    `  docker inspect --format '{{range .State.Health.Log}}{{.End}} exit={{.ExitCode}} {{.Output}}{{end}}' "$ctr" 2>&1 || true`,
    `} | awk ${shq(REDACT_AWK)} >&2`,
    "exit 1",
  );
}

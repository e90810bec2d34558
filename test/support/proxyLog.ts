/**
 * What the stack's nginx logged of trouble (components/renderers/proxy/conf.ts: its access log's
 * `"$request" $status $body_bytes_sent $request_time $upstream_addr` and its error log on stderr):
 * for a load test's message when a request failed, the proxy's side of it. Pure.
 */

/** An access log line's status, seconds and upstreams (more than one: nginx tried the next). */
const ACCESS = /"[A-Z]+ [^"]*" (\d{3}) \d+ (\d+(?:\.\d+)?) (.*) "[^"]*"$/;
const ERROR = /\[(?:warn|error|crit|alert|emerg)\]/;

/**
 * The lines of `text` (the proxy's log, stdout and stderr) that show trouble: an answer of 500 or
 * more, one that took `slowSeconds` or more, one that needed a second upstream, and nginx's warnings
 * and errors. The first `max`.
 */
export function proxyTrouble(text: string, max = 8, slowSeconds = 2): string[] {
  const bad = (line: string) => {
    const m = ACCESS.exec(line);
    if (m) return Number(m[1]) >= 500 || Number(m[2]) >= slowSeconds || m[3].includes(",");
    return ERROR.test(line);
  };
  return text.split("\n").filter(bad).slice(0, max);
}

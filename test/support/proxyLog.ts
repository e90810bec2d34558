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
 * more, one that needed a second upstream, and nginx's warnings and errors first, in log order; then
 * the answers that took `slowSeconds` or more. The first `max`.
 */
export function proxyTrouble(text: string, max = 8, slowSeconds = 2): string[] {
  const failed: string[] = [];
  const slow: string[] = [];
  for (const line of text.split("\n")) {
    const m = ACCESS.exec(line);
    if (m ? Number(m[1]) >= 500 || m[3].includes(",") : ERROR.test(line)) failed.push(line);
    else if (m && Number(m[2]) >= slowSeconds) slow.push(line);
  }
  return [...failed, ...slow].slice(0, max);
}

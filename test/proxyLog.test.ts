/** The proxy log filter a load test's failure message uses (test/support/proxyLog.ts). */
import { proxyTrouble } from "./support/proxyLog";

const access = (status: number, seconds: string, upstream: string) =>
  `10.202.0.1 "-" [07/Dec/2026:13:40:01 +0000] "GET /api/standin/auth HTTP/1.1" ${status} 45 ${seconds} ${upstream} "node"`;

test("keeps 5xx, retried upstreams and nginx's warnings and errors, then slow answers; drops the rest; at most max", () => {
  const lines = [
    access(200, "0.004", "10.0.1.5:8001"),
    access(502, "0.001", "10.0.1.5:8001"),
    access(200, "2.013", "10.0.1.6:8001"),
    access(200, "1.999", "10.0.1.6:8001"),
    access(200, "2.004", "10.0.1.5:8001, 10.0.1.6:8001"),
    access(404, "0.002", "10.0.1.6:8001"),
    "2026/12/07 13:40:01 [error] 23#23: *9 upstream timed out (110: Connection timed out) while connecting to upstream",
    "2026/12/07 13:40:01 [notice] 1#1: signal process started",
  ];
  expect(proxyTrouble(lines.join("\n"))).toEqual([lines[1], lines[4], lines[6], lines[2]]);
  expect(proxyTrouble(lines.join("\n"), 2)).toEqual([lines[1], lines[4]]);
  expect(proxyTrouble(access(200, "0.5", "10.0.1.5:8001, 10.0.1.6:8001"), 8, 3)).toHaveLength(1);
  expect(proxyTrouble(access(200, "0.5", "10.0.1.5:8001"))).toEqual([]);
});

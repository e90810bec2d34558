/** PromQL from the tests, asked inside a Prometheus container (the monitoring publishes no port). */

export interface Series {
  metric: Record<string, string>;
  value: [number, string];
}

/** A PromQL query's series, through `docker` (the engine the Prometheus container `prometheus` runs on). */
export function queryProm(docker: (...args: string[]) => string, prometheus: string, promql: string): Series[] {
  const out = docker("exec", prometheus, "wget", "-qO-", `http://127.0.0.1:9090/api/v1/query?query=${encodeURIComponent(promql)}`);
  return (JSON.parse(out) as { data: { result: Series[] } }).data.result;
}

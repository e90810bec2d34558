/**
 * The pids limit of each container of the stack, set with `docker update --pids-limit` on the host:
 * the Docker provider's Container has no such input. Pure.
 */
import { engineAnswers, lines, shq, STRICT } from "../shell";

/** Sets each container's limit (what it runs, its name, the limit) and reads it back. */
export function pidsLimitsScript(limits: [string, string, number][]): string {
  return lines(
    STRICT,
    engineAnswers("pids limits"),
    ...limits.flatMap(([, container, limit]) => [
      `docker update --pids-limit ${limit} ${shq(container)} >/dev/null`,
      `[ "$(docker inspect --format '{{.HostConfig.PidsLimit}}' ${shq(container)})" = ${limit} ] || { echo ${shq(`pids limits: ${container} did not take its limit of ${limit}`)} >&2; exit 1; }`,
    ]),
    `echo ${shq(`pids limits: ${limits.map(([service, , limit]) => `${service} ${limit}`).join(", ")}`)}`,
  );
}

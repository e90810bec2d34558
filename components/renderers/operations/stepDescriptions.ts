/**
 * One line per host step saying what it does, from names and numbers only (never a secret): the
 * comment that heads each host script (shell.ts describedScript), so `npm run check` and
 * `pulumi preview` read like a plan. Pure.
 */
import type { SwarmPreflightSpec } from "../swarm/preflight";
import { createHash } from "node:crypto";
import type { FirewallSpec } from "../hosts/firewall";
import type { OsUpdatesSpec } from "../hosts/osUpdates";
import type { AcmeSpec } from "./acme";
import type { AdoptSpec } from "./adopt";
import type { BackupSpec } from "./backup";
import type { GateRoute, HealthGateSpec } from "./health";
import { offsiteWhere, OffsiteSpec } from "./offsite";
import type { PreflightSpec } from "./preflight";
import type { RotationSpec } from "./rotation";

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

export function preflightDoes(s: PreflightSpec): string {
  const names = [plural(s.containers.length, "container"), plural(s.volumes.length, "volume"), plural(s.networks.length, "network")].join(", ");
  const adopt = s.adopt ? `; compose project ${s.adopt.composeProject} and its ${plural(s.adopt.volumes.length, "volume")} to take over` : "";
  return `preflight: read-only checks: engine answers, ports ${s.ports.join(",") || "none"} free, ${names} not another's, ${s.minFreeMb} MiB free${adopt}`;
}

export function swarmPreflightDoes(s: SwarmPreflightSpec): string {
  return `preflight: read-only checks through the manager: ${plural(s.nodes.length, "node")} in the swarm with their roles (data node ${s.dataNode} ready), ports ${s.ports.join(",")} published by no other service, ${plural(s.services.length, "service")} and network ${s.network} not another's, ${s.minFreeMb} MiB free on the data node`;
}

export function backupDoes(s: Pick<BackupSpec, "volume" | "dir" | "keep" | "offsite" | "swarm">, before: string): string {
  const offsite = s.offsite ? `, and into the restic repository ${offsiteWhere(s.offsite.target)}` : "";
  const where = s.swarm ? ` on node ${s.swarm.node}` : "";
  return `backup ${before}: fsyncLock + archive ${s.volume}${where} into ${s.dir}, verified, newest ${s.keep} kept${offsite}`;
}

export function offsiteDoes(o: Pick<OffsiteSpec, "target" | "secretsDir" | "image">): string {
  return `offsite: the password and credentials of the restic repository ${offsiteWhere(o.target)} into ${o.secretsDir} (0600); ${o.image} on the host`;
}

export function scheduleDoes(schedule: string, s: Pick<BackupSpec, "volume">): string {
  return `backup schedule: crontab line (${schedule}) backs up ${s.volume} between deploys`;
}

export function rotationDoes(s: RotationSpec): string {
  return `rotate: the Mongo password of ${s.user} changed inside ${s.swarm ? `the task of ${s.swarm.service} on node ${s.swarm.node}` : s.container}`;
}

export function cutoverDoes(s: AdoptSpec): string {
  return `cut-over: stop compose project ${s.composeProject}'s containers (its volumes stay)`;
}

export function readyDoes(container: string, timeoutSeconds: number): string {
  return `ready: ${container} healthy (its HEALTHCHECK), ${timeoutSeconds} s`;
}

export function gateDoes(s: Pick<HealthGateSpec, "url" | "timeoutSeconds">, container: string, route?: Pick<GateRoute, "service">): string {
  const where = route ? `${route.service} ${new URL(s.url).pathname} through the proxy` : `${container} at ${s.url}`;
  return `gate: ${where}, ${s.timeoutSeconds} s${route ? `; the route back to the previous ${route.service} on failure` : ""}`;
}

export function routeDoes(service: string, container: string, drainSeconds: number): string {
  return `route: ${service} to ${container} (proxy reload, ${drainSeconds} s drain)`;
}

export function migrateDoes(container: string, command: string[]): string {
  return `migrate: ${command.join(" ")} in ${container} before the route switch`;
}

export function swarmMigrateDoes(command: string[], network: string): string {
  return `migrate: ${command.join(" ")} in a one-off task of the new API image on ${network}, before the API's rolling update`;
}

export function pruneDoes(repository: string, keep: number): string {
  return `prune: keep the newest ${keep} versions of ${repository} (one in use always stays)`;
}

export const AWS_READY_DOES = "ready: the instance booted, its data volume mounted, Docker answers";

export function nodeLabelsDoes(nodes: number): string {
  return `labels: roles and labels of ${plural(nodes, "swarm node")}`;
}

export function firewallTrialDoes(s: Pick<FirewallSpec, "stack" | "sshPort" | "ports" | "trialSeconds">): string {
  return `firewall: ${s.stack}'s rules (SSH ${s.sshPort}, ports ${s.ports.join(",")}; every other inbound port closed) checked against this SSH connection and applied on trial for ${s.trialSeconds} s`;
}

export function firewallConfirmDoes(s: Pick<FirewallSpec, "stack">, entries: string): string {
  return `firewall: ${s.stack}'s rules (entries ${createHash("sha256").update(entries).digest("hex").slice(0, 12)}) kept over a new SSH connection, applied again at every engine start`;
}

export function acmeDoes(s: Pick<AcmeSpec, "domains" | "directory" | "httpPort" | "renewBeforeDays">): string {
  return `tls: a certificate for ${s.domains.join(",")} from ${s.directory} (HTTP-01 on port ${s.httpPort}), kept until ${s.renewBeforeDays} days before it expires`;
}

export function renewalDoes(schedule: string, s: Pick<AcmeSpec, "domains">): string {
  return `tls renewal: crontab line (${schedule}) renews the certificate for ${s.domains.join(",")} when due and reloads the proxy`;
}

export function containerMetricsDoes(schedule: string, nodeExporter: string): string {
  return `container metrics: crontab line (${schedule}) copies the stack's containers' health and restarts into ${nodeExporter}`;
}

export function osUpdatesDoes(s: OsUpdatesSpec): string {
  return `os updates: unattended-upgrades installs this release's security updates daily; reboot ${s.reboot === "auto" ? `at ${s.rebootTime} when needed` : "never"}`;
}

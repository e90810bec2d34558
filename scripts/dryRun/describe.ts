/** Human-readable rows for recorded resources. Secret inputs render as `[secret]`. Pure. */
import { hasUrlCredentials, isSecretName } from "../../policies/lib";
import { describeAws } from "./describeAws";
import type { RecordedResource } from "../mockRuntime/harness";
import { HOST_LOCK, scriptDescription, STRICT } from "../../components/renderers/shell";

function maskEnv(entry: string): string {
  const eq = entry.indexOf("=");
  const name = entry.slice(0, eq);
  const value = entry.slice(eq + 1);
  return value !== "[secret]" && (isSecretName(name) || hasUrlCredentials(value)) ? `${name}=[secret]` : entry;
}

export interface Row {
  type: string;
  name: string;
  summary: string;
}

/** A copy of the inputs with every secret path replaced by "[secret]". */
export function maskSecrets(r: RecordedResource): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(r.inputs)) as Record<string, unknown>;
  for (const p of r.secretPaths) {
    const parts = p.split(".");
    let cur: Record<string, unknown> = copy;
    for (const part of parts.slice(0, -1)) cur = cur[part] as Record<string, unknown>;
    if (cur) cur[parts[parts.length - 1]] = "[secret]";
  }
  return copy;
}

type Ports = { ip: string; external: number; internal: number }[];
type Uploads = { file: string; content: string }[];

export function describeResource(r: RecordedResource): Row {
  const i = maskSecrets(r);
  const type = r.type.replace(/^([a-z-]+):[^:]*:/, "$1:");
  const parts: string[] = [];
  switch (r.type) {
    case "docker:index/container:Container": {
      parts.push(`name=${i.name}`, `image=${i.image}`);
      const ports = (i.ports as Ports | undefined) ?? [];
      parts.push(`ports=${ports.length ? ports.map((p) => `${p.ip}:${p.external}->${p.internal}`).join(",") : "none"}`);
      // Secret-looking env values are masked even when they were typed in plain config.
      if (Array.isArray(i.envs)) parts.push(`env=[${(i.envs as string[]).map(maskEnv).join(" ")}]`);
      // File paths are not secret; contents are shown only as [secret] or (text).
      const uploads = (r.inputs.uploads as Uploads | undefined) ?? [];
      const secretContent = (n: number) => r.secretPaths.some((p) => p === "uploads" || p.startsWith(`uploads.${n}.`));
      if (uploads.length) parts.push(`files=[${uploads.map((u, n) => `${u.file}=${secretContent(n) ? "[secret]" : "(text)"}`).join(" ")}]`);
      // A files writer (components/services/serviceFiles.ts) is created and never started: nothing runs.
      if (i.start === false) parts.push("never started (writes the files into its volumes)");
      else parts.push(`memory=${i.memory}MiB`, `cpus=${i.cpus}`, `restart=${i.restart}`, `health=${i.healthcheck ? "yes" : "no"}`);
      // A volume without a name is the container's own (anonymous, removed with it).
      const volumes = (i.volumes as { volumeName?: string; containerPath: string; readOnly?: boolean }[] | undefined) ?? [];
      if (volumes.length)
        parts.push(`volumes=[${volumes.map((v) => `${v.volumeName ?? "(its own)"}:${v.containerPath}${v.readOnly ? ":ro" : ""}`).join(" ")}]`);
      if (i.readOnly === true) parts.push("read-only root");
      break;
    }
    case "docker:index/volume:Volume":
    case "docker:index/network:Network":
      parts.push(`name=${i.name}`);
      if (r.opts.retainOnDelete) parts.push("retainOnDelete");
      if (r.opts.protect) parts.push("protect");
      break;
    case "docker:index/secret:Secret":
    case "docker:index/serviceConfig:ServiceConfig":
      parts.push(`name=${i.name}`, `data=${r.type.endsWith("Secret") ? "[secret]" : "(text)"}`);
      if (r.opts.retainOnDelete) parts.push("retainOnDelete");
      break;
    case "docker:index/service:Service": {
      type Task = { containerSpec: { image: string; secrets?: { fileName: string }[] }; placement?: { constraints?: string[] } };
      const task = i.taskSpec as Task;
      const mode = i.mode as { global?: boolean; replicated?: { replicas: number } };
      const ports = ((i.endpointSpec as { ports?: { publishedPort: number; targetPort: number }[] }).ports ?? []).map(
        (p) => `${p.publishedPort}->${p.targetPort}`,
      );
      parts.push(`name=${i.name}`, `image=${task.containerSpec.image}`, mode.global ? "global" : `replicas=${mode.replicated?.replicas}`);
      if (task.placement?.constraints?.length) parts.push(`on=[${task.placement.constraints.join(", ")}]`);
      if (ports.length) parts.push(`host-ports=${ports.join(",")}`);
      if (task.containerSpec.secrets?.length) parts.push(`secrets=[${task.containerSpec.secrets.map((x) => x.fileName).join(" ")}]`);
      parts.push(`update=${(i.updateConfig as { order: string }).order}`);
      break;
    }
    case "random:index/randomPassword:RandomPassword":
      parts.push(`length=${i.length}`, `special=${JSON.stringify(i.overrideSpecial ?? "")}`, "result=[secret]");
      break;
    case "docker:index/remoteImage:RemoteImage":
      parts.push(`name=${i.name}`);
      break;
    case "docker:index/image:Image":
      {
        const b = i.build as { context?: string; target?: string; args?: Record<string, string> } | undefined;
        // Build args are shown: Next.js bakes NEXT_PUBLIC_API_URL into the web bundle, so a new URL is a visible rebuild.
        const args = Object.entries(b?.args ?? {}).map(([k, v]) => `${k}=${v}`);
        parts.push(
          `imageName=${i.imageName}`,
          `context=${b?.context}`,
          ...(b?.target ? [`target=${b.target}`] : []),
          ...(args.length ? [`args=[${args.join(" ")}]`] : []),
          `push=${i.skipPush ? "no" : "yes"}`,
        );
      }
      break;
    case "command:remote:Command":
    case "command:local:Command": {
      // What the step says it does (the script's heading comment); else its first line after `set -eu` and the host lock.
      const script = String(i.create ?? "");
      const does = scriptDescription(script);
      const what = script.split("\n").find((l) => l && l !== STRICT && !HOST_LOCK.includes(l)) ?? "";
      // The connection is secret as a whole (it carries the key); user, host and port are not.
      const conn = r.inputs.connection as { user?: string; host?: string; port?: number } | undefined;
      parts.push(
        conn ? `on=${conn.user}@${conn.host}:${conn.port}` : "on=local",
        does !== undefined ? `does="${does}"` : `runs="${what.length > 60 ? `${what.slice(0, 57)}...` : what}"`,
      );
      break;
    }
    case "pulumi:providers:docker":
      parts.push(`host=${i.host}`, ...(i.sshOpts ? ["sshOpts=[secret]"] : []));
      break;
    default:
      parts.push(...(describeAws(r, i) ?? [r.type.startsWith("copilotos:") ? "(component)" : ""]));
  }
  return { type, name: r.name, summary: parts.filter(Boolean).join(" ") };
}

/** A plain text table; the last column is not padded. */
export function renderTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (c < headers.length - 1 ? r[c].length : 0))));
  const line = (cells: string[]) => cells.map((cell, c) => (c < cells.length - 1 ? cell.padEnd(widths[c]) : cell)).join("  ");
  return [line(headers), ...rows.map(line)].join("\n");
}

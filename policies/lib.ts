import * as docker from "@pulumi/docker";
import { PolicyResource, ReportViolation, ResourceValidation, ResourceValidationArgs, StackValidation, validateResourceOfType } from "@pulumi/policy";
import { posix } from "node:path";
import { containerName } from "../components/renderers/names";
import { LABEL_FILES_FOR } from "../components/renderers/services/files";

/** Shared reading of Docker resource props for the rules. Pure. */

export const CONTAINER = "docker:index/container:Container";
export const VOLUME = "docker:index/volume:Volume";
export const DOCKER_PROVIDER = "pulumi:providers:docker";
export const RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword";

export interface ContainerProps {
  name?: string;
  image?: string;
  envs?: string[];
  uploads?: { file: string; content?: string }[];
  ports?: { internal: number; external?: number; ip?: string; protocol?: string }[];
  labels?: { label: string; value: string }[];
  networksAdvanced?: { name: string; aliases?: string[] }[];
  healthcheck?: { tests?: string[] };
  restart?: string;
  memory?: number;
  logDriver?: string;
  logOpts?: Record<string, string>;
  privileged?: boolean;
  command?: string[];
  securityOpts?: string[];
  capabilities?: { adds?: string[]; drops?: string[] };
  volumes?: { volumeName?: string; containerPath?: string; hostPath?: string }[];
  readOnly?: boolean;
  /** false: created and never started (a service's files writer, components/services/serviceFiles.ts). */
  start?: boolean;
}

export type Service = "mongo" | "redis" | "api" | "web";

export function labelsOf(p: { labels?: { label: string; value: string }[] }): Record<string, string> {
  return Object.fromEntries((p.labels ?? []).map((l) => [l.label, l.value]));
}

/** The service a container runs: its `copilotos.service` label, else guessed from the image. */
export function serviceOf(p: ContainerProps): Service | undefined {
  const label = labelsOf(p)["copilotos.service"];
  if (label === "mongo" || label === "redis" || label === "api" || label === "web") return label;
  const image = (p.image ?? "").split("/").pop() ?? "";
  if (/^mongo(:|@|$)/.test(image)) return "mongo";
  if (/^redis(:|@|$)/.test(image)) return "redis";
  return undefined;
}

export function envOf(p: ContainerProps): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of p.envs ?? []) {
    const eq = e.indexOf("=");
    if (eq > 0) env[e.slice(0, eq)] = e.slice(eq + 1);
  }
  return env;
}

export function uploadAt(p: ContainerProps, file: string | undefined): string | undefined {
  return file === undefined ? undefined : p.uploads?.find((u) => u.file === file)?.content;
}

/** A value named by `NAME` or by `NAME_FILE` (then read from the uploaded file). */
export function envOrFile(p: ContainerProps, name: string): { value: string; where: string }[] {
  const env = envOf(p);
  const found: { value: string; where: string }[] = [];
  if (env[name] !== undefined) found.push({ value: env[name], where: `env ${name}` });
  const file = env[`${name}_FILE`];
  const content = uploadAt(p, file);
  if (file !== undefined && content !== undefined) found.push({ value: content.trim(), where: `file ${file}` });
  return found;
}

/**
 * A secret as the app's loader finds it (components/renderers/services/appContract.ts): `/run/secrets/<NAME>`,
 * `/run/secrets/<name>`, env `<NAME>`, then `/etc/copilotos/secrets/<name>`; the first non-empty wins.
 */
export function appSecretOf(p: ContainerProps, name: string): { value: string; where: string } | undefined {
  const files = [`/run/secrets/${name}`, `/run/secrets/${name.toLowerCase()}`];
  for (const file of files) {
    const content = uploadAt(p, file)?.trim();
    if (content) return { value: content, where: `file ${file}` };
  }
  const env = envOf(p)[name];
  if (env) return { value: env, where: `env ${name}` };
  const file = `/etc/copilotos/secrets/${name.toLowerCase()}`;
  const content = uploadAt(p, file)?.trim();
  return content ? { value: content, where: `file ${file}` } : undefined;
}

/** Env names that hold secrets. `*_FILE` names hold paths, not secrets. */
export function isSecretName(name: string): boolean {
  // A file path, or a value Next.js bakes into the bundle every browser downloads: public by definition.
  if (name.endsWith("_FILE") || name.startsWith("NEXT_PUBLIC_")) return false;
  return /PASSWORD|SECRET|TOKEN|(^|_)KEY$|_KEY_|PASSWD|CREDENTIAL/i.test(name);
}

/** `scheme://user:password@host`: a URL carrying credentials. */
export function hasUrlCredentials(value: string): boolean {
  // Parsed, not matched with nested quantifiers: linear on a 100 kB value (the regex took 40 s).
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(value);
  if (!scheme) return false;
  const rest = value.slice(scheme[0].length);
  const slash = rest.indexOf("/");
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const at = authority.indexOf("@");
  if (at < 0) return false;
  const userinfo = authority.slice(0, at);
  const colon = userinfo.indexOf(":");
  return colon >= 0 && colon < userinfo.length - 1 && !/\s/.test(userinfo);
}

/** Secret files the stack delivers: uploads under /run/secrets. */
export function secretUploads(p: ContainerProps) {
  return (p.uploads ?? []).filter((u) => u.file.startsWith("/run/secrets/"));
}

/** Provider config may arrive as JSON text. */
export function jsonish<T>(v: unknown): T | undefined {
  if (typeof v === "string") {
    try {
      return JSON.parse(v) as T;
    } catch {
      return undefined;
    }
  }
  return v as T | undefined;
}

/** A container that is created and never started runs nothing: a service's files writer. */
export const neverStarts = (p: ContainerProps): boolean => p.start === false;

/**
 * A validation of docker Containers that reads their props as {@link ContainerProps}; a container
 * that never starts is left out (its files count where they are read: {@link validateContainers}).
 */
export function validateContainer(check: (p: ContainerProps, args: ResourceValidationArgs, report: ReportViolation) => void): ResourceValidation {
  return validateResourceOfType(docker.Container, (c, args, report) => {
    if (!neverStarts(c as unknown as ContainerProps)) check(c as unknown as ContainerProps, args, report);
  });
}

/** The stack's containers that run (every one but the files writers). */
export const runningContainers = (resources: PolicyResource[]): PolicyResource[] =>
  resources.filter((r) => r.type === CONTAINER && !neverStarts(r.props as ContainerProps));

/** The name a container's files are written for (the writer's label): an app container's name without its suffix, else its name. */
function filesBase(p: ContainerProps): string | undefined {
  const l = labelsOf(p);
  const service = l["copilotos.service"];
  if (service === "api" || service === "web") return containerName({ project: l["copilotos.project"], stack: l["copilotos.stack"] }, service);
  return typeof p.name === "string" ? p.name : undefined;
}

/**
 * The stack's running containers, each with the files it reads: its own uploads and those its writer
 * (labelled for it) copied into a volume it mounts at the file's folder. A read-only container's
 * files are all on such volumes (components/renderers/services/files.ts).
 */
export function withFiles(resources: PolicyResource[]): PolicyResource[] {
  const containers = resources.filter((r) => r.type === CONTAINER);
  const writers = containers.map((r) => r.props as ContainerProps).filter(neverStarts);
  return runningContainers(resources).map((r) => {
    const p = r.props as ContainerProps;
    const base = filesBase(p);
    const read = writers
      .filter((w) => base !== undefined && labelsOf(w)[LABEL_FILES_FOR] === base)
      .flatMap((w) =>
        (w.uploads ?? []).filter((u) => {
          const folder = posix.dirname(u.file);
          const theirs = (w.volumes ?? []).find((v) => v.containerPath === folder)?.volumeName;
          const mine = (p.volumes ?? []).find((v) => v.containerPath === folder);
          // Names not known yet (a first preview) match by folder alone.
          return mine !== undefined && (typeof theirs !== "string" || typeof mine.volumeName !== "string" || theirs === mine.volumeName);
        }),
      );
    return read.length ? { ...r, props: { ...r.props, uploads: [...(p.uploads ?? []), ...read] } } : r;
  });
}

/** {@link validateContainer} over the stack: each running container with the files it reads ({@link withFiles}). */
export function validateContainers(
  check: (p: ContainerProps, args: Pick<ResourceValidationArgs, "name" | "getConfig">, report: (message: string) => void) => void,
): StackValidation {
  return (args, report) => {
    for (const r of withFiles(args.resources))
      check(r.props as ContainerProps, { name: r.name, getConfig: args.getConfig }, (message) => report(message, r.urn));
  };
}

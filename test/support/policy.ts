/** Typed fake resources for policy tests (like awsguard's test util), with configSchema defaults applied by evaluate(). */
import type { GraphResource } from "../../policies/evaluate";
import { ContainerProps, labelsOf } from "../../policies/lib";
import { filesFolders } from "../../components/renderers/services/files";

let counter = 0;
function resource(type: string, name: string, props: object, opts: GraphResource["opts"] = {}): GraphResource {
  return { type, name, urn: `urn:pulumi:test::copilotos::${type}::${name}-${counter++}`, props: props as Record<string, unknown>, opts };
}

const labels = (service: string) => [
  { label: "copilotos.project", value: "copilotos" },
  { label: "copilotos.service", value: service },
  { label: "copilotos.stack", value: "test" },
];

export const PASSWORD = "A".repeat(20) + "b".repeat(20);
const hardened = {
  restart: "unless-stopped",
  memory: 512,
  logDriver: "json-file",
  logOpts: { "max-size": "10m" },
  healthcheck: { tests: ["CMD-SHELL", "true"] },
  securityOpts: ["no-new-privileges:true"],
  capabilities: { drops: ["ALL"], adds: [] },
  readOnly: true,
};

export function container(name: string, service: string, props: Partial<ContainerProps> = {}): GraphResource {
  return resource("docker:index/container:Container", name, {
    name,
    image: `${service}:1.0`,
    labels: labels(service),
    networksAdvanced: [{ name: "net", aliases: [service === "mongo" ? "mongodb" : service] }],
    ...hardened,
    ...props,
  });
}

export function mongo(props: Partial<ContainerProps> = {}, password = PASSWORD): GraphResource {
  return container("mongo", "mongo", {
    envs: ["MONGO_INITDB_ROOT_USERNAME=copilotos", "MONGO_INITDB_ROOT_PASSWORD_FILE=/run/secrets/mongo_root_password"],
    uploads: [{ file: "/run/secrets/mongo_root_password", content: password }],
    volumes: [{ volumeName: "mongo-data", containerPath: "/data/db" }],
    memory: 1024,
    command: ["mongod", "--wiredTigerCacheSizeGB", "0.25"],
    ...props,
  });
}

/** Redis as the stack runs it: its config (the password, maxmemory) an uploaded file. */
export function redis(props: Partial<ContainerProps> = {}): GraphResource {
  return container("redis", "redis", {
    uploads: [
      { file: "/usr/local/etc/redis/redis.conf", content: 'requirepass "x"\nappendonly yes\ndir /data\nmaxmemory 384mb\nmaxmemory-policy volatile-lru\n' },
    ],
    volumes: [{ volumeName: "redis-data", containerPath: "/data" }],
    ...props,
  });
}

const filesVolume = (folder: string) => `files${folder.replace(/\//g, "-")}`;

/**
 * `c` as the program now makes it: its uploads moved to a files writer (created, never started,
 * labelled for it) that fills one volume per folder, which `c` mounts read-only
 * (components/services/serviceFiles.ts). `volumeOf` names each folder's volume as `c` mounts it.
 */
export function filesWritten(c: GraphResource, volumeOf = filesVolume): GraphResource[] {
  const p = c.props as ContainerProps;
  const uploads = p.uploads ?? [];
  const folders = filesFolders(uploads);
  const service = labelsOf(p)["copilotos.service"];
  const base = service === "api" || service === "web" ? `copilotos-test-${service}` : String(p.name);
  const written = {
    ...c,
    props: {
      ...c.props,
      uploads: undefined,
      volumes: [...(p.volumes ?? []), ...folders.map((f) => ({ volumeName: volumeOf(f), containerPath: f, readOnly: true }))],
    },
  };
  const writer = resource("docker:index/container:Container", `${c.name}-files`, {
    name: `${base}-files-1a2b3c4d`,
    image: p.image,
    start: false,
    mustRun: false,
    labels: [{ label: "copilotos.files-for", value: base }],
    volumes: folders.map((f) => ({ volumeName: filesVolume(f), containerPath: f })),
    uploads,
  });
  return [written, writer];
}

/** What the API connects to Mongo with: the parts the app builds its URL from. */
export interface ApiCreds {
  password?: string;
  user?: string;
  host?: string;
  authSource?: string;
}

/** The API's env as the program sets it (components/renderers/services/containers.ts apiEnv), plus `extra` entries. */
export const apiEnvs = (c: ApiCreds = {}, extra: string[] = []) => [
  `MONGODB_AUTH_SOURCE=${c.authSource ?? "admin"}`,
  `MONGODB_HOST=${c.host ?? "mongodb"}`,
  `MONGODB_USER=${c.user ?? "copilotos"}`,
  "NODE_ENV=production",
  ...extra,
];

export const SAPTIVA = "sk-test-saptiva-key";

/** An API container fed the way the app reads: parts in env, the password as /run/secrets/mongodb_password. */
export function api(c: ApiCreds = {}, props: Partial<ContainerProps> = {}): GraphResource {
  return container("api", "api", {
    envs: apiEnvs(c),
    uploads: [
      { file: "/run/secrets/mongodb_password", content: c.password ?? PASSWORD },
      { file: "/run/secrets/saptiva_api_key", content: SAPTIVA },
    ],
    ports: [{ internal: 8001, external: 8001, ip: "0.0.0.0", protocol: "tcp" }],
    ...props,
  });
}

export const goodUrl = (password = PASSWORD, user = "copilotos", host = "mongodb") =>
  `mongodb://${user}:${encodeURIComponent(password)}@${host}:27017/copilotos?authSource=admin`;

export function volume(name: string, service: string, opts: GraphResource["opts"]): GraphResource {
  return resource("docker:index/volume:Volume", name, { name, labels: labels(service) }, opts);
}

export function randomPassword(name: string, length: number): GraphResource {
  return resource("random:index/randomPassword:RandomPassword", name, { length, special: true, overrideSpecial: "-_" });
}

export function dockerProvider(name: string, host: string, sshOpts?: string[]): GraphResource {
  return resource("pulumi:providers:docker", name, { host, ...(sshOpts ? { sshOpts: JSON.stringify(sshOpts) } : {}) });
}

// --- AWS ---------------------------------------------------------------------------------------

export interface IngressProps {
  protocol: string;
  fromPort: number;
  toPort: number;
  cidrBlocks?: string[];
  ipv6CidrBlocks?: string[];
}

export const ssh = (cidrs: string[]): IngressProps => ({
  protocol: "tcp",
  fromPort: 22,
  toPort: 22,
  cidrBlocks: cidrs.filter((c) => !c.includes(":")),
  ipv6CidrBlocks: cidrs.filter((c) => c.includes(":")),
});
export const app = (port: number): IngressProps => ({ protocol: "tcp", fromPort: port, toPort: port, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"] });

export function securityGroup(ingress: IngressProps[]): GraphResource {
  return resource("aws:ec2/securityGroup:SecurityGroup", "sg", { ingress, egress: [] });
}

export interface InstanceProps {
  metadataOptions: { httpTokens: string; httpPutResponseHopLimit: number };
  rootBlockDevice: { encrypted: boolean };
}

export function instance(props: Partial<InstanceProps> = {}): GraphResource {
  return resource("aws:ec2/instance:Instance", "host", {
    metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 },
    rootBlockDevice: { encrypted: true },
    ...props,
  });
}

export function ebsVolume(
  props: { encrypted?: boolean } = { encrypted: true },
  opts: GraphResource["opts"] = { protect: true, retainOnDelete: true },
): GraphResource {
  return resource("aws:ebs/volume:Volume", "data", props, opts);
}

export type BucketPart = "publicAccess" | "encryption" | "versioning" | "lifecycle" | "logging";

/** A backup bucket and its five settings resources, linked by the bucket's ID; `omit`/`change` make the mutations. */
export function backupBucket(change: Partial<Record<BucketPart, Record<string, unknown> | null>> = {}): GraphResource[] {
  const id = `backups-${counter}`;
  const parts: Record<BucketPart, [string, Record<string, unknown>]> = {
    publicAccess: [
      "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
      { blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
    ],
    encryption: [
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
      { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] },
    ],
    versioning: ["aws:s3/bucketVersioning:BucketVersioning", { versioningConfiguration: { status: "Enabled" } }],
    lifecycle: ["aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", { rules: [{ id: "daily", status: "Enabled", expiration: { days: 30 } }] }],
    logging: ["aws:s3/bucketLogging:BucketLogging", { targetBucket: `access-logs-${counter}`, targetPrefix: "backups/" }],
  };
  const bucket = { ...resource("aws:s3/bucket:Bucket", "backups", { forceDestroy: false }, { retainOnDelete: true }), id };
  const settings = (Object.keys(parts) as BucketPart[])
    .filter((k) => change[k] !== null)
    .map((k) => resource(parts[k][0], `backups-${k}`, { bucket: id, ...parts[k][1], ...(change[k] ?? {}) }));
  return [bucket, ...settings];
}

/** The stack's pids-limits host step (components/operations/pidsLimits.ts) for these containers, at `limit` each. */
export function pidsStep(containers: GraphResource[], limit = 1024): GraphResource {
  const names = containers.filter((c) => c.type === "docker:index/container:Container").map((c) => String(c.props.name));
  return resource("command:remote:Command", "pids-limits-set", { create: names.map((n) => `docker update --pids-limit ${limit} ${n} >/dev/null`).join("\n") });
}

/** `resources` as the program creates them: with the pids step that covers their containers. */
export const withPidsStep = (resources: GraphResource[]): GraphResource[] => [...resources, pidsStep(resources)];

/** Where the stack's Docker engine runs: `host.kind` local, ssh, aws, or a Docker Swarm (swarm). */
import { z } from "zod";
import { dockerSocket, hostAddress, isKeyLine, sshUser } from "./syntax";
import { bool, cidrList, integer, jsonList, port, requiredString, text } from "./values";

export const localHost = z.strictObject({
  kind: z.literal("local"),
  socket: dockerSocket().default("unix:///var/run/docker.sock").describe("engine endpoint"),
});

const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const HOST_KEY = /^(ssh-ed25519|ssh-rsa|rsa-sha2-256|rsa-sha2-512|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}$/;
const PUBLIC_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}( .*)?$/;
const privateKey = () => text("the SSH private key (PEM/OpenSSH text)").optional();
const connectTimeoutSeconds = () => integer(1, 600, "a whole number of seconds from 1 to 600").default(10);

/** How an SSH-reached engine is dialled: address, user, port, pinned host key, deploy key. */
const sshConnection = (what: string) => ({
  address: hostAddress(`the host name or IP address of the ${what}`).describe("host name or IP address"),
  user: sshUser(`the SSH user on the ${what}`).describe("SSH user (in the host's docker group)"),
  port: port().default(22).describe("SSH port"),
  hostKey: requiredString(
    `is required for an ${what === "Docker host" ? "ssh host" : "swarm"}: pin the host's public key (ssh-keyscan -t ed25519 <address>)`,
    "one public host key line",
  )
    .regex(HOST_KEY, { error: "must be one public host key line: '<type> <base64>' (e.g. ssh-ed25519 AAAA...)" })
    .refine((l) => !HOST_KEY.test(l) || isKeyLine(l), { error: "must be a real host key: its base64 does not decode to a key of the type it names" })
    .describe("the pinned public host key, `ssh-ed25519 AAAA…` (`ssh-keyscan -t ed25519 <address>`)"),
  privateKey: privateKey().describe("the deploy key's private half; unset: the ssh agent's keys"),
  connectTimeoutSeconds: connectTimeoutSeconds().describe("dial timeout per attempt"),
});

const anywhere = ["0.0.0.0/0", "::/0"];

/** `host.firewall` of an ssh host: nftables rules that published container ports obey too (components/renderers/hosts/firewall.ts). */
const sshFirewall = z
  .strictObject({
    enabled: bool().default(true).describe("close every inbound port but SSH and the proxy's (`false`: no rules; the stack's are removed)"),
    sshCidrs: cidrList("allowed to reach SSH", 1)
      .default(anywhere)
      .describe("CIDR blocks allowed to reach SSH; rules that would not admit the deploying connection are refused"),
    appCidrs: cidrList("allowed to reach the web and API ports", 1)
      .default(anywhere)
      .describe("CIDR blocks allowed to reach the proxy's published ports (web, API, their HTTPS ports)"),
    sshPort: port().optional().describe("the port sshd listens on, on the host; unset: `host.port` (set it when a NAT maps another port there)"),
    extraPorts: z
      .preprocess(jsonList, z.array(port(), { error: "must be a list of ports" }))
      .default([])
      .describe("other TCP ports of the host to leave open to `appCidrs` (another service on the host); the rest stay closed"),
    trialSeconds: integer(10, 3600, "a whole number of seconds from 10 to 3600")
      .default(60)
      .describe("new rules remove themselves after this long unless a new SSH connection confirms them"),
  })
  .prefault({})
  .describe("the host firewall (nftables, before Docker's own rules)");

/** `host.osUpdates` of an ssh or aws host: unattended security upgrades (components/renderers/hosts/osUpdates.ts). */
const osUpdates = z
  .strictObject({
    enabled: bool().default(true).describe("install and configure unattended security upgrades (Debian/Ubuntu); `false`: the stack leaves them alone"),
    reboot: z
      .enum(["never", "auto"], { error: 'must be "never" or "auto"' })
      .default("never")
      .describe("`auto`: reboot at `rebootTime` when an upgrade needs it (the containers come back by their restart policies)"),
    rebootTime: text()
      .regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: "must be a time HH:MM" })
      .default("04:00")
      .describe("when an automatic reboot may happen (host's time zone)"),
  })
  .prefault({})
  .describe("unattended security upgrades of the host's OS");

export const sshHost = z.strictObject({ kind: z.literal("ssh"), ...sshConnection("Docker host"), firewall: sshFirewall, osUpdates });

const NODE_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,61}[A-Za-z0-9])?$/;
const LABEL_KEY = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;

/** A swarm node as the swarm knows it (its hostname), its role, and labels placement may use. */
const swarmNode = z.strictObject({
  name: text("the node's hostname as `docker node ls` shows it")
    .regex(NODE_NAME, { error: "must be a hostname (letters, digits, . and -)" })
    .describe("the node's hostname (`docker node ls`)"),
  role: z.enum(["manager", "worker"], { error: 'must be "manager" or "worker"' }).default("worker").describe("swarm role"),
  edge: bool().default(true).describe("runs the proxy, publishing the app ports on this node"),
  labels: z
    .record(text().regex(LABEL_KEY, { error: "must be a label key (lower-case letters, digits, . _ -)" }), text().max(256))
    .default({})
    .describe("node labels the stack sets (`docker node update --label-add`)"),
});

/**
 * A Docker Swarm: its manager is dialled like an ssh host and every service, secret and network is
 * created there; `nodes` lists the members (roles, labels, which publish the app ports) and
 * `dataNode` the one that holds Mongo's and Redis's volumes.
 */
export const swarmHost = z
  .strictObject({
    kind: z.literal("swarm"),
    ...sshConnection("swarm manager"),
    nodes: z
      .array(swarmNode, { error: "must be a list of nodes ({ name, role, edge, labels })" })
      .min(1, { error: "must name at least one node" })
      .describe("the swarm's nodes: `name` (hostname), `role`, `edge` (publishes the app ports), `labels`"),
    dataNode: text("the name of the node that holds the data").describe(
      "node whose local volumes hold Mongo's and Redis's data (they are pinned there); while backups are on, a manager that host.address reaches (backups run there)",
    ),
    replicas: z
      .strictObject({
        api: integer(1, 100, "a whole number from 1 to 100").default(2).describe("API tasks"),
        web: integer(1, 100, "a whole number from 1 to 100").default(2).describe("web tasks"),
      })
      .prefault({})
      .describe("tasks of each app service"),
    updateMonitorSeconds: integer(1, 3600, "a whole number of seconds from 1 to 3600")
      .default(30)
      .describe("how long a new task is watched after it starts before the update goes on (a failure then rolls the service back)"),
  })
  .superRefine((h, ctx) => {
    const names = h.nodes.map((n) => n.name);
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i) ctx.addIssue({ code: "custom", path: ["nodes", i, "name"], message: `names node ${n} twice` });
    });
    if (!names.includes(h.dataNode)) ctx.addIssue({ code: "custom", path: ["dataNode"], message: `must be one of the nodes (${names.join(", ")})` });
    if (!h.nodes.some((n) => n.role === "manager")) ctx.addIssue({ code: "custom", path: ["nodes"], message: "must include a manager" });
    if (!h.nodes.some((n) => n.edge))
      ctx.addIssue({ code: "custom", path: ["nodes"], message: "must include an edge node (edge: true) to publish the app ports" });
  });

/** The data node's swarm role: backups and a password change run there through the manager, so they need "manager". */
export const dataNodeRole = (h: Pick<z.output<typeof swarmHost>, "nodes" | "dataNode">): "manager" | "worker" | undefined =>
  h.nodes.find((n) => n.name === h.dataNode)?.role;

/** Debian's own account for its cloud images, and their name pattern (Debian 12, x86-64). */
export const DEBIAN_AMI_OWNER = "136693071363";
export const DEBIAN_AMI_NAME = "debian-12-amd64-*";

/** An EC2 instance the program creates, then uses exactly like an ssh host. */
export const awsHost = z
  .strictObject({
    kind: z.literal("aws"),
    osUpdates,
    region: text("an AWS region such as eu-west-1")
      .regex(AWS_REGION, { error: "must be an AWS region such as eu-west-1" })
      .describe("AWS region of every AWS resource of the stack"),
    availabilityZone: text("an availability zone such as eu-west-1a")
      .regex(/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, { error: "must be an availability zone such as eu-west-1a" })
      .describe("zone of the instance and its data volume (a volume never leaves its zone)"),
    subnetId: text()
      .regex(/^subnet-[0-9a-f]+$/, { error: "must be a subnet ID (subnet-...)" })
      .optional()
      .describe("subnet in that zone; unset: the default VPC's default subnet of the zone"),
    instanceType: text().default("t3.small").describe("EC2 instance type"),
    /** How the AMI is found: the newest image of `owner` whose name matches `name`. */
    ami: z
      .strictObject({
        owner: text().default(DEBIAN_AMI_OWNER).describe("AMI owner account (default: Debian's)"),
        name: text().default(DEBIAN_AMI_NAME).describe("AMI name pattern; the newest match is used when the instance is created"),
        architecture: z
          .enum(["x86_64", "arm64"], { error: 'must be "x86_64" or "arm64"' })
          .default("x86_64")
          .describe("AMI architecture (match the instance type)"),
      })
      .prefault({}),
    user: sshUser("the AMI's login user").default("admin").describe("login user of the AMI"),
    publicKey: requiredString("is required for an aws host: the deploy key's public half (ssh-ed25519 AAAA...)", "one OpenSSH public key line")
      .regex(PUBLIC_KEY, { error: "must be one OpenSSH public key line (ssh-ed25519 AAAA... comment)" })
      .refine((l) => !PUBLIC_KEY.test(l) || isKeyLine(l.split(" ").slice(0, 2).join(" ")), {
        error: "must be a real public key: its base64 does not decode to a key of the type it names",
      })
      .describe("the deploy key's public half, installed as the instance's key pair"),
    privateKey: privateKey().describe("the deploy key's private half; unset: the ssh agent's keys"),
    sshCidrs: cidrList("allowed to reach SSH", 1).describe("CIDR blocks allowed to reach SSH (port 22); 0.0.0.0/0 fails the prod policies"),
    appCidrs: cidrList("allowed to reach the web and API ports").default(["0.0.0.0/0", "::/0"]).describe("CIDR blocks allowed to reach the web and API ports"),
    rootVolumeGb: integer(8, 16384, "a whole number of GiB from 8 to 16384")
      .default(20)
      .describe("root disk size (GiB, encrypted, replaced with the instance)"),
    dataVolumeGb: integer(1, 16384, "a whole number of GiB from 1 to 16384")
      .default(30)
      .describe("data volume size (GiB): /var/lib/docker, encrypted, protected and retained"),
    connectTimeoutSeconds: connectTimeoutSeconds().describe("dial timeout per attempt"),
    readyTimeoutSeconds: integer(60, 3600, "a whole number of seconds from 60 to 3600")
      .default(600)
      .describe("how long the first connection waits for a new instance to boot and install Docker"),
    alarms: z
      .strictObject({
        enabled: bool().default(true).describe("CloudWatch alarms on the instance (system status: recover; instance status: reboot; CPU) to an SNS topic"),
        cpuPercent: integer(1, 100, "a whole number from 1 to 100").default(90).describe("the CPU alarm: average CPU above this percentage…"),
        cpuMinutes: integer(1, 60, "a whole number of minutes from 1 to 60").default(15).describe("…for this many minutes"),
      })
      .prefault({})
      .describe("what CloudWatch watches from outside the instance; the topic mails `monitoring.alerts.email.to` and posts to `copilotos:alertWebhookUrl`"),
  })
  .superRefine((h, ctx) => {
    // Only a valid region is compared (and named): an invalid one has its own error, not echoed.
    if (AWS_REGION.test(h.region) && !h.availabilityZone.startsWith(h.region)) {
      ctx.addIssue({ code: "custom", path: ["availabilityZone"], message: `must be a zone of region ${h.region} (e.g. ${h.region}a)` });
    }
  });

export const hostSchema = z
  .discriminatedUnion("kind", [localHost, sshHost, awsHost, swarmHost], { error: 'must have kind "local", "ssh", "aws" or "swarm"' })
  .prefault({ kind: "local" })
  .describe(
    "`local`: the Docker engine of the machine running Pulumi; `ssh`: a host you run; `aws`: an EC2 instance the stack creates; `swarm`: a Docker Swarm reached at a manager",
  );

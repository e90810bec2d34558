/** Where the stack's Docker engine runs: `host.kind` local, ssh or aws. */
import { z } from "zod";
import { cidrList, integer, port, text } from "./values";

export const localHost = z.strictObject({
  kind: z.literal("local"),
  /** Docker engine endpoint on the machine running Pulumi. */
  socket: text().default("unix:///var/run/docker.sock"),
});

const HOST_KEY = /^(ssh-ed25519|ssh-rsa|rsa-sha2-256|rsa-sha2-512|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}$/;
const PUBLIC_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}( .*)?$/;
const privateKey = () => text("the SSH private key (PEM/OpenSSH text)").optional();
const connectTimeoutSeconds = () => integer(1, 600, "a whole number of seconds from 1 to 600").default(10);

export const sshHost = z.strictObject({
  kind: z.literal("ssh"),
  address: text("the host name or IP address of the Docker host"),
  user: text("the SSH user on the Docker host"),
  port: port().default(22),
  hostKey: z
    .string({ error: "is required for an ssh host: pin the host's public key (ssh-keyscan -t ed25519 <address>)" })
    .regex(HOST_KEY, { error: "must be one public host key line: '<type> <base64>' (e.g. ssh-ed25519 AAAA...)" }),
  privateKey: privateKey(),
  connectTimeoutSeconds: connectTimeoutSeconds(),
});

/** Debian's own account for its cloud images, and their name pattern (Debian 12, x86-64). */
export const DEBIAN_AMI_OWNER = "136693071363";
export const DEBIAN_AMI_NAME = "debian-12-amd64-*";

/** An EC2 instance the program creates, then uses exactly like an ssh host. */
export const awsHost = z
  .strictObject({
    kind: z.literal("aws"),
    /** AWS region of every AWS resource of the stack. */
    region: text("an AWS region such as eu-west-1").regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { error: "must be an AWS region such as eu-west-1" }),
    /** Zone of the instance and its data volume (a volume never leaves its zone). */
    availabilityZone: text("an availability zone such as eu-west-1a"),
    /** Subnet in that zone; unset: the default VPC's default subnet of the zone. */
    subnetId: text().regex(/^subnet-[0-9a-f]+$/, { error: "must be a subnet ID (subnet-...)" }).optional(),
    instanceType: text().default("t3.small"),
    /** How the AMI is found: the newest image of `owner` whose name matches `name`. */
    ami: z
      .strictObject({
        owner: text().default(DEBIAN_AMI_OWNER),
        name: text().default(DEBIAN_AMI_NAME),
        architecture: z.enum(["x86_64", "arm64"], { error: 'must be "x86_64" or "arm64"' }).default("x86_64"),
      })
      .prefault({}),
    /** The login user of that AMI. */
    user: text().default("admin"),
    /** The deploy key's public half, installed as the instance's key pair. */
    publicKey: z
      .string({ error: "is required for an aws host: the deploy key's public half (ssh-ed25519 AAAA...)" })
      .regex(PUBLIC_KEY, { error: "must be one OpenSSH public key line (ssh-ed25519 AAAA... comment)" }),
    privateKey: privateKey(),
    /** Who may reach SSH (port 22). */
    sshCidrs: cidrList("allowed to reach SSH").min(1, { error: "must name at least one CIDR block allowed to reach SSH" }),
    /** Who may reach the web and API ports. */
    appCidrs: cidrList("allowed to reach the web and API ports").default(["0.0.0.0/0", "::/0"]),
    rootVolumeGb: integer(8, 16384, "a whole number of GiB from 8 to 16384").default(20),
    /** The separate volume holding /var/lib/docker (images, Mongo and Redis volumes); retained and protected. */
    dataVolumeGb: integer(1, 16384, "a whole number of GiB from 1 to 16384").default(30),
    connectTimeoutSeconds: connectTimeoutSeconds(),
    /** How long the first connection waits for a new instance to boot and install Docker. */
    readyTimeoutSeconds: integer(60, 3600, "a whole number of seconds from 60 to 3600").default(600),
  })
  .superRefine((h, ctx) => {
    if (!h.availabilityZone.startsWith(h.region)) {
      ctx.addIssue({ code: "custom", path: ["availabilityZone"], message: `must be a zone of region ${h.region} (e.g. ${h.region}a)` });
    }
  });

export const hostSchema = z
  .discriminatedUnion("kind", [localHost, sshHost, awsHost], { error: 'must have kind "local", "ssh" or "aws"' })
  .prefault({ kind: "local" });

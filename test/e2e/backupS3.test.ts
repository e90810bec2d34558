/**
 * An aws host's backups (`backup.s3`): restic writes the stack's bucket with the instance role's
 * credentials, run for real by the backup script on the test host over SSH. There is no AWS here:
 * test/support/s3Standin.py is the instance's metadata service (IMDSv2 only, on 169.254.169.254 in
 * the test host's namespace) and the bucket, and it allows or refuses each request by the very
 * policy document the stack gives the role (backupRolePolicy). The scripts get the repository as
 * `pulumi up` leaves it: its files written from stdin, the bucket named only in them.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { backupScript, type BackupSpec } from "../../components/renderers/operations/backup";
import { backupRolePolicy } from "../../components/renderers/hosts/aws";
import { offsiteFetchScript, offsiteFilesInput, offsiteFilesScript, type OffsiteSpec } from "../../components/renderers/operations/offsite";
import { runHostStep } from "../../scripts/stack/hostExec";
import { stopChild } from "../support/processes";
import { NETNS, TEST_HOST_DIR } from "../support/testHost";
import { fakeMongoImage, fakeMongoRunArgs, resticImage } from "../support/testImages";
import { host, remote, removeByPrefix } from "./support";

const P = "copilotos-e2es3";
const IMAGE = "cpt-e2e/fake-mongo-s3:1";
const RESTIC = "cpt-e2e/restic-s3:1";
const BUCKET = "cpt-backups";
const S3 = "127.0.0.1:9700";
const IMDS = "169.254.169.254";
const RIG = path.join(TEST_HOST_DIR, "s3-standin");
const offsite: OffsiteSpec = {
  // As the program's spec has it: the bucket unnamed (the host's repository file names it).
  target: { kind: "aws", region: "eu-west-1", endpoint: `http://${S3}` },
  secretsDir: "~/e2e-s3-offsite",
  image: RESTIC,
  retention: { keep: 2, daily: 0, weekly: 0, monthly: 0 },
  checkSubset: "100%",
};
const spec: BackupSpec = { container: `${P}-mongo`, volume: `${P}-mongo-data`, dir: "~/e2e-s3-backups", prefix: `${P}-mongo`, keep: 3, image: IMAGE, offsite };
const step = (name: string, script: string, input?: string) => runHostStep(host.target, name, script, input);
const inNs = (...args: string[]) => spawnSync("ip", ["netns", "exec", NETNS, ...args], { encoding: "utf8" });
type Request = { method: string; action: string; resource: string; signed: boolean; allowed: boolean; status: number };
const requests = (): Request[] =>
  fs
    .readFileSync(path.join(RIG, "log"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Request);

let standin: ChildProcess;
beforeAll(async () => {
  fakeMongoImage(["-H", `unix://${host.remoteSocket}`], IMAGE);
  resticImage(["-H", `unix://${host.remoteSocket}`], RESTIC);
  fs.rmSync(RIG, { recursive: true, force: true });
  fs.mkdirSync(path.join(RIG, "data"), { recursive: true });
  fs.writeFileSync(path.join(RIG, "policy.json"), backupRolePolicy(`arn:aws:s3:::${BUCKET}`));
  fs.writeFileSync(path.join(RIG, "log"), "");
  inNs("ip", "addr", "add", `${IMDS}/32`, "dev", "lo");
  const args = [
    "--s3",
    S3,
    "--region",
    "eu-west-1",
    "--policy",
    path.join(RIG, "policy.json"),
    "--dir",
    path.join(RIG, "data"),
    "--log",
    path.join(RIG, "log"),
  ];
  standin = spawn("ip", ["netns", "exec", NETNS, "python3", path.join(__dirname, "..", "support", "s3Standin.py"), ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    standin.stdout!.once("data", () => resolve());
    standin.once("exit", (code) => reject(new Error(`the S3 stand-in exited (${code})`)));
  });
  removeByPrefix(P);
  await step("clean", 'rm -rf "$HOME/e2e-s3-backups" "$HOME/e2e-s3-offsite"');
  remote("volume", "create", spec.volume);
  remote(
    "run",
    "--rm",
    "-v",
    `${spec.volume}:/data/db`,
    IMAGE,
    "sh",
    "-c",
    "echo catalog > /data/db/_mdb_catalog.wt && head -c 300000 /dev/urandom > /data/db/c.wt",
  );
  remote(...fakeMongoRunArgs(spec.container, spec.volume, IMAGE));
  // What pulumi up writes: the password and the repository in the bucket it made, no credential.
  await step(
    "files",
    offsiteFilesScript(offsite),
    offsiteFilesInput({ ...offsite.target, kind: "aws", region: "eu-west-1", bucket: BUCKET }, { password: "r".repeat(48) }),
  );
});
afterAll(async () => {
  await stopChild(standin);
  inNs("ip", "addr", "del", `${IMDS}/32`, "dev", "lo");
  removeByPrefix(P);
  await step("clean", 'rm -rf "$HOME/e2e-s3-backups" "$HOME/e2e-s3-offsite"');
  remote("image", "rm", "-f", IMAGE, RESTIC);
  fs.rmSync(RIG, { recursive: true, force: true });
});

test("a verified backup goes into the restic repository under restic/ in the bucket, signed with the role's IMDSv2 credentials, allowed by the role's policy", async () => {
  const where = `s3:http://${S3}/${BUCKET}/restic`;
  const r = await step("backup", backupScript(spec));
  expect(r.stdout).toContain(`backup: created the off-host restic repository ${where} (encrypted with the stack's repository password)\n`);
  expect(r.stdout).toMatch(
    new RegExp(
      `^backup: off-host snapshot [0-9a-f]{8} saved to ${where.replace(/[.:/]/g, "\\$&")}: \\d+ bytes added, the repository holds \\d+ bytes \\(restic check read back 100% of its data\\)$`,
      "m",
    ),
  );
  const all = requests();
  // Every request signed with the role's temporary credentials, in the configured region, each allowed.
  expect(all.filter((q) => !q.signed || !q.allowed)).toEqual([]);
  // Objects only under restic/; writes and deletes too (restic's locks, the retention's prune).
  const objects = all.filter((q) => q.resource.startsWith(`arn:aws:s3:::${BUCKET}/`)).map((q) => q.resource.slice(`arn:aws:s3:::${BUCKET}/`.length));
  expect(objects.filter((k) => !k.startsWith("restic/"))).toEqual([]);
  expect(new Set(all.map((q) => q.action))).toEqual(new Set(["s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"]));
  // Encrypted: the archive's catalog line is in no object of the bucket.
  const grep = spawnSync("grep", ["-rl", "catalog", path.join(RIG, "data")], { encoding: "utf8" });
  expect([grep.status, grep.stdout]).toEqual([1, ""]);
});

test("the same credentials get nothing outside restic/ but the older tiers' archives, and no credential without an IMDSv2 token", () => {
  const curl = (...args: string[]) => inNs("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", ...args).stdout;
  expect(curl(`http://${IMDS}/latest/meta-data/iam/security-credentials/`)).toBe("401");
  const token = inNs("curl", "-s", "-X", "PUT", "-H", "X-aws-ec2-metadata-token-ttl-seconds: 60", `http://${IMDS}/latest/api/token`).stdout;
  const creds = JSON.parse(
    inNs("curl", "-s", "-H", `X-aws-ec2-metadata-token: ${token}`, `http://${IMDS}/latest/meta-data/iam/security-credentials/copilotos-host-role`).stdout,
  ) as { AccessKeyId: string; Token: string };
  const as = [
    "-H",
    `Authorization: AWS4-HMAC-SHA256 Credential=${creds.AccessKeyId}/20261208/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=0`,
    "-H",
    `X-Amz-Security-Token: ${creds.Token}`,
  ];
  expect([
    curl("-X", "PUT", ...as, "--data-binary", "x", `http://${S3}/${BUCKET}/daily/x.tar`),
    curl("-X", "DELETE", ...as, `http://${S3}/${BUCKET}/monthly/x.tar`),
    curl(...as, `http://${S3}/${BUCKET}/weekly/x.tar`),
    curl(...as, `http://${S3}/other-bucket/restic/config`),
  ]).toEqual(["403", "403", "404", "403"]);
});

test("a second backup of unchanged data adds almost nothing; the newest snapshot restores byte for byte through the same role", async () => {
  const r = await step("backup again", backupScript(spec));
  const added = Number(/: (\d+) bytes added,/.exec(r.stdout)![1]);
  expect(added).toBeLessThan(20_000);
  const local = (await step("archives", 'cd "$HOME/e2e-s3-backups" && ls -1 *.tar | tail -n 1')).stdout.trim();
  await step("forget the local copy", `rm "$HOME/e2e-s3-backups/${local}" "$HOME/e2e-s3-backups/${local}.sha256"`);
  const fetched = await step("fetch", offsiteFetchScript({ offsite, dir: spec.dir, prefix: spec.prefix, snapshot: "latest" }));
  expect(fetched.stdout).toContain(`fetched: ${local}\n`);
  const volume = (await step("volume sum", `docker run --rm -v ${spec.volume}:/d:ro ${IMAGE} sh -c 'cat /d/c.wt | sha256sum'`)).stdout;
  const archived = (await step("archive sum", `tar -xOf "$HOME/e2e-s3-backups/${local}" ./c.wt | sha256sum`)).stdout;
  expect(archived).toBe(volume);
});

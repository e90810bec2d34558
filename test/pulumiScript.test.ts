/** scripts/pulumi.sh (npm run preview|up): the pinned CLI for one stack, and the deploy key gone when Pulumi exits. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT } from "./support/program";

test("the deploy key is on disk while Pulumi runs and removed when it exits, its exit status kept; the pin stays", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-sh-"));
  try {
    const ssh = path.join(work, "state", "ssh", "copilotos-staging");
    fs.mkdirSync(ssh, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(ssh, "id_key"), "-----BEGIN OPENSSH PRIVATE KEY-----\n", { mode: 0o600 });
    fs.writeFileSync(path.join(ssh, "known_hosts"), "203.0.113.10 ssh-ed25519 AAAA\n", { mode: 0o600 });
    const bin = path.join(work, "bin");
    fs.mkdirSync(bin);
    // A stand-in for `npx pulumi`: selects the stack, then records its arguments and whether the key is there while it runs.
    fs.writeFileSync(
      path.join(bin, "npx"),
      `#!/bin/sh\ncase "$*" in *"stack select"*) exit 0 ;; esac\necho "$@" > "${work}/args"\n[ -f "${ssh}/id_key" ] && echo present > "${work}/during"\nexit 3\n`,
      {
        mode: 0o755,
      },
    );
    const r = spawnSync("bash", [path.join(ROOT, "scripts", "pulumi.sh"), "up", "staging", "--yes"], {
      cwd: ROOT,
      encoding: "utf8",
      env: {
        ...process.env,
        PATH: `${bin}:${path.dirname(process.execPath)}:/usr/bin:/bin`,
        COPILOTOS_STATE_DIR: path.join(work, "state"),
        PULUMI_BACKEND_URL: `file://${work}`,
      },
    });
    expect(r.status).toBe(3);
    expect(fs.readFileSync(path.join(work, "during"), "utf8")).toBe("present\n");
    expect(fs.existsSync(path.join(ssh, "id_key"))).toBe(false);
    expect(fs.existsSync(path.join(ssh, "known_hosts"))).toBe(true);
    expect(fs.readFileSync(path.join(work, "args"), "utf8")).toMatch(
      new RegExp(`^--no-install pulumi up --cwd ${ROOT} --stack staging --policy-pack ${ROOT}/policies .*--yes\\n$`),
    );
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

describe("a stack that needs a shared state backend (prod: copilotos:stateBackend: shared)", () => {
  /** Runs pulumi.sh for `stack` with a stand-in npx; returns its status, stderr and whether Pulumi was started. */
  function run(stack: string, env: Record<string, string>) {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-sh-"));
    try {
      fs.mkdirSync(path.join(work, "bin"));
      fs.writeFileSync(path.join(work, "bin", "npx"), `#!/bin/sh\ntouch "${work}/ran"\n`, { mode: 0o755 });
      const base: NodeJS.ProcessEnv = { ...process.env, PATH: `${work}/bin:${path.dirname(process.execPath)}:/usr/bin:/bin`, COPILOTOS_STATE_DIR: work };
      delete base.PULUMI_BACKEND_URL;
      delete base.COPILOTOS_ALLOW_LOCAL_STATE;
      const r = spawnSync("bash", [path.join(ROOT, "scripts", "pulumi.sh"), "preview", stack], { cwd: ROOT, encoding: "utf8", env: { ...base, ...env } });
      return { status: r.status, stderr: r.stderr.replace(/^compiling TypeScript.*\n/, ""), ran: fs.existsSync(path.join(work, "ran")) };
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }

  test("refuses the local file backend before Pulumi starts, saying why and what to set", () => {
    for (const env of [{}, { PULUMI_BACKEND_URL: "file:///srv/state" }] as Record<string, string>[]) {
      const r = run("prod", env);
      expect(r).toMatchObject({ status: 2, ran: false });
      expect(r.stderr).toBe(
        "npm run preview: stack prod needs a shared state backend (copilotos:stateBackend: shared): with a local file backend its secrets and history would live on this machine only.\n" +
          "Set PULUMI_BACKEND_URL (s3://<bucket>/<prefix>, azblob://…, gs://…, or https://api.pulumi.com), or COPILOTOS_ALLOW_LOCAL_STATE=1 to accept it knowingly.\n",
      );
    }
  });

  test("runs with a shared backend, or a local one allowed knowingly; staging (no requirement) runs on the local one", () => {
    expect(run("prod", { PULUMI_BACKEND_URL: "s3://copilotos-state/prod" })).toMatchObject({ status: 0, ran: true });
    expect(run("prod", { COPILOTOS_ALLOW_LOCAL_STATE: "1", PULUMI_BACKEND_URL: "file:///tmp/x" })).toMatchObject({ status: 0, ran: true });
    expect(run("staging", { PULUMI_BACKEND_URL: "file:///tmp/x" })).toMatchObject({ status: 0, ran: true });
  });
});

test("an aws host stack is also checked by the awsguard pack; an ssh or local one is not", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-sh-"));
  try {
    // A copy of the project's layout: the script finds the project (and its packs) beside itself.
    fs.mkdirSync(path.join(work, "scripts"));
    fs.mkdirSync(path.join(work, "policies", "awsguard"), { recursive: true });
    fs.mkdirSync(path.join(work, "bin"));
    fs.copyFileSync(path.join(ROOT, "scripts", "pulumi.sh"), path.join(work, "scripts", "pulumi.sh"));
    fs.writeFileSync(path.join(work, "scripts", "run.js"), "");
    fs.writeFileSync(path.join(work, "policies", "PulumiPolicy.yaml"), "runtime: nodejs\n");
    fs.copyFileSync(path.join(ROOT, "test", "fixtures", "Pulumi.aws.yaml"), path.join(work, "Pulumi.aws.yaml"));
    fs.copyFileSync(path.join(ROOT, "Pulumi.staging.yaml"), path.join(work, "Pulumi.staging.yaml"));
    // `kind: aws` under another key is not the host's kind.
    fs.writeFileSync(path.join(work, "Pulumi.other.yaml"), "config:\n  copilotos:host:\n    kind: ssh\n  copilotos:thing:\n    kind: aws\n");
    fs.writeFileSync(path.join(work, "bin", "npx"), `#!/bin/sh\necho "$@" > "${work}/args"\n`, { mode: 0o755 });
    const packs = (stack: string) => {
      const r = spawnSync("bash", [path.join(work, "scripts", "pulumi.sh"), "preview", stack], {
        encoding: "utf8",
        env: { ...process.env, PATH: `${work}/bin:${path.dirname(process.execPath)}:/usr/bin:/bin`, PULUMI_BACKEND_URL: `file://${work}` },
      });
      expect(r.status).toBe(0);
      return [...fs.readFileSync(path.join(work, "args"), "utf8").matchAll(/--policy-pack (\S+)/g)].map((m) => path.relative(work, m[1]));
    };
    expect(packs("aws")).toEqual(["policies", "policies/awsguard"]);
    expect(packs("staging")).toEqual(["policies"]);
    expect(packs("other")).toEqual(["policies"]);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

describe("a stack the project's file backend creates (npm run up -- local)", () => {
  /** Runs pulumi.sh with a stand-in npx that logs each call with the passphrase file it was given, and answers `stack output`. */
  function up(work: string, stack: string, env: Record<string, string> = {}) {
    const bin = path.join(work, "bin");
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(
      path.join(bin, "npx"),
      `#!/bin/sh\necho "$* pass=\${PULUMI_CONFIG_PASSPHRASE_FILE:-none}" >> "${work}/calls"\n` +
        `case "$*" in *"stack output webUrl"*) echo http://localhost:3000 ;; *"stack output apiHealthUrl"*) echo http://localhost:8001/api/health ;; esac\n`,
      { mode: 0o755 },
    );
    const base: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${path.dirname(process.execPath)}:/usr/bin:/bin`, COPILOTOS_STATE_DIR: work };
    delete base.PULUMI_CONFIG_PASSPHRASE;
    delete base.PULUMI_CONFIG_PASSPHRASE_FILE;
    const r = spawnSync("bash", [path.join(ROOT, "scripts", "pulumi.sh"), "up", stack, "--yes"], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...base, PULUMI_BACKEND_URL: `file://${work}/state`, ...env },
    });
    const calls = fs.readFileSync(path.join(work, "calls"), "utf8");
    fs.rmSync(path.join(work, "calls"));
    return { status: r.status, stdout: r.stdout, stderr: r.stderr.replace(/^compiling TypeScript.*\n/, ""), calls };
  }

  test("generates the stack's passphrase once (0600), makes the stack, deploys, and ends with the URLs to open", () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-sh-"));
    try {
      const pass = path.join(work, "state", "local.passphrase");
      const first = up(work, "local");
      expect(first.status).toBe(0);
      expect(first.stderr).toBe(
        `npm run up: stack local: generated its state passphrase in ${pass} (keep it: the stack's secrets in the state are encrypted with it)\n`,
      );
      expect(fs.statSync(pass).mode & 0o777).toBe(0o600);
      const secret = fs.readFileSync(pass, "utf8");
      expect(secret).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
      expect(first.calls.split("\n").filter(Boolean)).toEqual([
        `--no-install pulumi stack select --create local --cwd ${ROOT} pass=${pass}`,
        `--no-install pulumi up --cwd ${ROOT} --stack local --policy-pack ${ROOT}/policies --policy-pack-config ${ROOT}/policies/config.local.json --yes pass=${pass}`,
        `--no-install pulumi stack output webUrl --cwd ${ROOT} --stack local pass=${pass}`,
        `--no-install pulumi stack output apiHealthUrl --cwd ${ROOT} --stack local pass=${pass}`,
      ]);
      expect(first.stdout).toBe("webUrl: http://localhost:3000\napiHealthUrl: http://localhost:8001/api/health\n");
      expect(first.stdout + first.stderr).not.toContain(secret.trim());
      // The next run reuses it, silently.
      const again = up(work, "local");
      expect(again).toMatchObject({ status: 0, stderr: "" });
      expect(fs.readFileSync(pass, "utf8")).toBe(secret);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  test("an existing stack without that file keeps its own passphrase: none is generated or passed", () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-sh-"));
    try {
      fs.mkdirSync(path.join(work, "state", ".pulumi", "stacks", "copilotos"), { recursive: true });
      fs.writeFileSync(path.join(work, "state", ".pulumi", "stacks", "copilotos", "staging.json"), "{}");
      const r = up(work, "staging");
      expect(r).toMatchObject({ status: 0, stderr: "" });
      expect(fs.existsSync(path.join(work, "state", "staging.passphrase"))).toBe(false);
      expect(r.calls).toContain(`pulumi up --cwd ${ROOT} --stack staging`);
      expect(r.calls).not.toMatch(/pass=(?!none)/);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  test("--help says how it is called, with an example, and starts nothing", () => {
    const r = spawnSync("bash", [path.join(ROOT, "scripts", "pulumi.sh"), "up", "--help"], { cwd: ROOT, encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      "usage: npm run up -- <stack> [pulumi args...]   (stacks: the Pulumi.<stack>.yaml files: local, staging, prod)\nexample: npm run up -- local\n",
    );
  });
});

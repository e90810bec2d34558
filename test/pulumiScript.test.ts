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
    // A stand-in for `npx pulumi`: records its arguments and whether the key is there while it runs.
    fs.writeFileSync(path.join(bin, "npx"), `#!/bin/sh\necho "$@" > "${work}/args"\n[ -f "${ssh}/id_key" ] && echo present > "${work}/during"\nexit 3\n`, {
      mode: 0o755,
    });
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

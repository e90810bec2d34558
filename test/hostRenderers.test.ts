/** Pure host-operation renderers: exact strings and values, no I/O (like Kamal's command builders). */
import * as vm from "node:vm";
import { mongoAdminJs } from "../components/renderers/operations/backup";
import { restoreScript } from "../components/renderers/operations/restore";
import { NEXT_PASSWORD_FILE, REKEYED, rekeyJs } from "../components/renderers/operations/rekey";
import { expectedRekeyLines } from "./support/rekeyExpected";
import { backupNamePattern } from "../components/renderers/names";
import { chainIds, hostLoadScript, hostPruneScript, layersToOmit, parseInventory, retagManifest } from "../components/renderers/services/delivery";
import { hostPath, lines, shq } from "../components/renderers/shell";
import { deliverCommand, versionOfRef } from "../components/renderers/services/version";
import { hostArgv } from "../scripts/stack/hostExec";

const D = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;

test("shq quotes only what needs it", () => {
  expect(shq("copilotos-staging-api:1.2")).toBe("copilotos-staging-api:1.2");
  expect(shq("it's here")).toBe("'it'\\''s here'");
  expect(shq("")).toBe("''");
  expect(lines("a", undefined, false, "b")).toBe("a\nb\n");
});

test("chain IDs follow the image spec: the first is the diff ID, then sha256(parent + ' ' + diff)", () => {
  const [a, b] = chainIds([D(1), D(2)]);
  expect(a).toBe(D(1));
  // sha256("sha256:111…1 sha256:222…2"), computed independently with sha256sum.
  expect(b).toBe("sha256:9932074217c35353d2e03a3f5a86549f7c67bfeb0ba53e23d69f4d4c8f7958f5");
  expect(chainIds([D(3), D(2)])[1]).not.toBe(b); // same diff on another parent is another layer
});

test("layersToOmit leaves out exactly the layers whose chain the host has", () => {
  const manifest = { Config: "c.json", RepoTags: ["a:1"], Layers: ["l1/layer.tar", "l2/layer.tar", "l3/layer.tar"] };
  const host = new Set(chainIds([D(1), D(2)]));
  expect(layersToOmit(manifest, [D(1), D(2), D(3)], host)).toEqual(["l1/layer.tar", "l2/layer.tar"]);
  expect(layersToOmit(manifest, [D(1), D(2), D(3)], new Set())).toEqual([]);
  // The host has diff 2 only on another parent: it must still be sent.
  expect(layersToOmit(manifest, [D(1), D(2), D(3)], new Set(chainIds([D(9), D(2)])))).toEqual([]);
  expect(() => layersToOmit(manifest, [D(1)], host)).toThrow("the archive lists 3 layers but the image has 1");
  expect(retagManifest([manifest], "copilotos-staging-api:1")).toEqual([{ ...manifest, RepoTags: ["copilotos-staging-api:1"] }]);
  expect(() => retagManifest([manifest, manifest], "x:1")).toThrow("expected one image in the archive, found 2");
});

test("parseInventory reads presence, driver and every image's chains", () => {
  expect(parseInventory("present yes\n")).toEqual({ present: true, chains: new Set() });
  const inv = parseInventory(`present no\ndriver overlay2\nlayers ["${D(1)}","${D(2)}"]\nlayers null\n`);
  expect(inv.present).toBe(false);
  expect(inv.driver).toBe("overlay2");
  expect([...inv.chains]).toEqual(chainIds([D(1), D(2)]));
});

test("load and prune scripts are exact", () => {
  expect(hostLoadScript("copilotos-staging-api:1", D(4))).toBe(
    [
      "set -eu",
      "if ! err=$(docker load -q 2>&1 >/dev/null); then",
      '  case "$err" in',
      `    *"no such file or directory"*) printf 'copilotos: the engine refused a partial archive: %s\\n' "$err" >&2; exit 3 ;;`,
      "  esac",
      `  printf 'copilotos: docker load failed: %s\\n' "$err" >&2`,
      "  exit 1",
      "fi",
      "id=$(docker image inspect --format '{{.Id}}' copilotos-staging-api:1)",
      `if [ "$id" != ${D(4)} ]; then`,
      `  printf 'copilotos: %s is %s after load, expected %s\\n' copilotos-staging-api:1 "$id" ${D(4)} >&2`,
      "  exit 1",
      "fi",
      'echo "loaded copilotos-staging-api:1 $id"',
      "",
    ].join("\n"),
  );
  expect(hostPruneScript("copilotos-staging-api", 5)).toContain("grep -v ':<none>$' | tail -n +6 | while read -r ref; do");
});

test("backup helpers: home-relative folders, credentials from the container, only this stack's names", () => {
  expect(hostPath("~/copilotos-backups")).toBe('"$HOME"/copilotos-backups');
  expect(hostPath("/srv/backups dir")).toBe("'/srv/backups dir'");
  expect(mongoAdminJs("fsyncLock")).toBe(
    "const e = process.env; const a = db.getSiblingDB('admin'); " +
      "a.auth(e.MONGO_INITDB_ROOT_USERNAME, e.MONGO_INITDB_ROOT_PASSWORD_FILE ? require('fs').readFileSync(e.MONGO_INITDB_ROOT_PASSWORD_FILE, 'utf8').trim() : e.MONGO_INITDB_ROOT_PASSWORD); " +
      "a.fsyncLock()",
  );
  // Run against a fake db: the stack's password file, or a compose container's env.
  for (const [env, files, expected] of [
    [{ MONGO_INITDB_ROOT_USERNAME: "u", MONGO_INITDB_ROOT_PASSWORD_FILE: "/run/secrets/p" }, { "/run/secrets/p": "from-file\n" }, "from-file"],
    [{ MONGO_INITDB_ROOT_USERNAME: "u", MONGO_INITDB_ROOT_PASSWORD: "from-env" }, {}, "from-env"],
  ] as [Record<string, string>, Record<string, string>, string][]) {
    const calls: string[] = [];
    const admin = { auth: (u: string, p: string) => calls.push(`auth ${u} ${p}`), fsyncLock: () => calls.push("lock") };
    vm.runInNewContext(mongoAdminJs("fsyncLock"), {
      process: { env },
      require: () => ({ readFileSync: (f: string) => files[f] }),
      db: { getSiblingDB: () => admin },
    });
    expect(calls).toEqual([`auth u ${expected}`, "lock"]);
  }
  const re = new RegExp(backupNamePattern("copilotos-staging-mongo"));
  expect(re.test("copilotos-staging-mongo-20261123T170000Z.tar")).toBe(true);
  expect(re.test("copilotos-prod-mongo-20261123T170000Z.tar")).toBe(false);
  expect(re.test("copilotos-staging-mongo-20261123T170000Z.tar.sha256")).toBe(false);
  const restore = (file: string) => () => restoreScript({ container: "c", volume: "v", dir: "~/b", prefix: "copilotos-staging-mongo", image: "mongo:7", file });
  expect(restore("../x.tar")).toThrow('"../x.tar" is not a backup of this stack (copilotos-staging-mongo-<UTC stamp>.tar)');
  // Another stack's archive is refused by name before anything runs.
  expect(restore("copilotos-prod-mongo-20261123T170000Z.tar")).toThrow("another stack's archive, or another file, is refused");
  expect(restore("copilotos-staging-mongo-20261123T170000Z.tar")).not.toThrow();
});

test("versions and the deliver command line", () => {
  expect(versionOfRef("copilotos-api:0.9.4-rc.1")).toBe("0.9.4-rc.1");
  expect(versionOfRef(`ghcr.io/acme/api@${D(5)}`)).toBe("555555555555");
  expect(versionOfRef("api")).toBe("latest");
  expect(
    deliverCommand({
      image: "copilotos-api:1",
      tag: "copilotos-staging-api:1",
      address: "203.0.113.10",
      port: 2222,
      user: "deploy",
      knownHostsFile: "/tmp/k h/known_hosts",
      connectTimeoutSeconds: 10,
      keep: 5,
      compress: false,
    }),
  ).toBe(
    "node scripts/run.js --prebuilt deliver --image copilotos-api:1 --tag copilotos-staging-api:1 --host deploy@203.0.113.10:2222 --known-hosts '/tmp/k h/known_hosts' --connect-timeout 10 --keep 5",
  );
});

test("host argv: pinned ssh options, or sh -c for the local engine", () => {
  expect(hostArgv({ kind: "local" }, "docker info")).toEqual(["sh", ["-c", "docker info"]]);
  const [cmd, args] = hostArgv(
    { kind: "ssh", address: "h", port: 2222, user: "u", knownHostsFile: "/k", identityFile: "/i", connectTimeoutSeconds: 7 },
    "true",
  );
  expect(cmd).toBe("ssh");
  expect(args).toEqual([
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "UserKnownHostsFile=/k",
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "BatchMode=yes",
    "-o",
    "ConnectTimeout=7",
    "-o",
    "ServerAliveInterval=15",
    "-o",
    "IdentitiesOnly=yes",
    "-i",
    "/i",
    "-p",
    "2222",
    "u@h",
    "--",
    "true",
  ]);
});

describe("restore re-key: the restored data gets the stack's current Mongo password", () => {
  test("the mongosh code sets the user's password from the private file (trailing newlines dropped) on a mongod without auth", () => {
    const calls: unknown[][] = [];
    const printed: string[] = [];
    const sandbox = {
      require: (m: string) => (m === "fs" ? { readFileSync: (f: string) => (f === NEXT_PASSWORD_FILE ? "the-current-password\n\n" : "") } : undefined),
      process: { env: { COPILOTOS_MONGO_USER: "copilotos_user" } },
      db: { getSiblingDB: (name: string) => ({ changeUserPassword: (...a: unknown[]) => calls.push([name, ...a]) }) },
      print: (s: string) => printed.push(s),
    };
    vm.runInNewContext(rekeyJs(), sandbox);
    expect(calls).toEqual([["admin", "copilotos_user", "the-current-password"]]);
    expect(printed).toEqual([`${REKEYED} copilotos_user`]);
  });

  test("exact lines: on a new host (no Mongo, no volume) the volume is made with the stack's labels before the unpack; on a swarm, or with no labels given, never", () => {
    const spec = { container: "c", volume: "v", dir: "~/b", prefix: "p", image: "mongo:7", file: "p-20261123T170000Z.tar" };
    const made = [
      'if [ "$state" = missing ] && ! docker volume inspect "$vol" >/dev/null 2>&1; then',
      '  docker volume create --label copilotos.stack=staging --label copilotos.service=mongo "$vol" >/dev/null',
      '  echo "restore: made $vol with the stack\'s labels, as pulumi up makes it"',
      "fi",
    ].join("\n");
    const labels = { "copilotos.stack": "staging", "copilotos.service": "mongo" };
    const script = restoreScript({ ...spec, volumeLabels: labels });
    expect(script).toContain(made);
    expect(script.indexOf(made)).toBeGreaterThan(script.indexOf("state=$(docker inspect"));
    expect(script.indexOf(made)).toBeLessThan(script.indexOf('docker run --rm -i --network none -v "$vol":/data'));
    expect(restoreScript(spec)).not.toContain("docker volume create");
    expect(restoreScript({ ...spec, volumeLabels: labels, swarm: { service: "s", node: "node-1" } })).not.toContain("docker volume create");
  });

  test("exact lines: the password goes from the stopped container's secret file through a pipe, never a command line or a host file", () => {
    const script = restoreScript({ container: "c", volume: "v", dir: "~/b", prefix: "p", image: "mongo:7", file: "p-20261123T170000Z.tar" });
    const failed = (why: string) =>
      `{ docker rm -f "$rekey" >/dev/null 2>&1 || true; docker start "$ctr" >/dev/null; echo "restore: the data was restored, but ${why}; $ctr was started and may refuse the API until Mongo's password for $user is the stack's (mongo.rotate)" >&2; exit 1; }`;
    expect(script).toContain(
      [
        'if [ "$state" != missing ]; then',
        "  pwfile=$(docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' \"$ctr\" | sed -n 's/^MONGO_INITDB_ROOT_PASSWORD_FILE=//p'); " +
          "user=$(docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' \"$ctr\" | sed -n 's/^MONGO_INITDB_ROOT_USERNAME=//p'); rekey=\"$ctr-rekey\"",
        '  if [ -n "$pwfile" ] && [ -n "$user" ]; then',
        '    echo "restore: giving the restored data the current Mongo password of the stack for $user (a throwaway mongod without auth or network)"',
        ...expectedRekeyLines("    ", 'docker cp "$ctr:$pwfile" - | tar -xOf - | ', failed),
        '    echo "restore: the restored data accepts the current Mongo password of the stack for $user"',
        "  fi",
        '  docker start "$ctr" >/dev/null',
        '  echo "restore: started $ctr"',
        "fi",
      ].join("\n"),
    );
  });
});

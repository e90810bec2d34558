/** The folder holding the deploy key and the pinned host key: the user's own, private, refused otherwise. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { defaultSshDir, ensurePrivateDir, sshFilesIn, writeSshFiles } from "../components/hosts/sshFiles";

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "copilotos-sshfiles-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const mode = (p: string) => fs.statSync(p).mode & 0o777;

test("the default folder is per stack, in the user's home (or $COPILOTOS_STATE_DIR), never the shared temp dir", () => {
  expect(defaultSshDir("copilotos", "prod", {})).toBe(path.join(os.homedir(), ".copilotos", "ssh", "copilotos-prod"));
  expect(defaultSshDir("copilotos", "staging", { COPILOTOS_STATE_DIR: "/srv/state" })).toBe("/srv/state/ssh/copilotos-staging");
  expect(defaultSshDir("copilotos", "prod")).not.toContain(os.tmpdir() + path.sep + "copilotos-ssh");
});

test("writes the pin and the key 0600 in a folder it creates 0700, and only the pin without a key", () => {
  const target = path.join(dir, "state", "ssh", "copilotos-prod");
  const files = sshFilesIn(target, true, 10);
  expect(writeSshFiles(files, "h ssh-ed25519 AAAA\n", "KEY")).toEqual(files);
  expect([mode(target), mode(path.join(dir, "state")), mode(files.knownHostsFile), mode(files.identityFile!)]).toEqual([0o700, 0o700, 0o600, 0o600]);
  expect([fs.readFileSync(files.knownHostsFile, "utf8"), fs.readFileSync(files.identityFile!, "utf8")]).toEqual(["h ssh-ed25519 AAAA\n", "KEY\n"]);
  // A file another run left readable is closed again.
  fs.chmodSync(files.knownHostsFile, 0o644);
  expect(writeSshFiles(sshFilesIn(target, false, 10), "h ssh-ed25519 BBBB\n").identityFile).toBeUndefined();
  expect(mode(files.knownHostsFile)).toBe(0o600);
});

test("an existing folder open to others is refused, naming it and the fix, and nothing is written into it", () => {
  const open = path.join(dir, "open");
  fs.mkdirSync(open, { mode: 0o755 });
  fs.chmodSync(open, 0o755);
  expect(() => writeSshFiles(sshFilesIn(open, true, 10), "pin\n", "KEY")).toThrow(`${open} is open to other users (mode 755); chmod 700 it`);
  expect(fs.readdirSync(open)).toEqual([]);
});

test("a link in place of the folder is refused", () => {
  const real = path.join(dir, "real");
  fs.mkdirSync(real, { mode: 0o700 });
  const link = path.join(dir, "link");
  fs.symlinkSync(real, link);
  expect(() => ensurePrivateDir(link)).toThrow(`${link} is not a directory (a link or a file); remove it`);
});

test("a folder another user owns is refused (pre-created to read the key or replace the pin)", () => {
  // As root, a folder handed to nobody; as anyone else, a folder root owns.
  const isRoot = process.getuid?.() === 0;
  const foreign = isRoot ? path.join(dir, "foreign") : "/usr";
  if (isRoot) {
    fs.mkdirSync(foreign, { mode: 0o700 });
    fs.chownSync(foreign, 65534, 65534);
  }
  const owner = fs.statSync(foreign).uid;
  expect(owner).not.toBe(process.getuid?.());
  expect(() => ensurePrivateDir(foreign)).toThrow(`${foreign} belongs to uid ${owner}, not to this user (uid ${process.getuid?.()})`);
});

/**
 * The restore's swap (components/renderers/operations/restore.ts SWAP_IN) and the backup's archive
 * of the volume (./volumeLayout.ts ARCHIVE_VOLUME) run for real, by busybox's sh and tar as in the
 * stand-in image and by dash and GNU tar as in Mongo's (Ubuntu) image, on folders standing for the volume.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SWAP_IN } from "../components/renderers/operations/restore";
import { ARCHIVE_VOLUME, RESTORE_PREVIOUS, RESTORE_STAGING } from "../components/renderers/operations/volumeLayout";

test("the swap, run by busybox sh and tar: an archive of a volume restored before swaps in without the kept data it carries; the replaced data is kept", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "swap-in-"));
  const write = (f: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    fs.writeFileSync(path.join(root, f), text);
  };
  // The archive: a volume that a restore had replaced once (its kept data inside), as a backup after that restore copies it.
  write("src/.users", "u:new\n");
  write("src/_mdb_catalog.wt", "catalog-new");
  write(`src/${RESTORE_PREVIOUS}/_mdb_catalog.wt`, "catalog-older");
  write("vol/.users", "u:live\n");
  write("vol/_mdb_catalog.wt", "catalog-live");
  execFileSync("busybox", ["sh", "-c", `cd "${root}/src" && busybox tar -cf "${root}/a.tar" .`]);
  execFileSync("busybox", ["sh", "-c", SWAP_IN.replace("cd /data", `cd "${root}/vol"`).replace(/\btar\b/g, "busybox tar")], {
    input: fs.readFileSync(`${root}/a.tar`),
  });
  const read = (f: string) => fs.readFileSync(path.join(root, "vol", f), "utf8");
  expect([read(".users"), read("_mdb_catalog.wt"), read(`${RESTORE_PREVIOUS}/.users`), read(`${RESTORE_PREVIOUS}/_mdb_catalog.wt`)]).toEqual([
    "u:new\n",
    "catalog-new",
    "u:live\n",
    "catalog-live",
  ]);
  expect(fs.readdirSync(path.join(root, "vol")).sort()).toEqual([RESTORE_PREVIOUS, ".users", "_mdb_catalog.wt"].sort());
  fs.rmSync(root, { recursive: true, force: true });
});

describe.each([
  ["busybox sh and tar (the stand-in image)", ["busybox", "sh"], "busybox tar"],
  ["dash and GNU tar (Mongo's image)", ["/bin/sh"], "tar"],
])("the backup's archive of the volume, by %s", (_, shell, tar) => {
  let root: string;
  beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), "archive-volume-"))));
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));
  const write = (f: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(root, "vol", f)), { recursive: true });
    fs.writeFileSync(path.join(root, "vol", f), text);
  };
  const archive = () => execFileSync(shell[0], [...shell.slice(1), "-c", ARCHIVE_VOLUME.replace("cd /data", `cd "${root}/vol"`).replace(/\btar\b/g, tar)]);
  const list = (archived: Buffer) =>
    execFileSync(shell[0], [...shell.slice(1), "-c", `${tar} -tf -`], { input: archived })
      .toString()
      .split("\n")
      .filter(Boolean)
      .sort();

  test("every entry of the volume but a restore's kept and half-unpacked data, as ./<name>; it swaps in whole", () => {
    for (const f of [".users", "_mdb_catalog.wt", "journal/WiredTigerLog.1", "-leading dash", "..two dots", "with space.wt"]) write(f, f);
    write(`${RESTORE_PREVIOUS}/_mdb_catalog.wt`, "the data a restore replaced");
    write(`${RESTORE_STAGING}/_mdb_catalog.wt`, "a restore that stopped half-way");
    const archived = archive();
    expect(list(archived)).toEqual(
      ["./-leading dash", "./..two dots", "./.users", "./_mdb_catalog.wt", "./journal/", "./journal/WiredTigerLog.1", "./with space.wt"].sort(),
    );
    fs.mkdirSync(path.join(root, "new"));
    execFileSync(shell[0], [...shell.slice(1), "-c", SWAP_IN.replace("cd /data", `cd "${root}/new"`).replace(/\btar\b/g, tar)], { input: archived });
    expect(fs.readFileSync(path.join(root, "new", "journal/WiredTigerLog.1"), "utf8")).toBe("journal/WiredTigerLog.1");
    expect(fs.readdirSync(path.join(root, "new")).sort()).toEqual(
      [RESTORE_PREVIOUS, "-leading dash", "..two dots", ".users", "_mdb_catalog.wt", "journal", "with space.wt"].sort(),
    );
  });

  test("a volume holding only a restore's kept data: an empty archive (listed as nothing), not an error", () => {
    write(`${RESTORE_PREVIOUS}/_mdb_catalog.wt`, "the data a restore replaced");
    const archived = archive();
    expect([archived.length, list(archived)]).toEqual([1024, []]);
  });
});

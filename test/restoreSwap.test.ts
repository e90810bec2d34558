/**
 * The restore's swap (components/renderers/operations/restore.ts SWAP_IN) run for real, by busybox's
 * sh and tar as in the stand-in image, on folders standing for the volume.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { RESTORE_PREVIOUS, SWAP_IN } from "../components/renderers/operations/restore";

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

/**
 * A build spec's `git` source: the repository fetched at `ref` into a folder of its own under
 * `~/.copilotos/src` (`COPILOTOS_STATE_DIR`), once per program run, so a build needs no checkout.
 * Offline with an earlier fetch, the earlier one is used (with a warning); offline without one, the
 * error says how to build from a checkout instead.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface GitSource {
  url: string;
  ref: string;
}

/** Where sources are fetched to. */
export const sourceRoot = () => path.join(process.env.COPILOTOS_STATE_DIR ?? path.join(os.homedir(), ".copilotos"), "src");

/** The folder of one repository: its URL's hash, so two URLs never share one. */
export const sourceDir = (root: string, url: string) => path.join(root, createHash("sha256").update(url).digest("hex").slice(0, 16));

const fetched = new Map<string, string>();

/** A URL as it may be printed: credentials (`https://user:token@…`) cut off. */
export const shownUrl = (url: string) => url.replace(/\/\/[^/@]*@/, "//");

/**
 * Fetches `ref` of `url` and checks it out detached; returns the folder, or undefined in the offline
 * dry run (`npm run check` sets COPILOTOS_FETCH_SOURCES=0: it contacts nothing). `key` names the
 * config key in errors; `log` gets progress and warnings.
 */
export function checkoutSource(src: GitSource, key: string, log: (msg: string) => void, root = sourceRoot()): string | undefined {
  if (process.env.COPILOTOS_FETCH_SOURCES === "0") return undefined;
  const dir = sourceDir(root, src.url);
  const id = `${dir}@${src.ref}`;
  const done = fetched.get(id);
  if (done) return done;
  const shown = shownUrl(src.url);
  const git = (...args: string[]) =>
    execFileSync("git", ["-C", dir, ...args], { stdio: ["ignore", "pipe", "pipe"] })
      .toString()
      .trim();
  const had = fs.existsSync(path.join(dir, ".git"));
  if (!had) {
    fs.mkdirSync(dir, { recursive: true });
    execFileSync("git", ["init", "-q", dir], { stdio: "ignore" });
  }
  log(`${key}: fetching ${shown} at ${src.ref} into ${dir}`);
  try {
    git("fetch", "-q", "--depth", "1", src.url, src.ref);
  } catch (e) {
    // git's last line of complaint, with the URL as it may be shown (no credentials).
    const why = ((e as { stderr?: Buffer }).stderr?.toString().trim().split("\n").pop() ?? "git fetch failed").split(src.url).join(shown);
    if (!had || !hasCommit(dir)) {
      throw new Error(
        `${key}: cannot fetch ${shown} at ${src.ref} (${why}); check the URL and ref, or clone it yourself and build from the checkout: ` +
          `set ${key.replace(/\.git$/, "")}.context to its path and remove ${key}`,
        // eslint-disable-next-line preserve-caught-error -- the caught error names the URL as typed, credentials and all; this cause has them cut
        { cause: new Error(why) },
      );
    }
    log(`${key}: cannot fetch ${shown} at ${src.ref} (${why}); building the copy fetched before (${git("rev-parse", "--short=12", "HEAD")})`);
    fetched.set(id, dir);
    return dir;
  }
  git("checkout", "-q", "--detach", "--force", "FETCH_HEAD");
  git("clean", "-q", "-fdx");
  fetched.set(id, dir);
  return dir;
}

function hasCommit(dir: string): boolean {
  try {
    execFileSync("git", ["-C", dir, "rev-parse", "-q", "--verify", "HEAD"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

import * as fs from "node:fs";
import * as path from "node:path";

/** The project directory (the one holding Pulumi.yaml), from source or from the compiled bin/. */
export function projectRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no Pulumi.yaml above ${from}`);
  }
}

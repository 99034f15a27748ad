/**
 * Files that another program reads at run time, e.g. a handler adapter run by python3 or php.
 * Import such a file as `import path from "./adapter.py" with { type: "file" }` (with a
 * `declare module "*.py"` the importing file references, so users' type checks of the package
 * see it): from source or an installed package `path` is the file itself; in a compiled binary
 * the file is embedded under /$bunfs/, which only the binary can read. `externalPath` returns a
 * path any program can read: the same path, or a copy written once per process to a private
 * temporary folder that is removed when the process exits.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

/** Where a compiled binary keeps its modules and embedded files. */
export const EMBEDDED_ROOT = "/$bunfs/";

let folder: string | null = null;
const copies = new Map<string, string>();

export async function externalPath(path: string): Promise<string> {
  if (!path.startsWith(EMBEDDED_ROOT)) return path;
  const known = copies.get(path);
  if (known !== undefined) return known;
  if (folder === null) {
    const dir = mkdtempSync(join(tmpdir(), "gearbun-files-"));
    folder = dir;
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  // The embedded name carries a hash of the content, so each version gets its own file.
  const copy = join(folder, basename(path));
  writeFileSync(copy, await Bun.file(path).bytes());
  copies.set(path, copy);
  return copy;
}

/**
 * Running as a compiled binary (`bun run build` → dist/gearbun). The library starts some of its
 * own modules as processes, `process.execPath script args…`: the pool's children and the demo's
 * workers. Inside the binary `process.execPath` is the binary and `script` an embedded path under
 * /$bunfs/ that no other program can read, so the binary receives that path as its first
 * argument: it then runs the module itself, with the arguments after it. The spawn sites stay
 * as they are from source, where Bun runs the file.
 *
 * Handler files loaded at run time by such a binary (`gearbun worker handlers.ts`) may import
 * "gearbun" and its subpaths: they get the binary's own modules, so `JobFailure` is the class
 * the runner checks for, with no node_modules beside them.
 */
import { basename } from "node:path";
import { EMBEDDED_ROOT } from "../util/external-file.ts";

/** Each script the library spawns, by file name, and how the binary runs it. */
const SCRIPTS: Record<string, () => Promise<unknown>> = {
  "child.ts": async () => (await import("../pool/child.ts")).main(),
  "worker-process.ts": () => import("../demo/worker-process.ts"),
  "naive-worker-process.ts": () => import("../demo/naive-worker-process.ts"),
};

/** Makes `import … from "gearbun"` (and each subpath) in files loaded at run time resolve to this binary's modules. */
export async function provideEntryPoints(): Promise<void> {
  // Loaded here, not at the top: the other commands do not need every module.
  const ENTRY_POINTS: Record<string, object> = {
    gearbun: await import("../index.ts"),
    "gearbun/protocol": await import("../protocol/index.ts"),
    "gearbun/ops": await import("../ops/index.ts"),
    "gearbun/options": await import("../options/index.ts"),
  };
  Bun.plugin({
    name: "gearbun entry points",
    setup(build) {
      for (const [specifier, exports] of Object.entries(ENTRY_POINTS)) {
        build.module(specifier, () => ({ exports: { ...exports }, loader: "object" }));
      }
    },
  });
}

/**
 * When `argv[0]` is one of the binary's embedded scripts, runs it (with `process.argv` as the
 * script would see it from source) and returns true; otherwise false.
 */
export async function runEmbeddedScript(argv: readonly string[]): Promise<boolean> {
  const path = argv[0];
  if (path === undefined || !path.startsWith(EMBEDDED_ROOT)) return false;
  const script = SCRIPTS[basename(path)];
  if (script === undefined) return false;
  // From source the script is argv[1] and its arguments follow; here the binary is argv[1].
  process.argv.splice(2, 1);
  await provideEntryPoints();
  await script();
  return true;
}

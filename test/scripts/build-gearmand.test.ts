/**
 * scripts/build-gearmand.sh without compiling anything: its argument checks, how it tells the
 * version, and that a version already in the cache is reused (the real build takes minutes and
 * the build tools; README "Development" has the commands, run by hand).
 */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const SCRIPT = join(import.meta.dir, "..", "..", "scripts", "build-gearmand.sh");
const root = mkdtempSync(join(tmpdir(), "gearbun-build-script-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function run(args: string[], cache = join(root, "cache")): { code: number; out: string; err: string } {
  const r = Bun.spawnSync(["bash", SCRIPT, ...args], {
    env: { ...process.env, GEARBUN_CACHE: cache },
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

/** A cache holding a finished build of `version`. */
function builtCache(name: string, version: string): string {
  const cache = join(root, name);
  mkdirSync(join(cache, `gearmand-${version}`, "sbin"), { recursive: true });
  const binary = join(cache, `gearmand-${version}`, "sbin", "gearmand");
  writeFileSync(binary, "#!/bin/sh\n");
  chmodSync(binary, 0o755);
  writeFileSync(join(cache, `gearmand-${version}`, "build-info"), `version=${version}\n`);
  return cache;
}

test("build-gearmand - bad arguments exit 2 with one line saying what is wrong", () => {
  expect(run([])).toMatchObject({ code: 2, out: "" });
  expect(run([]).err).toStartWith("usage: scripts/build-gearmand.sh SOURCE_DIR_OR_TARBALL [VERSION]");
  expect(run([join(root, "missing")])).toMatchObject({
    code: 2,
    err: `build-gearmand: no such source: ${join(root, "missing")}\n`,
  });
  const notGearmand = join(root, "not-gearmand");
  mkdirSync(notGearmand);
  expect(run([notGearmand]).err).toBe(
    `build-gearmand: ${notGearmand} has no configure.ac: not a gearmand source tree\n`,
  );
  expect(run([notGearmand, "../etc"])).toMatchObject({
    code: 2,
    err: "build-gearmand: not a version: '../etc' (e.g. 2.0.0)\n",
  });
});

test("build-gearmand - a version already built is reused: the binary's path is the only output", () => {
  const cache = builtCache("cache-given", "2.0.0");
  const tree = join(root, "tree-given");
  mkdirSync(tree);
  writeFileSync(join(tree, "configure.ac"), "");
  const r = run([tree, "2.0.0"], cache);
  expect(r).toMatchObject({ code: 0, out: `${join(cache, "gearmand-2.0.0", "sbin", "gearmand")}\n` });
  expect(r.err).toContain("gearmand 2.0.0 is already built");
});

test("build-gearmand - a release tarball's configure names its version", () => {
  const cache = builtCache("cache-tarball", "1.1.22");
  const tree = join(root, "gearmand-1.1.22");
  mkdirSync(tree);
  writeFileSync(join(tree, "configure.ac"), "");
  writeFileSync(join(tree, "configure"), "#!/bin/sh\nPACKAGE_VERSION='1.1.22'\n");
  chmodSync(join(tree, "configure"), 0o755);
  const tarball = join(root, "gearmand-1.1.22.tar.gz");
  expect(Bun.spawnSync(["tar", "-czf", tarball, "-C", root, "gearmand-1.1.22"]).exitCode).toBe(0);
  expect(run([tarball], cache)).toMatchObject({
    code: 0,
    out: `${join(cache, "gearmand-1.1.22", "sbin", "gearmand")}\n`,
  });
});

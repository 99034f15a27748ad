/**
 * External files - a file another program runs (a handler adapter, say), imported
 * `with { type: "file" }`: from source externalPath gives the file itself; in a compiled binary
 * it gives a copy that other programs can read, removed when the process exits.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EMBEDDED_ROOT } from "../../src/util/external-file.ts";
import { run } from "../support/processes.ts";

const FIXTURE = join(import.meta.dir, "fixtures", "external-file.ts");
let dir = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "gearbun-external-"));
});

afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

test("external files - from source the path is the file itself", async () => {
  const { code, out, err } = await run([process.execPath, FIXTURE], { cwd: dir });
  expect(err).toBe("");
  expect(code).toBe(0);
  const script = join(import.meta.dir, "fixtures", "greet.sh");
  expect(JSON.parse(out)).toEqual({ embedded: script, path: script, out: "hello from sh: there\n" });
});

test("external files - in a compiled binary sh runs a copy, removed at exit", async () => {
  const binary = join(dir, "external-file");
  const build = await run([process.execPath, "build", "--compile", FIXTURE, "--outfile", binary], {
    timeoutMs: 120_000,
  });
  expect(build.err).toBe("");
  expect(build.code).toBe(0);
  const { code, out, err } = await run([binary], { cwd: dir });
  expect(err).toBe("");
  expect(code).toBe(0);
  const result = JSON.parse(out) as { embedded: string; path: string; out: string };
  expect(result.embedded.startsWith(EMBEDDED_ROOT)).toBe(true);
  expect(result.path.startsWith(tmpdir())).toBe(true);
  expect(result.out).toBe("hello from sh: there\n");
  expect(existsSync(result.path)).toBe(false);
}, 120_000);

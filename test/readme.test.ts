/**
 * README - the "Five lines" example runs as written (imports rewritten to this checkout).
 */
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dir, "..");

function block(heading: string): string {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const at = readme.indexOf(`## ${heading}`);
  expect(at).toBeGreaterThanOrEqual(0);
  const match = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!match?.[1]) throw new Error(`no ts block under "## ${heading}"`);
  return match[1];
}

test("readme - the five-line example prints the reversed text", async () => {
  const code = block("Five lines").replaceAll('from "gearbun"', `from ${JSON.stringify(join(root, "src/index.ts"))}`);
  const dir = mkdtempSync(join(tmpdir(), "gearbun-readme-"));
  try {
    const file = join(dir, "example.ts");
    writeFileSync(file, code);
    const proc = Bun.spawn([process.execPath, file], {
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, GEARMAN_SERVERS: "" },
    });
    const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
    const [out, err, code_] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    clearTimeout(timer);
    expect(err).toBe("");
    expect(code_).toBe(0);
    expect(out.trim()).toBe("olleh");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

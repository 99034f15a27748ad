/**
 * README - the "Five lines" example runs as written (imports rewritten to this checkout), and
 * the error table lists exactly the codes src/errors.ts defines, each raised somewhere in src.
 */
import { expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ERROR_CODES } from "../src/errors.ts";
import { run } from "./support/processes.ts";

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
    const {
      code: code_,
      out,
      err,
    } = await run([process.execPath, file], {
      env: { ...process.env, GEARMAN_SERVERS: "" },
    });
    expect(err).toBe("");
    expect(code_).toBe(0);
    expect(out.trim()).toBe("olleh");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("readme - the error table lists every code with the class that carries it, and nothing else", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Errors"), readme.indexOf("\n## ", readme.indexOf("## Errors") + 1));
  const rows = [...section.matchAll(/^\| `([A-Z_]+)` \| `(\w+)` \|/gm)].map((m) => `${m[2]} ${m[1]}`);
  const defined = Object.entries(ERROR_CODES).flatMap(([cls, codes]) => codes.map((code) => `${cls} ${code}`));
  expect(rows.toSorted()).toEqual(defined.toSorted());
});

test("readme - every defined error code is raised somewhere in src", () => {
  const sources = (readdirSync(join(root, "src"), { recursive: true }) as string[])
    .filter((f) => f.endsWith(".ts") && f !== "errors.ts")
    .map((f) => readFileSync(join(root, "src", f), "utf8"))
    .join("\n");
  // A class with one code sets it itself: then constructing the class raises the code.
  const unused = Object.entries(ERROR_CODES).flatMap(([cls, codes]) =>
    codes.filter((code) => !sources.includes(`"${code}"`) && !(codes.length === 1 && sources.includes(`new ${cls}(`))),
  );
  expect(unused).toEqual([]);
});

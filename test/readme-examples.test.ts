/**
 * README - every TypeScript block type-checks as a file of its own, importing from the package's
 * entry points ("gearbun", "gearbun/protocol"…) as a user writes them; the blocks that need no
 * job server of the reader's run to their end. The package is resolved through a node_modules
 * link to this checkout, so its package.json `exports` are what resolves the imports.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "./support/processes.ts";

const root = join(import.meta.dir, "..");

/** Blocks that start what they use (an embedded server on port 0), by the heading above them. */
const RUNNABLE = new Set(["Five lines", "Embedded job server"]);

interface Block {
  readonly heading: string;
  readonly file: string;
  readonly code: string;
}

function readmeBlocks(): Block[] {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const blocks: Block[] = [];
  let heading = "";
  for (const m of readme.matchAll(/^(#{1,6}) (.+)$|^```ts\n([\s\S]*?)^```$/gm)) {
    if (m[2] !== undefined) heading = m[2].trim();
    else if (m[3] !== undefined) {
      const slug = heading
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, "-")
        .replace(/^-|-$/g, "");
      blocks.push({ heading, file: `${String(blocks.length + 1).padStart(2, "0")}-${slug}.ts`, code: m[3] });
    }
  }
  return blocks;
}

const blocks = readmeBlocks();
let dir = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "gearbun-readme-"));
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(root, join(dir, "node_modules", "gearbun"));
  for (const name of ["bun-types", "@types", "undici-types"]) {
    symlinkSync(join(root, "node_modules", name), join(dir, "node_modules", name));
  }
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({ extends: join(root, "tsconfig.json"), include: ["*.ts"] }),
  );
  for (const block of blocks) writeFileSync(join(dir, block.file), block.code);
});

afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

test("readme - has TypeScript blocks under the sections that show the API", () => {
  const headings = new Set(blocks.map((b) => b.heading));
  for (const h of ["Five lines", "Worker", "Client", "Admin", "Embedded job server", "TLS", "Worker pool"]) {
    expect(headings).toContain(h);
  }
});

test("readme - every TypeScript block type-checks with its imports from the package", async () => {
  const tsc = join(root, "node_modules", ".bin", "tsc");
  const { code, out, err } = await run([tsc, "--noEmit", "-p", dir], { timeoutMs: 60_000 });
  // tsc names the block's file (NN-heading.ts) and line in each error.
  expect(out + err).toBe("");
  expect(code).toBe(0);
});

for (const block of blocks.filter((b) => RUNNABLE.has(b.heading))) {
  test(`readme - the "${block.heading}" block runs to its end`, async () => {
    const { code, err, hung } = await run([process.execPath, join(dir, block.file)], {
      env: { ...process.env, GEARMAN_SERVERS: "" },
    });
    expect(hung).toBe(false);
    expect(err).toBe("");
    expect(code).toBe(0);
  });
}

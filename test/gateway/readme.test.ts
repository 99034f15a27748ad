/**
 * Gateway - README's "HTTP gateway" section: its example runs as written (imports rewritten to
 * this checkout), and its status table lists every code the gateway itself answers with, under
 * the status it answers with.
 */
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GATEWAY_CODES } from "../../src/gateway/errors.ts";
import { run } from "../support/processes.ts";

const root = join(import.meta.dir, "..", "..");
const readme = readFileSync(join(root, "README.md"), "utf8");
const at = readme.indexOf("## HTTP gateway");
const section = readme.slice(at, readme.indexOf("\n## ", at + 1));

test("gateway - README: the example runs as written", async () => {
  const code = /```ts\n([\s\S]*?)```/
    .exec(section)![1]!
    .replaceAll('from "gearbun"', `from ${JSON.stringify(join(root, "src/index.ts"))}`);
  const dir = mkdtempSync(join(tmpdir(), "gearbun-readme-gateway-"));
  try {
    writeFileSync(join(dir, "example.ts"), code);
    const r = await run([process.execPath, join(dir, "example.ts")], { timeoutMs: 15_000 });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^POST http:\/\/127\.0\.0\.1:\d+\/jobs\/FUNCTION\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("gateway - README: the status table lists each of the gateway's codes under its status", () => {
  const rows = [...section.matchAll(/^\| ([\d /]+) \| (.*) \|$/gm)];
  for (const [code, status] of Object.entries(GATEWAY_CODES)) {
    const row = rows.find((r) => r[2]!.includes(`\`${code}\``));
    expect({ code, row: row?.[1] }).toEqual({ code, row: expect.stringContaining(String(status)) });
  }
});

/**
 * Dockerfile - the build stage's steps, run here as a script (no image can be pulled offline):
 * its COPYs from this checkout into a scratch root, its RUNs there with `sh -c`; then the file
 * the final stage copies out of the build stage exists and is the gearbun binary. What this
 * cannot check: the base images themselves (their Bun and glibc), which need a registry.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { run } from "../support/processes.ts";

const root = join(import.meta.dir, "..", "..");

interface Instruction {
  readonly op: string;
  readonly args: string;
}

/** The Dockerfile's stages, each a list of instructions (continuation lines joined, comments dropped). */
function stages(): Instruction[][] {
  const text = readFileSync(join(root, "Dockerfile"), "utf8").replace(/\\\n/g, " ");
  const out: Instruction[][] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*([A-Z]+)\s+(.*)$/.exec(line);
    if (m === null) continue;
    if (m[1] === "FROM") out.push([]);
    out.at(-1)?.push({ op: m[1]!, args: m[2]!.trim() });
  }
  return out;
}

let scratch = "";
let binary = "";

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "gearbun-docker-"));
  const [build, final] = stages();
  let workdir = scratch;
  for (const { op, args } of build!) {
    if (op === "WORKDIR") {
      workdir = join(scratch, args);
      mkdirSync(workdir, { recursive: true });
    } else if (op === "COPY") {
      const parts = args.split(/\s+/);
      const dest = join(workdir, parts.at(-1)!);
      for (const source of parts.slice(0, -1)) {
        cpSync(join(root, source), parts.length > 2 ? join(dest, source) : dest, { recursive: true });
      }
    } else if (op === "RUN") {
      const step = await run(["sh", "-c", args], { cwd: workdir, timeoutMs: 180_000 });
      if (step.code !== 0) throw new Error(`RUN ${args} failed: ${step.out}${step.err}`);
    }
  }
  const copy = final!.find((i) => i.op === "COPY" && i.args.startsWith("--from=build "));
  binary = join(scratch, copy!.args.split(/\s+/)[1]!);
}, 180_000);

afterAll(() => {
  if (scratch !== "") rmSync(scratch, { recursive: true, force: true });
});

test("dockerfile - two stages: Bun builds, a slim image without Bun runs the binary", () => {
  const [build, final] = stages();
  expect(build![0]!.args).toMatch(/^oven\/bun:\S+ AS build$/);
  expect(final![0]!.args).toMatch(/-slim$/);
  expect(final!.find((i) => i.op === "ENTRYPOINT")?.args).toBe('["/usr/local/bin/gearbun"]');
});

test("dockerfile - the build stage's steps make the binary the final stage copies", async () => {
  expect(existsSync(binary)).toBe(true);
  expect(await run([binary, "--version"])).toEqual({ code: 0, out: `gearbun ${pkg.version}\n`, err: "", hung: false });
});

test("dockerfile - .dockerignore keeps out nothing the build stage copies", () => {
  const ignored = readFileSync(join(root, ".dockerignore"), "utf8").split("\n").filter(Boolean);
  const copied = stages()[0]!
    .filter((i) => i.op === "COPY")
    .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
  expect(copied.filter((c) => ignored.some((p) => c === p || c.startsWith(`${p}/`)))).toEqual([]);
});

/**
 * Pool - check: `gearbun worker --check` loads the config and each group's handlers the way the
 * children do, prints what each group registers and starts nothing (exit 0); a problem is one
 * line, exit 2. `gearbun dead --config` takes the dead-letter file from the pool's config.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { gearbun } from "../support/processes.ts";
import { FIXTURES, HANDLERS, tempDir } from "./helpers.ts";

test("pool - check: a good config prints each group's functions and exits 0 without contacting a server", async () => {
  const dir = tempDir({
    "pool.toml": `handlers = ${JSON.stringify(HANDLERS)}\nservers = "127.0.0.1:1"\nprocesses = 2\n[functions.shout]\nprocesses = 1\ntimeout = 2\n`,
  });
  const r = await gearbun(["worker", "--config", join(dir, "pool.toml"), "--check"]);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  expect(r.out.trim().split("\n")).toEqual([
    "general: reverse, pid (2 processes)",
    "shout: shout (1 process)",
    "ok: the config and handlers load; servers 127.0.0.1:1 (not contacted)",
  ]);
});

test("pool - check: a typo'd function section, a module that throws, a bad key: one line, exit 2", async () => {
  const dir = tempDir({
    "typo.toml": `handlers = ${JSON.stringify(HANDLERS)}\n[functions.shuot]\ntimeout = 2\n`,
    "key.toml": `handlers = ${JSON.stringify(HANDLERS)}\nmax-job = 5\n`,
  });
  const typo = await gearbun(["worker", "--config", join(dir, "typo.toml"), "--check"]);
  expect([typo.code, typo.out, typo.err.trim()]).toEqual([
    2,
    "",
    'gearbun worker: handlers failed to load: [functions.shuot] names a function no handlers module exports (did you mean "shout"?)',
  ]);
  const broken = await gearbun(["worker", join(FIXTURES, "broken.ts"), "--check"]);
  expect(broken.code).toBe(2);
  expect(broken.err.trim()).toBe(
    `gearbun worker: handlers failed to load: cannot load ${join(FIXTURES, "broken.ts")}: Error: broken on purpose: the database URL is missing`,
  );
  const key = await gearbun(["worker", "--config", join(dir, "key.toml"), "--check"]);
  expect([key.code, key.err.trim()]).toEqual([2, `gearbun worker: ${join(dir, "key.toml")}: max-job: unknown key`]);
});

test("pool - dead --config: a config without dead-letter, or no file at all, is one line, exit 2", async () => {
  const dir = tempDir({ "pool.toml": `handlers = ${JSON.stringify(HANDLERS)}\n` });
  const none = await gearbun(["dead", "list", "--config", join(dir, "pool.toml")]);
  expect([none.code, none.err.trim()]).toEqual([2, `gearbun dead: ${join(dir, "pool.toml")} sets no dead-letter`]);
  const neither = await gearbun(["dead", "list"]);
  expect([neither.code, neither.err.trim()]).toEqual([
    2,
    "gearbun dead: --dead-letter FILE (or --config FILE) is required",
  ]);
});

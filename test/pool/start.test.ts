/**
 * Pool - start: `startPool` with handlers that do not load rejects at once with PoolError
 * LOAD_FAILED naming the load error; children that never register (no server) make it reject
 * with START_FAILED after `startTimeout`; neither leaves a child behind; a pool whose children
 * register resolves well within it; the option is checked.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { ConfigError, PoolError } from "../../src/errors.ts";
import { POOL_DEFAULTS, resolvePoolOptions } from "../../src/options.ts";
import { startPool } from "../../src/pool/supervisor.ts";
import { eventually } from "../support/eventually.ts";
import { describeGearmand, startGearmand } from "../support/gearmand.ts";
import { alive, FIXTURES, HANDLERS, memorySink, startChecked } from "./helpers.ts";

test("pool - start: startTimeout defaults to 30 s, 0 means wait, a bad value names the option", () => {
  expect(POOL_DEFAULTS.startTimeout).toBe(30_000);
  expect(resolvePoolOptions({ handlers: HANDLERS }).startTimeout).toBe(30_000);
  expect(resolvePoolOptions({ handlers: HANDLERS, startTimeout: 0 }).startTimeout).toBe(0);
  expect(() => resolvePoolOptions({ handlers: HANDLERS, startTimeout: -1 })).toThrow(ConfigError);
  expect(() => resolvePoolOptions({ handlers: HANDLERS, startTimeout: -1 })).toThrow(/^startTimeout: /);
});

test("pool - start: handlers that do not load reject startPool with LOAD_FAILED at once; no child is left", async () => {
  const sink = memorySink();
  const began = Date.now();
  const error = await startPool(
    { handlers: join(FIXTURES, "broken.ts"), servers: "127.0.0.1:1", processes: 2, startTimeout: 5000, log: "json" },
    { sink },
  ).then(
    () => null,
    (e: unknown) => e,
  );
  const ms = Date.now() - began;
  console.log(`pool - start: rejected after ${ms} ms: ${(error as Error | null)?.message}`);
  expect(error).toBeInstanceOf(PoolError);
  expect((error as PoolError).code).toBe("LOAD_FAILED");
  expect((error as PoolError).message).toBe(
    `handlers failed to load: cannot load ${join(FIXTURES, "broken.ts")}: Error: broken on purpose: the database URL is missing`,
  );
  // Well before startTimeout: a respawn would not load them either.
  expect(ms).toBeLessThan(5000);
  const events = sink.lines
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { event: string; pid?: number });
  expect(events.filter((e) => e.event === "child:respawn")).toEqual([]);
  expect(events.at(-1)).toMatchObject({ event: "stopped" });
  const pids = events.filter((e) => e.event === "child:start").map((e) => e.pid!);
  expect(pids.filter(alive)).toEqual([]);
});

test("pool - start: children that cannot reach a server reject startPool with START_FAILED after startTimeout; no child is left", async () => {
  const sink = memorySink();
  const began = Date.now();
  const error = await startPool(
    { handlers: HANDLERS, servers: "127.0.0.1:1", processes: 2, startTimeout: 1500, log: "json" },
    { sink },
  ).then(
    () => null,
    (e: unknown) => e,
  );
  const ms = Date.now() - began;
  console.log(`pool - start: rejected after ${ms} ms: ${(error as Error | null)?.message}`);
  expect(error).toBeInstanceOf(PoolError);
  expect((error as PoolError).code).toBe("START_FAILED");
  expect((error as PoolError).message).toContain("no worker process became ready within 1500 ms");
  expect((error as PoolError).message).toContain("no job server could be reached");
  expect(ms).toBeGreaterThanOrEqual(1500);
  expect(ms).toBeLessThan(10_000);
  const events = sink.lines
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { event: string; pid?: number });
  const pids = events.filter((e) => e.event === "child:start").map((e) => e.pid!);
  expect(pids.length).toBeGreaterThanOrEqual(2);
  expect(events.at(-1)).toMatchObject({ event: "stopped" });
  // Every spawned child has exited, and no respawn comes after the rejection.
  expect(pids.filter(alive)).toEqual([]);
  await Bun.sleep(500);
  expect(sink.lines.filter((l) => l.includes('"event":"child:start"'))).toHaveLength(pids.length);
});

describeGearmand("pool - start on gearmand", () => {
  test("pool - start: children that register resolve startPool before startTimeout; the timer does not fire later", async () => {
    await using g = await startGearmand();
    const sink = memorySink();
    const { pool, violations } = await startChecked(
      { handlers: HANDLERS, servers: g.address, processes: 2, startTimeout: 1500, log: "json" },
      { sink },
    );
    try {
      expect(pool.state).toBe("running");
      await Bun.sleep(2000);
      expect(pool.state).toBe("running");
      await eventually(() => pool.children().filter((c) => c.state === "ready").length === 2, "two ready children");
    } finally {
      expect(await pool.stop({ deadline: 2000 })).toBe(true);
      expect(violations).toEqual([]);
    }
  });
});

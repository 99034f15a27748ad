/**
 * Pool - recycle: children that reach --max-jobs or --max-lifetime are replaced, the replacement
 * registered first, so under load no job fails and a child is always registered.
 */
import { expect, test } from "bun:test";
import type { PoolEvents } from "../../src/pool/events.ts";
import { describeGearmand, startGearmand } from "../support/gearmand.ts";
import { HANDLERS, memorySink, poolWorkers, reversed, startLoad, startChecked } from "./helpers.ts";

describeGearmand("pool - recycle", () => {
  test("pool - maxJobs 50 under load: children are replaced, no job fails, a child is registered at every poll", async () => {
    await using g = await startGearmand();
    const { pool, violations } = await startChecked(
      { handlers: HANDLERS, servers: g.address, processes: 2, concurrency: 2, maxJobs: 50, stopDeadline: 2000 },
      { sink: memorySink() },
    );
    const recycles: PoolEvents["child:recycle"][] = [];
    pool.on("child:recycle", (e) => recycles.push(e));
    const unexpected: string[] = [];
    pool.on("child:exit", (e) => void (e.expected || unexpected.push(e.reason)));
    try {
      const load = await startLoad([g.address], "reverse", reversed);
      const polls: number[] = [];
      for (const deadline = Date.now() + 8000; Date.now() < deadline && recycles.length < 6; ) {
        polls.push((await poolWorkers(g.address)).filter((w) => w.functions.includes("reverse")).length);
        await Bun.sleep(25);
      }
      const r = await load.stop();
      console.log(
        `pool - recycle: ${recycles.length} recycles, ${r.done} jobs, ${r.failed} failed; ` +
          `registered children per poll: min ${Math.min(...polls)}, max ${Math.max(...polls)} over ${polls.length} polls`,
      );
      expect(recycles.length).toBeGreaterThanOrEqual(6);
      expect(recycles.every((e) => e.reason === "max-jobs")).toBe(true);
      expect(r.errors).toEqual([]);
      expect(r.failed + r.wrong).toBe(0);
      expect(Math.min(...polls)).toBeGreaterThanOrEqual(1);
      expect(unexpected).toEqual([]);
    } finally {
      expect(await pool.stop({ deadline: 2000 })).toBe(true);
      expect(violations).toEqual([]);
    }
  });

  test("pool - maxLifetime with restartSplay: each child is replaced after its lifetime, replacement first", async () => {
    await using g = await startGearmand();
    const { pool, violations } = await startChecked(
      { handlers: HANDLERS, servers: g.address, processes: 2, maxLifetime: 700, restartSplay: 300 },
      { sink: memorySink() },
    );
    try {
      const first = pool.children().map((c) => c.pid);
      const recycled = new Set<number>();
      const done = Promise.withResolvers<void>();
      pool.on("child:recycle", (e) => {
        expect(e.reason).toBe("max-lifetime");
        recycled.add(e.pid);
        if (first.every((pid) => recycled.has(pid))) done.resolve();
      });
      await Promise.race([done.promise, Bun.sleep(6000)]);
      expect([...recycled].filter((pid) => first.includes(pid)).sort()).toEqual([...first].sort());
    } finally {
      await pool.stop({ deadline: 1000 });
      expect(violations).toEqual([]);
    }
  });
});

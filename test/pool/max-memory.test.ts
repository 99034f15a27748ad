/**
 * Pool - max-memory: a child whose resident memory (from its heartbeats) passes `maxMemory` MB
 * is recycled the way --max-jobs and --max-lifetime recycle: its replacement registers first,
 * then it stops gracefully. Under a load on a handler that leaks, no job fails and a child is
 * registered at every poll.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import type { PoolEvents } from "../../src/pool/events.ts";
import { describeGearmand, startGearmand } from "../support/gearmand.ts";
import { FIXTURES, memorySink, poolWorkers, startChecked, startLoad } from "./helpers.ts";

describeGearmand("pool - max-memory", () => {
  test("pool - maxMemory 150 with a leaking handler: recycled on memory, replacement first, no job fails", async () => {
    await using g = await startGearmand();
    const { pool, violations } = await startChecked(
      { handlers: join(FIXTURES, "leak.ts"), servers: g.address, processes: 1, maxMemory: 150, stopDeadline: 2000 },
      { sink: memorySink() },
    );
    const recycles: PoolEvents["child:recycle"][] = [];
    pool.on("child:recycle", (e) => recycles.push(e));
    const rss: number[] = [];
    try {
      const first = pool.children()[0]!.pid;
      const load = await startLoad([g.address], "leak", (payload, text) => text.startsWith(`${payload} `), 2);
      const polls: number[] = [];
      for (const deadline = Date.now() + 20_000; Date.now() < deadline && recycles.length < 1; ) {
        polls.push((await poolWorkers(g.address)).length);
        const usage = pool.children().find((c) => c.pid === first)?.usage;
        if (usage) rss.push(Math.round(usage.rss / 2 ** 20));
        await Bun.sleep(50);
      }
      // The replacement serves: jobs keep coming back.
      const before = load.result.done;
      for (const deadline = Date.now() + 5000; Date.now() < deadline && load.result.done < before + 5; )
        await Bun.sleep(50);
      const r = await load.stop();
      console.log(
        `pool - max-memory: ${recycles.length} recycle(s) (${recycles.map((e) => e.reason).join(", ")}); ` +
          `old child's rss (MB) ${rss[0]} → ${rss.at(-1)}; ${r.done} jobs, ${r.failed} failed; ` +
          `registered per poll: min ${Math.min(...polls)}`,
      );
      expect(recycles).toHaveLength(1);
      expect(recycles[0]).toMatchObject({ reason: "max-memory", pid: first });
      expect(recycles[0]!.replacement).not.toBe(first);
      expect(r.errors).toEqual([]);
      expect(r.failed + r.wrong).toBe(0);
      expect(r.done).toBeGreaterThan(before);
      expect(Math.min(...polls)).toBeGreaterThanOrEqual(1);
    } finally {
      expect(await pool.stop({ deadline: 2000 })).toBe(true);
      expect(violations).toEqual([]);
    }
  }, 40_000);
});

/**
 * Pool - max-jobs bound: a child that has started `maxJobs` jobs grabs nothing more while its
 * replacement starts, so no child runs more than `maxJobs + concurrency` jobs (the GRABs it had
 * in flight when it reached the limit may still bring jobs). Before the bound, the old child kept
 * grabbing until its replacement registered: 2,711 jobs for a limit of 500.
 */
import { expect, test } from "bun:test";
import { describeGearmand, startGearmand } from "../support/gearmand.ts";
import { Submitter } from "../support/submitter.ts";
import { HANDLERS, memorySink, startChecked } from "./helpers.ts";

describeGearmand("pool - max-jobs bound", () => {
  test("pool - --processes 2 --concurrency 4 --max-jobs 500, 5,000 fast jobs: no child runs more than 504", async () => {
    await using g = await startGearmand();
    const { pool, violations } = await startChecked(
      {
        handlers: HANDLERS,
        servers: g.address,
        processes: 2,
        concurrency: 4,
        maxJobs: 500,
        stopDeadline: 2000,
        jobEvents: true,
      },
      { sink: memorySink() },
    );
    const submitter = await Submitter.open([g.address]);
    try {
      // The `pid` function answers with the pid of the child that ran it.
      const results = await Promise.all(Array.from({ length: 5000 }, (_, i) => submitter.submit("pid", `j${i}`)));
      const perChild = new Map<string, number>();
      for (const r of results) {
        expect(r.outcome).toBe("complete");
        perChild.set(r.text, (perChild.get(r.text) ?? 0) + 1);
      }
      const counts = [...perChild.values()].sort((a, b) => b - a);
      console.log(`pool - max-jobs bound: ${perChild.size} children ran ${counts.join(", ")} jobs`);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(5000);
      expect(counts[0]).toBeLessThanOrEqual(500 + 4);
      // 5,000 jobs at no more than 504 each: at least ten children ran them.
      expect(perChild.size).toBeGreaterThanOrEqual(10);
    } finally {
      await submitter.close();
      expect(await pool.stop({ deadline: 2000 })).toBe(true);
      expect(violations).toEqual([]);
    }
  }, 60_000);
});

/**
 * Bounded concurrency against a real job server, seen from the server (admin `status`): a
 * worker with `concurrency: 4` never has more than 4 jobs assigned, and the jobs it cannot run
 * are left for other workers (no hoarding). The fault-server view of the same rule is in
 * scheduler.test.ts.
 */
import { expect, test } from "bun:test";
import { Admin } from "../../src/admin/admin.ts";
import { Worker } from "../../src/worker/worker.ts";
import { logsOnFailure } from "../support/gearmand.ts";
import { describeTargets, startTarget } from "../support/targets.ts";
import { Submitter } from "../support/submitter.ts";
import { eventually } from "../support/eventually.ts";

/** The admin `status` row of one function: [queued+running, running, workers]. */
async function serverStatus(address: string, fn: string): Promise<[number, number, number]> {
  await using admin = new Admin(address);
  const row = (await admin.status()).find((r) => r.function === fn);
  return row === undefined ? [0, 0, 0] : [row.total, row.running, row.workers];
}

describeTargets("worker concurrency", (target) => {
  test(
    "concurrency - a worker with concurrency 4 never has more than 4 jobs assigned (admin status); other workers take the rest",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      const ran = new Map<string, string>();
      const make = (name: string, ms: number): Worker => {
        const w = new Worker({ servers: server.address, concurrency: 4, clientId: name });
        w.register("slow", async (job) => {
          await Bun.sleep(ms);
          expect(ran.has(job.unique)).toBe(false);
          ran.set(job.unique, name);
          return name;
        });
        return w;
      };
      await using a = make("A", 1500);
      await a.start();
      await using s = await Submitter.open([server.address]);
      for (let i = 0; i < 16; i++) await s.submit("slow", `${i}`, { unique: `j${i}`, background: true });

      // A alone: the server never sees more than 4 of its jobs running.
      let most = 0;
      const until = Date.now() + 600;
      while (Date.now() < until) {
        const [total, running] = await serverStatus(server.address, "slow");
        expect(total).toBe(16);
        most = Math.max(most, running);
        expect(running).toBeLessThanOrEqual(4);
      }
      expect(most).toBe(4);
      expect(a.stats().running).toBe(4);

      // B arrives: the 12 jobs A could not run were left queued, so B takes them at once.
      await using b = make("B", 5);
      await b.start();
      await eventually(() => ran.size === 16, "all 16 jobs", 5000);
      const byB = [...ran.values()].filter((w) => w === "B").length;
      expect(byB).toBe(12);
      expect(a.stats().functions.slow!.done).toBe(4);
      expect((await serverStatus(server.address, "slow"))[0]).toBe(0);
    }),
    10_000,
  );
});

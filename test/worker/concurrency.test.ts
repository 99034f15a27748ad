/**
 * Bounded concurrency against real gearmand, seen from the server (`gearadmin --status`): a
 * worker with `concurrency: 4` never has more than 4 jobs assigned, and the jobs it cannot run
 * are left for other workers (no hoarding). The fault-server view of the same rule is in
 * scheduler.test.ts.
 */
import { expect, test } from "bun:test";
import { Worker } from "../../src/worker/worker.ts";
import { describeGearmand, gearadminPath, logsOnFailure, startGearmand } from "../support/gearmand.ts";
import { Submitter } from "../support/submitter.ts";
import { eventually } from "./helpers.ts";

/** `gearadmin --status` for one function: [queued+running, running, workers]. */
async function serverStatus(port: number, fn: string): Promise<[number, number, number]> {
  const proc = Bun.spawn([gearadminPath!, "-h", "127.0.0.1", "-p", String(port), "--status"], { stdout: "pipe" });
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  const row = out.split("\n").find((l) => l.split("\t")[0] === fn);
  if (row === undefined) return [0, 0, 0];
  const [, total, running, workers] = row.split("\t").map(Number);
  return [total!, running!, workers!];
}

describeGearmand("worker concurrency", () => {
  test(
    "concurrency - a worker with concurrency 4 never has more than 4 jobs assigned (gearadmin --status); other workers take the rest",
    logsOnFailure(async () => {
      await using g = await startGearmand();
      const ran = new Map<string, string>();
      const make = (name: string, ms: number): Worker => {
        const w = new Worker({ servers: g.address, concurrency: 4, clientId: name });
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
      await using s = await Submitter.open([g.address]);
      for (let i = 0; i < 16; i++) await s.submit("slow", `${i}`, { unique: `j${i}`, background: true });

      // A alone: the server never sees more than 4 of its jobs running.
      let most = 0;
      const until = Date.now() + 600;
      while (Date.now() < until) {
        const [total, running] = await serverStatus(g.port, "slow");
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
      expect((await serverStatus(g.port, "slow"))[0]).toBe(0);
    }),
    10_000,
  );
});

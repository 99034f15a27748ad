/**
 * One of two job servers dies under load: jobs from the other keep flowing (the dead
 * server's GRABs return to the pool at once); restarted on the same port, the worker reconnects,
 * re-registers and takes its jobs again.
 */
import { expect, test } from "bun:test";
import { Worker } from "../../src/worker/worker.ts";
import { logsOnFailure } from "../support/gearmand.ts";
import { describeTargets, startTarget } from "../support/targets.ts";
import { Submitter } from "../support/submitter.ts";
import { eventually } from "../support/eventually.ts";

/** Submits background jobs to one server in small batches until stopped. */
function load(s: Submitter, fn: string): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    let i = 0;
    while (running) {
      // submit() throws at once when the connection is already closed, rejects when it closes later.
      const batch: Promise<unknown>[] = [];
      try {
        for (let k = 0; k < 10; k++) batch.push(s.submit(fn, `${i++}`, { background: true }));
        await Promise.all(batch);
      } catch {
        for (const p of batch) p.catch(() => {});
        return; // the server went away
      }
      await Bun.sleep(10);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
    },
  };
}

describeTargets("worker failover", (target) => {
  test(
    "failover - kill one of two servers under load: jobs from the other keep flowing; restarted, it gets its jobs taken again",
    logsOnFailure(async () => {
      await using a = await startTarget(target, { process: true }); // killed below: a real process
      await using b = await startTarget(target);
      await using worker = new Worker({
        servers: [a.address, b.address],
        concurrency: 4,
        reconnect: { initialDelay: 50, maxDelay: 200 },
      });
      const done = new Map<string, number>([
        [a.address, 0],
        [b.address, 0],
      ]);
      const events: string[] = [];
      worker.on("job:end", (e) => {
        if (e.delivered) done.set(e.job.server, done.get(e.job.server)! + 1);
      });
      worker.on("connect", (e) =>
        events.push(`connect ${e.server === a.address ? "A" : "B"}${e.reconnect ? " again" : ""}`),
      );
      worker.on("disconnect", (e) => events.push(`disconnect ${e.server === a.address ? "A" : "B"}`));
      worker.register("f", async (job) => {
        await Bun.sleep(1);
        return job.payload;
      });
      await worker.start();
      await eventually(() => events.length === 2, "connected to both");

      const sa = await Submitter.open([a.address]);
      await using sb = await Submitter.open([b.address]);
      const loadA = load(sa, "f");
      const loadB = load(sb, "f");
      try {
        await eventually(() => done.get(a.address)! > 50 && done.get(b.address)! > 50, "jobs from both servers");

        await a.kill(); // a crash under load
        await eventually(() => events.includes("disconnect A"), "the worker noticed A is gone");
        await loadA.stop();
        await sa.close();
        const fromB = done.get(b.address)!;
        await eventually(() => done.get(b.address)! > fromB + 200, "jobs from B keep flowing", 3000);
        expect(worker.stats().servers[0]!.grabsInFlight).toBe(0);

        await a.restart();
        await eventually(() => events.includes("connect A again"), "reconnected to A", 5000);
        await using sa2 = await Submitter.open([a.address]);
        const results = await Promise.all(Array.from({ length: 50 }, (_, i) => sa2.submit("f", `again ${i}`)));
        expect(results.map((r) => r.outcome)).toEqual(Array(50).fill("complete"));
        expect(results.map((r) => r.text)).toEqual(Array.from({ length: 50 }, (_, i) => `again ${i}`));
        expect(events.filter((e) => e.includes(" A"))).toEqual(["connect A", "disconnect A", "connect A again"]);
        expect(events.filter((e) => e.includes(" B"))).toEqual(["connect B"]);
      } finally {
        await loadB.stop();
        await loadA.stop();
      }
    }),
    20_000,
  );
});

import { expect, test } from "bun:test";
import { join } from "node:path";
import { Client } from "../../src/client/client.ts";
import { logsOnFailure } from "../support/gearmand.ts";
import { describeTargets, startTarget } from "../support/targets.ts";
import { waitForWorkers } from "../support/peers.ts";

const JOBS = 100_000;
const IN_FLIGHT = 1000;
const MiB = 1024 * 1024;

/** Runs `total` jobs keeping `inFlight` waiting at once; returns how many results were wrong. */
async function run(client: Client, fn: string, total: number, inFlight: number): Promise<number> {
  let next = 0;
  let wrong = 0;
  const lane = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      const text = await client.submit(fn, `job-${i}`).text();
      if (text !== `job-${i}`) wrong++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return wrong;
}

function rss(): number {
  Bun.gc(true);
  return process.memoryUsage().rss;
}

describeTargets("client load", (target) => {
  test(
    "client load - 100,000 foreground jobs with 1,000 in flight complete, and leave no residue",
    logsOnFailure(async () => {
      // The server and the worker run in their own processes, so the client's memory is measured alone.
      await using server = await startTarget(target, { process: true });
      const worker = Bun.spawn(
        ["bun", join(import.meta.dir, "../support/echo-worker.ts"), server.address, "load", "64"],
        {
          stdout: "ignore",
          stderr: "inherit",
        },
      );
      try {
        await waitForWorkers(server.address, ["load"]);
        await using client = new Client({ servers: server.address });
        expect(await run(client, "load", 2 * IN_FLIGHT, IN_FLIGHT)).toBe(0); // warm up
        const before = rss();
        const started = performance.now();
        const wrong = await run(client, "load", JOBS, IN_FLIGHT);
        const seconds = (performance.now() - started) / 1000;
        const peak = process.memoryUsage().rss;
        const after = rss();
        console.log(
          `client load: ${JOBS} jobs, ${IN_FLIGHT} in flight, ${seconds.toFixed(2)} s (${Math.round(JOBS / seconds)} jobs/s); ` +
            `RSS before ${(before / MiB).toFixed(1)} MiB, at end ${(peak / MiB).toFixed(1)} MiB, after GC ${(after / MiB).toFixed(1)} MiB`,
        );
        expect(wrong).toBe(0);
        // No per-job residue: nothing waits in any FIFO or handle map.
        expect(client.servers().map((s) => s.inFlight)).toEqual([{ requests: 0, jobs: 0 }]);
        // Memory returns near its earlier level (loose bound: RSS pages are not always given back).
        expect(after - before).toBeLessThan(64 * MiB);
      } finally {
        worker.kill("SIGTERM");
        await worker.exited;
      }
    }),
    60_000,
  );
});

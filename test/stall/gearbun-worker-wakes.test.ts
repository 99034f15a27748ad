/**
 * The lost wake-up avoided: gearbun's Worker in the naive worker's place (see
 * naive-worker-stalls.test.ts and docs/protocol.md, "Wake-ups"). Busy (concurrency 1) with a
 * slow job from A while B's NOOP arrives and another worker takes B's job; then a new job on B.
 * gearbun keeps the wake, grabs B once its slot frees, and sleeps only after NO_JOB (a GRAB
 * clears the server's "NOOP sent" flag), so B wakes it for the new job at once. The idle
 * re-grab guard is set far beyond the test, so it cannot be what saves it.
 */
import { describe, expect, test } from "bun:test";
import { Worker, type ServerStats } from "../../src/worker/worker.ts";
import { eventually } from "../support/eventually.ts";
import { Grabber, TARGETS, functionStatus, submitBackground } from "./harness.ts";

/** Far longer than the test: a job taken in time was not taken by the re-grab timer. */
const IDLE_REGRAB_MS = 600_000;
/** A woken worker grabs within milliseconds; this only bounds a failure. */
const PROMPT_MS = 2000;

for (const target of TARGETS) {
  (target.available() ? describe : describe.skip)(`stall - ${target.name}`, () => {
    test("stall - gearbun worker busy on A when B's NOOP arrives still takes B's next job promptly", async () => {
      await using servers = await target.start();
      const { a, b } = servers;
      const worker = new Worker({
        servers: [a.address, b.address],
        concurrency: 1,
        clientId: "W",
        idleRegrabInterval: IDLE_REGRAB_MS,
        idleRegrabJitter: 0,
      });
      const link = (address: string): ServerStats => {
        const s = worker.stats().servers.find((x) => x.address === address);
        if (s === undefined) throw new Error(`worker has no connection to ${address}`);
        return s;
      };
      const asleep = (address: string): boolean => {
        const s = link(address);
        return s.asleep && !s.wakePending && s.grabsInFlight === 0;
      };
      try {
        const gate = Promise.withResolvers<void>();
        const got: string[] = [];
        let running = 0;
        let maxRunning = 0;
        const tookB2 = Promise.withResolvers<void>();
        worker.register("f", async (job) => {
          const data = job.text();
          got.push(data);
          running++;
          maxRunning = Math.max(maxRunning, running);
          if (data === "B-2") tookB2.resolve();
          if (data === "A-1") await gate.promise; // a slow job from A
          running--;
          return data;
        });
        await worker.start();
        await using w2 = await Grabber.open(b.address, "f", "W2");
        await eventually(() => asleep(a.address) && asleep(b.address), "W asleep on A and B");

        // 1. A slow job on A fills W's one slot.
        await submitBackground(a.address, "f", "A-1");
        await eventually(() => got.includes("A-1"), "W running A's job");

        // 2. A job on B while W is busy: B's NOOP reaches W, which has no free slot.
        const noopsBefore = link(b.address).noops;
        await submitBackground(b.address, "f", "B-1");
        await eventually(() => link(b.address).noops > noopsBefore, "B's NOOP reaching W");

        // 3. W2 takes B's job (W, busy with concurrency 1, must not have grabbed it).
        expect(await w2.grabOnce()).toBe("B-1");

        // W finishes A's job, grabs B on the wake it kept, gets NO_JOB and sleeps.
        gate.resolve();
        await eventually(async () => (await functionStatus(a.port, "f")).total === 0, "A's job done");
        await eventually(() => asleep(a.address) && asleep(b.address), "W asleep again on A and B");

        // 4. W2 leaves; a new job arrives on B.
        await w2.close();
        await eventually(async () => (await functionStatus(b.port, "f")).workers === 1, "W2 gone from B");
        await submitBackground(b.address, "f", "B-2");
        const timer = setTimeout(
          () => tookB2.reject(new Error(`W did not take B's new job within ${PROMPT_MS} ms: B never woke it`)),
          PROMPT_MS,
        );
        await tookB2.promise.finally(() => clearTimeout(timer));

        expect(got).toEqual(["A-1", "B-2"]);
        expect(maxRunning).toBe(1);
        await eventually(async () => (await functionStatus(b.port, "f")).total === 0, "B's new job done");
      } catch (error) {
        servers.dumpLogs();
        throw error;
      } finally {
        await worker.stop({ deadline: 0 });
      }
    });
  });
}

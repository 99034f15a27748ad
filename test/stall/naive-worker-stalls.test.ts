/**
 * The lost wake-up (docs/protocol.md, "Wake-ups"), reproduced deterministically. A naive
 * worker W (python-gearman's one-lock logic) on servers A and B answers B's NOOP with PRE_SLEEP
 * while it is busy with A's job; B keeps its "NOOP sent" flag for W, so a later job on B never wakes W.
 * This proves the harness sees the bug that gearbun's Worker must not have.
 */
import { describe, expect, test } from "bun:test";
import { NaiveWorker } from "../support/naive-worker.ts";
import { eventually } from "../support/eventually.ts";
import { Grabber, TARGETS, functionStatus, submitBackground } from "./harness.ts";

/** How long W must hear nothing from B. gearmand wakes within milliseconds or never. */
const STALL_WINDOW_MS = 2000;

for (const target of TARGETS) {
  (target.available() ? describe : describe.skip)(`stall - ${target.name}`, () => {
    test("stall - naive worker is never woken by B again after answering its NOOP with PRE_SLEEP", async () => {
      await using servers = await target.start();
      const { a, b } = servers;
      try {
        const gate = Promise.withResolvers<void>();
        await using w = new NaiveWorker({
          servers: [a.address, b.address],
          functions: ["f"],
          clientId: "W",
          handler: async (job) => {
            if (job.server === a.address) await gate.promise; // a slow job from A
            return job.data;
          },
        });
        await w.start(); // both connections asleep (PRE_SLEEP processed)
        await using w2 = await Grabber.open(b.address, "f", "W2");

        // 1. A job on A: W is woken, grabs it and holds its one lock while the job runs.
        await submitBackground(a.address, "f", "A-1");
        await w.until(() => w.jobs(a.address) === 1, "W running A's job");

        // 2. A job on B while W is busy: W gets B's NOOP and answers it with PRE_SLEEP.
        const noopsBefore = w.noops(b.address);
        await submitBackground(b.address, "f", "B-1");
        await w.until(() => w.noops(b.address) > noopsBefore, "B's NOOP reaching W");

        // 3. W2 takes B's job; W's last PRE_SLEEP on B finds nothing: asleep, NOOP flag still set.
        const takenByW2 = await w2.grabOnce();
        await eventually(async () => (await functionStatus(b.port, "f")).total === 0, "B's first job done");
        await w.settle(b.address);

        // W finishes A's job and goes idle.
        gate.resolve();
        await w.until(() => w.events.some((e) => e.type === "complete" && e.server === a.address), "A's job done");
        await w.settle(a.address);

        // 4. W2 leaves; a new job arrives on B.
        await w2.close();
        await eventually(async () => (await functionStatus(b.port, "f")).workers === 1, "W2 gone from B");
        const mark = w.noops(b.address);
        await submitBackground(b.address, "f", "B-2");
        await Bun.sleep(STALL_WINDOW_MS);

        // The stall: W is idle and can do f, B holds a job for f, and B never wakes W.
        expect(w.noops(b.address)).toBe(mark);
        expect(w.jobs(b.address)).toBe(0);
        expect(await functionStatus(b.port, "f")).toEqual({ total: 1, running: 0, workers: 1 });
        expect(takenByW2).toBe("B-1");

        // Control: the job was W's for the taking; a GRAB by hand (no naive worker sends one) gets it.
        w.grab(b.address);
        await w.until(() => w.jobs(b.address) === 1, "W's hand-made GRAB on B getting B-2");
        expect(w.events.filter((e) => e.type === "job").map((e) => e.data)).toEqual(["A-1", "B-2"]);
      } catch (error) {
        servers.dumpLogs();
        throw error;
      }
    });
  });
}

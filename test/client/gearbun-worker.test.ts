import { expect, test } from "bun:test";
import { Client } from "../../src/client/client.ts";
import { JobFailedError } from "../../src/errors.ts";
import { Worker } from "../../src/worker/worker.ts";
import { logsOnFailure } from "../support/gearmand.ts";
import { showEvent } from "../support/task-events.ts";
import { describeTargets, startTarget } from "../support/targets.ts";

const PRIORITIES = ["high", "normal", "low"] as const;

const show = showEvent;

describeTargets("client with gearbun's Worker", (target) => {
  test(
    "client with gearbun's Worker - every variant round-trips, with events, failures and their reasons in order",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      const seen: { fn: string; payload: string; unique: string; reducer: string }[] = [];
      const worker = new Worker({
        servers: server.address,
        concurrency: 4,
        grab: "GRAB_JOB_ALL",
        idleRegrabInterval: 200,
      });
      worker.register("rev", (job) => {
        seen.push({ fn: job.function, payload: job.text(), unique: job.unique, reducer: job.reducer });
        return [...job.text()].reverse().join("");
      });
      worker.register("steps", async (job) => {
        await job.data("d1");
        await job.status(1, 2);
        await job.warning("w1");
        await job.status(2, 2);
        return "done";
      });
      worker.register("boom", () => {
        throw new Error("kaput");
      });
      worker.register("nope", (job) => job.fail());
      await worker.start();
      try {
        await using client = new Client({ servers: server.address });
        for (const priority of PRIORITIES) {
          expect(await client.submit("rev", `fg-${priority}`, { priority }).text()).toBe(
            [...`fg-${priority}`].reverse().join(""),
          );
          await client.submitBackground("rev", `bg-${priority}`, { priority, unique: `bg-${priority}` });
        }
        expect(await client.submit("rev", "reduce", { reducer: "sum" }).text()).toBe("ecuder");
        await client.submitBackground("rev", "reduce-bg", { reducer: "sum" });
        await client.submitBackground("rev", "epoch", { runAt: new Date(Date.now() + 1000) });

        const steps = client.submit("steps", "");
        const events: string[] = [];
        for await (const e of steps.events()) events.push(show(e));
        expect(events).toEqual(["data:d1", "status:1/2", "warning:w1", "status:2/2", "complete:done"]);

        const boom = client.submit("boom", "");
        const boomEvents: string[] = [];
        for await (const e of boom.events()) boomEvents.push(show(e));
        // A throw reaches every caller as WORK_WARNING (its message), then WORK_FAIL.
        expect(boomEvents).toEqual(["warning:kaput", "fail"]);
        const boomError = await boom.catch((e: unknown) => e);
        expect(boomError).toBeInstanceOf(JobFailedError);
        expect((boomError as JobFailedError).detail).toBe("kaput");
        expect(await client.submit("nope", "").catch((e: unknown) => e)).toBeInstanceOf(JobFailedError);

        const deadline = Date.now() + 4000;
        while (seen.length < 9 && Date.now() < deadline) await Bun.sleep(20);
        const payloads = seen.map((s) => s.payload).sort();
        expect(payloads).toEqual(
          ["fg-high", "fg-normal", "fg-low", "bg-high", "bg-normal", "bg-low", "reduce", "reduce-bg", "epoch"].sort(),
        );
        expect(
          seen
            .filter((s) => s.reducer === "sum")
            .map((s) => s.payload)
            .sort(),
        ).toEqual(["reduce", "reduce-bg"]);
        expect(seen.find((s) => s.payload === "bg-low")?.unique).toBe("bg-low");
      } finally {
        await worker.stop({ deadline: 1000 });
      }
    }),
    20_000,
  );
});

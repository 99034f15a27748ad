import { expect, test } from "bun:test";
import { Client, type Priority } from "../../src/client/client.ts";
import { Worker } from "../../src/worker/worker.ts";
import { startEchoWorker } from "../support/echo-worker.ts";
import { logsOnFailure } from "../support/gearmand.ts";
import { gearmandBehaviour } from "../support/gearmand-version.ts";
import { describeTargets, startTarget } from "../support/targets.ts";
import { startCliWorker } from "../support/peers.ts";

/** Submit order: LOW first, HIGH last, interleaved, so arrival order cannot explain the result. */
const ORDER: Priority[] = ["low", "normal", "high", "low", "normal", "high", "low", "normal", "high"];

// The foreground test's worker is `gearman -w`.
describeTargets("client priorities", { needs: "libgearman" }, (target) => {
  test(
    "client priorities - queued foreground jobs run HIGH first, LOW last on a libgearman worker",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using client = new Client({ servers: server.address });
      const finished: Priority[] = [];
      const tasks = ORDER.map((priority, i) => {
        const task = client.submit("prio", `${priority}-${i}`, { priority });
        void task.then(() => finished.push(priority));
        return task;
      });
      await Promise.all(tasks.map((t) => t.handle)); // all queued before any worker exists
      await using _w = await startCliWorker(server.address, "prio", ["cat"]); // one job at a time
      const results = await Promise.all(tasks.map((t) => t.text()));
      expect(results).toEqual(ORDER.map((p, i) => `${p}-${i}`));
      expect(finished).toEqual(["high", "high", "high", "normal", "normal", "normal", "low", "low", "low"]);
    }),
  );

  test(
    "client priorities - queued background jobs are handed out HIGH first, LOW last",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using client = new Client({ servers: server.address });
      for (const [i, priority] of ORDER.entries()) {
        await client.submitBackground("prio-bg", priority, { priority, unique: `bg-${i}` });
      }
      await using worker = await startEchoWorker({ server: server.address, functions: ["prio-bg"], grabs: 1 });
      const deadline = Date.now() + 5000;
      while (worker.jobs.length < ORDER.length && Date.now() < deadline) await Bun.sleep(20);
      expect(worker.jobs.map((j) => new TextDecoder().decode(j.payload))).toEqual([
        "high",
        "high",
        "high",
        "normal",
        "normal",
        "normal",
        "low",
        "low",
        "low",
      ]);
    }),
  );

  test(
    "client priorities - jobs of two functions: gearmand 2.0 and the embedded server hand out HIGH of either first; gearmand 1.1 drains one function first",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using client = new Client({ servers: server.address });
      for (const [fn, priority] of [
        ["f", "low"],
        ["f", "normal"],
        ["g", "low"],
        ["g", "normal"],
        ["f", "high"],
        ["g", "high"],
      ] as const) {
        await client.submitBackground(fn, `${fn}-${priority}`, { priority });
      }
      const order: string[] = [];
      await using worker = new Worker({ servers: server.address, concurrency: 1 }); // one job at a time
      worker.register("f", (job) => void order.push(job.text()));
      worker.register("g", (job) => void order.push(job.text()));
      await worker.start();
      const deadline = Date.now() + 5000;
      while (order.length < 6 && Date.now() < deadline) await Bun.sleep(20);
      if (target === "gearmand" && (await gearmandBehaviour(server.port)) === "1.1") {
        // gearmand 1.1 takes the first of the worker's functions that has jobs (newest CAN_DO
        // first: g) and orders by priority only within it.
        expect(order).toEqual(["g-high", "g-normal", "g-low", "f-high", "f-normal", "f-low"]);
      } else {
        // gearmand 2.0 and the embedded server: priorities are global across the worker's
        // functions, which take turns within a priority (round robin, newest CAN_DO first).
        expect(order).toEqual(["g-high", "f-high", "g-normal", "f-normal", "g-low", "f-low"]);
      }
    }),
  );
});

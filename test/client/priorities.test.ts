import { expect, test } from "bun:test";
import { Client, type Priority } from "../../src/client/client.ts";
import { startEchoWorker } from "../support/echo-worker.ts";
import { describeGearmand, logsOnFailure, startGearmand } from "../support/gearmand.ts";
import { startCliWorker } from "../support/peers.ts";

/** Submit order: LOW first, HIGH last, interleaved, so arrival order cannot explain the result. */
const ORDER: Priority[] = ["low", "normal", "high", "low", "normal", "high", "low", "normal", "high"];

describeGearmand("client priorities", () => {
  test(
    "client priorities - queued foreground jobs run HIGH first, LOW last on a libgearman worker",
    logsOnFailure(async () => {
      await using g = await startGearmand();
      await using client = new Client({ servers: g.address });
      const finished: Priority[] = [];
      const tasks = ORDER.map((priority, i) => {
        const task = client.submit("prio", `${priority}-${i}`, { priority });
        void task.then(() => finished.push(priority));
        return task;
      });
      await Promise.all(tasks.map((t) => t.handle)); // all queued before any worker exists
      await using _w = await startCliWorker(g.address, "prio", ["cat"]); // one job at a time
      const results = await Promise.all(tasks.map((t) => t.text()));
      expect(results).toEqual(ORDER.map((p, i) => `${p}-${i}`));
      expect(finished).toEqual(["high", "high", "high", "normal", "normal", "normal", "low", "low", "low"]);
    }),
  );

  test(
    "client priorities - queued background jobs are handed out HIGH first, LOW last",
    logsOnFailure(async () => {
      await using g = await startGearmand();
      await using client = new Client({ servers: g.address });
      for (const [i, priority] of ORDER.entries()) {
        await client.submitBackground("prio-bg", priority, { priority, unique: `bg-${i}` });
      }
      await using worker = await startEchoWorker({ server: g.address, functions: ["prio-bg"], grabs: 1 });
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
});

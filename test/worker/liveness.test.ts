/**
 * Worker liveness: a server that goes silent is dropped by the heartbeat and redialled while the
 * other server's jobs keep flowing; a handler that blocks the event loop for longer than the
 * heartbeat's interval + timeout and the grabTimeout costs no connection and no job.
 */
import { expect, test } from "bun:test";
import { Client } from "../../src/client/client.ts";
import type { GearmanError } from "../../src/errors.ts";
import { PacketType } from "../../src/protocol/packets.ts";
import { Worker } from "../../src/worker/worker.ts";
import { eventually } from "../support/eventually.ts";
import { miniJobServer, startFaultServer } from "../support/fault-server.ts";
import { logsOnFailure } from "../support/gearmand.ts";
import { describeTargets, startTarget } from "../support/targets.ts";

describeTargets("worker liveness", (target) => {
  test(
    "worker liveness - a silent server's link is dropped and redialled while the other server's jobs keep flowing",
    logsOnFailure(async () => {
      const mini = miniJobServer();
      await using silent = await startFaultServer(mini.script);
      await using live = await startTarget(target);
      await using worker = new Worker({
        servers: [silent.address, live.address],
        concurrency: 2,
        heartbeatInterval: 200,
        heartbeatTimeout: 300,
        connectTimeout: 300,
        reconnect: { initialDelay: 50, maxDelay: 100 },
      });
      const lost: GearmanError[] = [];
      const connects: string[] = [];
      let done = 0;
      worker.on("disconnect", (e) => lost.push(e.error));
      worker.on("connect", (e) =>
        connects.push(`${e.server === silent.address ? "silent" : "live"}${e.reconnect ? " again" : ""}`),
      );
      worker.on("job:end", (e) => {
        if (e.delivered && e.job.server === live.address) done++;
      });
      worker.register("lv", (job) => job.text());
      await worker.start();
      await eventually(() => connects.length === 2, "both connections registered");
      await using client = new Client({ servers: live.address });

      const silentFrom = performance.now();
      silent.faults.silent = true;
      let submitted = 0;
      let completed = 0;
      const flowing = (async () => {
        while (lost.length === 0 || completed < submitted || submitted < 20) {
          if (submitted > 500) return;
          const n = submitted++;
          expect(await client.submit("lv", `j${n}`).text()).toBe(`j${n}`);
          completed++;
          await Bun.sleep(10);
        }
      })();
      await eventually(() => lost.length > 0, "the silent link to be dropped", 5000);
      const detection = performance.now() - silentFrom;
      console.log(`heartbeat detection (worker, ${target}): ${Math.round(detection)} ms`);
      expect(lost[0]!.code).toBe("HEARTBEAT_TIMEOUT");
      expect(lost[0]!.server).toBe(silent.address);
      expect(detection).toBeLessThan(200 + 300 + 1500);
      await flowing;
      expect(completed).toBe(submitted);
      expect(done).toBeGreaterThanOrEqual(20);

      silent.faults.silent = false;
      await eventually(() => connects.includes("silent again"), "the silent server to be redialled", 5000);
      const job = mini.queue("lv", "back");
      await eventually(() => mini.results.some((r) => r.handle === job.handle), "a job from the redialled server");
      const result = mini.results.find((r) => r.handle === job.handle)!;
      expect(result.type).toBe(PacketType.WORK_COMPLETE);
      expect(result.data).toBe("back");
    }),
    20_000,
  );

  test(
    "worker liveness - a handler blocking the loop past heartbeat interval + timeout and grabTimeout keeps its connection; the job completes",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      // Margins: the block (2.5 s) is well past interval + timeout (0.8 s) and grabTimeout (1 s),
      // which are themselves far above the scheduling delays of a loaded machine.
      await using worker = new Worker({
        servers: server.address,
        concurrency: 2, // the free slot's GRAB is in flight while the handler blocks
        heartbeatInterval: 300,
        heartbeatTimeout: 500,
        grabTimeout: 1000,
      });
      const trouble: string[] = [];
      worker.on("disconnect", (e) => trouble.push(`disconnect ${e.error.code}`));
      worker.on("error", (e) => trouble.push(`error ${e.error.code}`));
      worker.register("block", async (job) => {
        // Resumed before the free slot's GRAB is flushed: that GRAB leaves only when the block
        // ends, and the grab guard, overdue by then, must not blame the server for our delay.
        await null;
        const end = performance.now() + 2500;
        while (performance.now() < end) {
          // CPU-heavy work that never yields
        }
        return job.text();
      });
      worker.register("quick", (job) => job.text());
      await worker.start();
      await using client = new Client({ servers: server.address });
      expect(await client.submit("block", "blocked").text()).toBe("blocked");
      expect(await client.submit("quick", "after").text()).toBe("after");
      expect(trouble).toEqual([]);
      expect(worker.stats().servers[0]!.state).toBe("ready");
    }),
    20_000,
  );
});

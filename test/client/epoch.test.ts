import { expect, test } from "bun:test";
import { Admin } from "../../src/admin/admin.ts";
import { Client } from "../../src/client/client.ts";
import { PacketType } from "../../src/protocol/packets.ts";
import { startEchoWorker } from "../support/echo-worker.ts";
import { logsOnFailure } from "../support/gearmand.ts";
import { gearmandBehaviour } from "../support/gearmand-version.ts";
import { describeTargets, startTarget } from "../support/targets.ts";

describeTargets("client epoch", (target) => {
  test(
    "client epoch - a SUBMIT_JOB_EPOCH job runs no earlier than runAt",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using client = new Client({ servers: server.address });
      const ranAt: number[] = [];
      // gearmand 1.1 does not wake sleeping workers when an epoch job comes due (see the last
      // test): the worker re-grabs every 100 ms (as gearbun's Worker does after its idle interval).
      await using _w = await startEchoWorker({
        server: server.address,
        functions: ["later"],
        regrab: 100,
        handler: (job) => {
          ranAt.push(Date.now());
          return [[PacketType.WORK_COMPLETE, job.payload]];
        },
      });
      const runAt = new Date(Date.now() + 1500);
      const handle = await client.submitBackground("later", "x", { runAt, unique: "epoch-1" });
      await using admin = new Admin(server.address);
      expect((await admin.showJobs()).find((j) => j.handle === handle)?.jobQueued).toBe(true);
      expect((await client.status(handle)).known).toBe(true);
      const deadline = runAt.getTime() + 3000;
      while (ranAt.length === 0 && Date.now() < deadline) await Bun.sleep(20);
      expect(ranAt.length).toBe(1);
      expect(ranAt[0]!).toBeGreaterThanOrEqual(runAt.getTime());
      // Within the one-second resolution of epoch jobs (plus the worker's re-grab interval).
      expect(ranAt[0]! - runAt.getTime()).toBeLessThan(2500);
    }),
  );

  test(
    "client epoch - a runAt in the past runs at once",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using client = new Client({ servers: server.address });
      await using worker = await startEchoWorker({ server: server.address, functions: ["past"], regrab: 100 });
      await client.submitBackground("past", "y", { runAt: Date.now() - 60_000 });
      const deadline = Date.now() + 2000;
      while (worker.jobs.length === 0 && Date.now() < deadline) await Bun.sleep(20);
      expect(worker.jobs.length).toBe(1);
    }),
  );

  test(
    "client epoch - when the job comes due, gearmand 2.0 and the embedded server wake a sleeping worker; gearmand 1.1 leaves it asleep",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using client = new Client({ servers: server.address });
      // A worker that only grabs when woken (NOOP), never on a timer.
      await using worker = await startEchoWorker({ server: server.address, functions: ["due"], regrab: 0 });
      const runAt = Date.now() + 300; // not due at once: the worker is asleep when it comes due
      await client.submitBackground("due", "z", { runAt });
      const dueAt = Math.ceil(runAt / 1000) * 1000; // epoch jobs have whole seconds
      const behaviour = target === "gearmand" ? await gearmandBehaviour(server.port) : "embedded";
      // gearmand 2.0 arms its wake-up for the whole seconds from the submit's second to the due
      // one, so the NOOP may come up to a second after the due second.
      const deadline = dueAt + (behaviour === "2.0" ? 1700 : 700);
      while (worker.jobs.length === 0 && Date.now() < deadline) await Bun.sleep(20);
      await using admin = new Admin(server.address);
      const queued = (await admin.status()).find((r) => r.function === "due")?.total;
      if (behaviour === "1.1") {
        // gearmand 1.1 never sends NOOP for an epoch job that comes due: the job waits for
        // the worker's next grab, however long (gearbun's Worker: its idle re-grab interval).
        expect(worker.jobs.length).toBe(0);
        expect(queued).toBe(1);
      } else {
        // gearmand 2.0 sends NOOP to the function's sleeping workers when the job comes due; the
        // embedded server queues the job at its time, which wakes sleeping workers by the usual
        // rules. Either way it runs on time without polling.
        expect(worker.jobs.length).toBe(1);
        expect(queued).toBe(0);
      }
    }),
  );
});

import { expect, test } from "bun:test";
import { Admin } from "../../src/admin/admin.ts";
import { Client } from "../../src/client/client.ts";
import { PacketType } from "../../src/protocol/packets.ts";
import { startEchoWorker } from "../support/echo-worker.ts";
import { describeGearmand, logsOnFailure, startGearmand } from "../support/gearmand.ts";

describeGearmand("client epoch", () => {
  test(
    "client epoch - a SUBMIT_JOB_EPOCH job runs no earlier than runAt",
    logsOnFailure(async () => {
      await using g = await startGearmand();
      await using client = new Client({ servers: g.address });
      const ranAt: number[] = [];
      // gearmand does not wake sleeping workers when an epoch job comes due: the worker
      // re-grabs every 100 ms (as gearbun's Worker does after its idle interval).
      await using _w = await startEchoWorker({
        server: g.address,
        functions: ["later"],
        regrab: 100,
        handler: (job) => {
          ranAt.push(Date.now());
          return [[PacketType.WORK_COMPLETE, job.payload]];
        },
      });
      const runAt = new Date(Date.now() + 1500);
      const handle = await client.submitBackground("later", "x", { runAt, unique: "epoch-1" });
      await using admin = new Admin(g.address);
      expect((await admin.showJobs()).find((j) => j.handle === handle)?.jobQueued).toBe(true);
      expect((await client.status(handle)).known).toBe(true);
      const deadline = runAt.getTime() + 3000;
      while (ranAt.length === 0 && Date.now() < deadline) await Bun.sleep(20);
      expect(ranAt.length).toBe(1);
      expect(ranAt[0]!).toBeGreaterThanOrEqual(runAt.getTime());
      // Within gearmand's one-second resolution (plus the worker's re-grab interval).
      expect(ranAt[0]! - runAt.getTime()).toBeLessThan(2500);
    }),
  );

  test(
    "client epoch - a runAt in the past runs at once",
    logsOnFailure(async () => {
      await using g = await startGearmand();
      await using client = new Client({ servers: g.address });
      await using worker = await startEchoWorker({ server: g.address, functions: ["past"], regrab: 100 });
      await client.submitBackground("past", "y", { runAt: Date.now() - 60_000 });
      const deadline = Date.now() + 2000;
      while (worker.jobs.length === 0 && Date.now() < deadline) await Bun.sleep(20);
      expect(worker.jobs.length).toBe(1);
    }),
  );
});

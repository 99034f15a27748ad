/**
 * A result over the packet size limit never reaches the socket: the server would answer ERROR,
 * drop the worker's connection and re-queue the job, to be taken and fail again. The worker
 * fails the job instead (WORK_WARNING naming the size and the limit, then WORK_FAIL), and carries on.
 */
import { expect, test } from "bun:test";
import { Client } from "../../src/client/client.ts";
import { JobFailedError } from "../../src/errors.ts";
import { Worker } from "../../src/worker/worker.ts";
import { logsOnFailure } from "../support/gearmand.ts";
import { describeTargets, startTarget } from "../support/targets.ts";

const LIMIT = 64 * 1024;

describeTargets("worker oversize", (target) => {
  test(
    "oversize - a result over maxPacketSize becomes one failure naming size and limit; the connection carries on",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using worker = new Worker({ servers: server.address, maxPacketSize: LIMIT });
      const trouble: string[] = [];
      let runs = 0;
      worker.on("disconnect", (e) => trouble.push(`disconnect ${e.error.code}`));
      worker.register("big", () => {
        runs++;
        return new Uint8Array(100 * 1024);
      });
      worker.register("small", (job) => job.text());
      await worker.start();
      await using client = new Client({ servers: server.address });
      const error = await client
        .submit("big", "")
        .then(() => null)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(JobFailedError);
      const detail = (error as JobFailedError).detail;
      expect(detail).toContain(`over the ${LIMIT}-byte limit (maxPacketSize)`);
      expect(detail).toMatch(/is a 1024\d\d-byte packet/);
      expect(await client.submit("small", "still here").text()).toBe("still here");
      expect(runs).toBe(1);
      expect(trouble).toEqual([]);
    }),
  );
});

test("oversize - job.data() over maxPacketSize rejects in the handler, nothing is sent", async () => {
  await using server = await startTarget("embedded");
  await using worker = new Worker({ servers: server.address, maxPacketSize: LIMIT });
  worker.register("chunky", async (job) => {
    const refused = await job.data(new Uint8Array(LIMIT + 1)).catch((e: unknown) => (e as { code: string }).code);
    return String(refused);
  });
  await worker.start();
  await using client = new Client({ servers: server.address });
  const task = client.submit("chunky", "");
  const events: string[] = [];
  const seen = (async () => {
    for await (const e of task.events()) events.push(e.type);
  })();
  expect(await task.text()).toBe("PACKET_TOO_LARGE");
  await seen;
  expect(events).toEqual(["complete"]);
});

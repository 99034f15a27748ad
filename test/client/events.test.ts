import { expect, test } from "bun:test";
import { Client } from "../../src/client/client.ts";
import type { Task } from "../../src/client/task.ts";
import { JobExceptionError, JobFailedError } from "../../src/errors.ts";
import { PacketType } from "../../src/protocol/packets.ts";
import { startEchoWorker } from "../support/echo-worker.ts";
import { logsOnFailure } from "../support/gearmand.ts";
import { showEvent } from "../support/task-events.ts";
import { describeTargets, startTarget } from "../support/targets.ts";
import { startCliWorker, startLibgearmanWorker } from "../support/peers.ts";

const show = showEvent;

async function events(task: Task): Promise<string[]> {
  const out: string[] = [];
  for await (const e of task.events()) out.push(show(e));
  return out;
}

describeTargets("client events - libgearman worker", { needs: "libgearman" }, (target) => {
  test(
    "client events - WORK_DATA, WORK_STATUS, WORK_WARNING then the result, in order",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using _w = await startLibgearmanWorker(server.address);
      await using client = new Client({ servers: server.address });
      const task = client.submit("events", "hello");
      expect(await events(task)).toEqual([
        "data:d1",
        "status:1/3",
        "warning:w1",
        "data:d2",
        "status:2/3",
        "complete:olleh",
      ]);
      expect(await task.text()).toBe("olleh");
    }),
  );

  test(
    "client events - WORK_FAIL rejects with JobFailedError and ends the events with fail",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using _w = await startLibgearmanWorker(server.address);
      await using client = new Client({ servers: server.address });
      const task = client.submit("fail", "x");
      expect(await events(task)).toEqual(["fail"]);
      const error = await task.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(JobFailedError);
      expect((error as JobFailedError).handle).toBe(await task.handle);
      expect((error as JobFailedError).message).toContain(server.address);
    }),
  );

  test(
    "client events - WORK_EXCEPTION rejects with JobExceptionError carrying the message",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using _w = await startLibgearmanWorker(server.address);
      await using client = new Client({ servers: server.address });
      const task = client.submit("exception", "disk full");
      expect(await events(task)).toEqual(["exception:boom: disk full"]);
      const error = await task.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(JobExceptionError);
      expect((error as JobExceptionError).detail).toBe("boom: disk full");
      expect((error as JobExceptionError).code).toBe("JOB_EXCEPTION");
      // Awaiting alone (no iterator) gets the same error.
      expect(await client.submit("exception", "again").catch((e: unknown) => e)).toBeInstanceOf(JobExceptionError);
    }),
  );

  test(
    "client events - `gearman -w -n` sends a WORK_DATA per line",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using _w = await startCliWorker(server.address, "lines", ["cat"], ["-n"]);
      await using client = new Client({ servers: server.address });
      const seen = await events(client.submit("lines", "a\nb\n"));
      expect(seen.filter((e) => e.startsWith("data:")).length).toBe(2);
      expect(seen.at(-1)).toStartWith("complete:");
    }),
  );

  test(
    "client events - many jobs in flight each get their own events",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using _w1 = await startLibgearmanWorker(server.address);
      await using _w2 = await startLibgearmanWorker(server.address, 2);
      await using client = new Client({ servers: server.address });
      const tasks = Array.from({ length: 40 }, (_, i) => client.submit("events", `job${i}`));
      const all = await Promise.all(tasks.map(events));
      all.forEach((seen, i) => {
        expect(seen).toEqual([
          "data:d1",
          "status:1/3",
          "warning:w1",
          "data:d2",
          "status:2/3",
          `complete:${[...`job${i}`].reverse().join("")}`,
        ]);
      });
    }),
  );
});

describeTargets("client events - codec worker", (target) => {
  test(
    "client events - two submits coalesced on one connection each see every event once",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using client = new Client({ servers: server.address });
      // No worker yet: both submits attach to one queued job.
      const a = client.submit("ev", "1", { unique: "shared" });
      const b = client.submit("ev", "2", { unique: "shared" });
      const ea = events(a);
      const eb = events(b);
      expect(await a.handle).toBe(await b.handle);
      await using worker = await startEchoWorker({
        server: server.address,
        functions: ["ev"],
        handler: (job) => [
          [PacketType.WORK_DATA, "x"],
          [PacketType.WORK_STATUS, "1", "2"],
          [PacketType.WORK_WARNING, "careful"],
          [PacketType.WORK_COMPLETE, job.payload],
        ],
      });
      const expected = ["data:x", "status:1/2", "warning:careful", "complete:1"];
      expect(await ea).toEqual(expected);
      expect(await eb).toEqual(expected);
      expect(worker.jobs.length).toBe(1);
      expect(client.servers()[0]!.inFlight).toEqual({ requests: 0, jobs: 0 });
    }),
  );
});

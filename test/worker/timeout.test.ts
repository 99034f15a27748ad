/**
 * Job timeouts (docs/semantics.md): the worker announces a plain CAN_DO and keeps the clock
 * itself; at the timeout the handler's signal aborts with a TimeoutError, the worker ends the job
 * with WORK_WARNING (the reason) and WORK_FAIL and drops what the handler returns later. The job
 * runs once. (Why the server's CAN_DO_TIMEOUT is not used: gearmand-facts.test.ts.)
 */
import { expect, test } from "bun:test";
import { Client } from "../../src/client/client.ts";
import { JobFailedError, TimeoutError } from "../../src/errors.ts";
import type { FailedJob } from "../../src/worker/job.ts";
import { PacketType as T } from "../../src/protocol/packets.ts";
import { Worker } from "../../src/worker/worker.ts";
import { miniJobServer, startFaultServer } from "../support/fault-server.ts";
import { logsOnFailure } from "../support/gearmand.ts";
import { describeTargets, startTarget } from "../support/targets.ts";
import { Submitter } from "../support/submitter.ts";
import { eventually } from "../support/eventually.ts";

describeTargets("worker timeout", (target) => {
  test(
    "timeout - a job past its timeout runs once; its caller gets the failure and its reason at the timeout; one dead letter",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      const letters: FailedJob[] = [];
      // Two slots: a job the server re-queued could come straight back to this worker.
      await using worker = new Worker({ servers: server.address, concurrency: 2, deadLetter: (j) => letters.push(j) });
      let runs = 0;
      worker.register(
        "slow",
        async () => {
          runs++;
          await Bun.sleep(2500); // ignores its signal, as the handler did
          return "too late";
        },
        { timeout: 1000 },
      );
      await worker.start();
      await using client = new Client({ servers: server.address });
      const t0 = Date.now();
      const error = await client
        .submit("slow", "x")
        .then(() => null)
        .catch((e: unknown) => e);
      const took = Date.now() - t0;
      expect(error).toBeInstanceOf(JobFailedError);
      expect((error as JobFailedError).detail).toContain("timed out after 1000 ms");
      expect(took).toBeGreaterThanOrEqual(950);
      expect(took).toBeLessThan(2400); // the answer comes at the timeout, not when the handler ends
      await Bun.sleep(2600); // past the handler's end and past any server-side re-queue
      expect(runs).toBe(1);
      expect(letters.map((l) => l.outcome)).toEqual(["timeout"]);
      expect(worker.stats().functions.slow).toMatchObject({ timedOut: 1, done: 0, lost: 0 });
    }),
  );

  test(
    "timeout - the signal aborts at the timeout with a TimeoutError and the client gets WORK_FAIL",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using worker = new Worker({ servers: server.address });
      let abortedAfter = -1;
      let reason: unknown;
      worker.register(
        "slow",
        async (job) => {
          const started = Date.now();
          await new Promise<void>((resolve) => job.signal.addEventListener("abort", () => resolve(), { once: true }));
          abortedAfter = Date.now() - started;
          reason = job.signal.reason;
          throw job.signal.reason; // a well-behaved handler gives up; nothing more is sent
        },
        { timeout: 300 },
      );
      const ends: string[] = [];
      worker.on("job:end", (e) => ends.push(`${e.outcome} ${e.delivered}`));
      await worker.start();
      await using s = await Submitter.open([server.address]);
      const r = await s.submit("slow", "x");
      expect(r.outcome).toBe("fail");
      expect(abortedAfter).toBeGreaterThanOrEqual(290);
      expect(reason).toBeInstanceOf(TimeoutError);
      expect((reason as TimeoutError).message).toContain("timed out after 300 ms");
      await eventually(() => worker.stats().running === 0, "the handler settled");
      expect(ends).toEqual(["timeout true"]);
      expect(worker.stats().functions.slow).toMatchObject({ timedOut: 1, exceptions: 0, done: 0, running: 0 });
    }),
  );

  test(
    "timeout - a handler that ignores its signal keeps its slot until it settles; its late result is dropped",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using worker = new Worker({ servers: server.address, concurrency: 1 });
      const gate = Promise.withResolvers<void>();
      let dataAfterTimeout: boolean | undefined;
      worker.register(
        "stubborn",
        async (job) => {
          if (job.text() === "first") {
            await gate.promise;
            dataAfterTimeout = await job.data("late data");
            return "late result";
          }
          return "second ok";
        },
        { timeout: 200 },
      );
      const errors: string[] = [];
      worker.on("error", (e) => errors.push(e.error.message));
      await worker.start();
      await using s = await Submitter.open([server.address]);
      const first = await s.submit("stubborn", "first");
      expect(first).toMatchObject({ outcome: "fail", data: [] });
      const second = s.submit("stubborn", "second");
      await Bun.sleep(200);
      expect(worker.stats().running).toBe(1); // the stubborn handler still holds the only slot
      gate.resolve();
      expect(await second).toMatchObject({ outcome: "complete", text: "second ok" });
      expect(dataAfterTimeout).toBe(false);
      await Bun.sleep(50);
      expect(errors).toEqual([]); // nothing was sent for the timed-out job after its WORK_FAIL
    }),
  );
});

test("timeout - a job handed out again on the same connection (gearmand re-queue) ends the older run, which sends nothing", async () => {
  const jobs = miniJobServer();
  await using server = await startFaultServer(jobs.script);
  await using worker = new Worker({ servers: server.address, concurrency: 2 });
  const gate = Promise.withResolvers<void>();
  const reasons: string[] = [];
  let runs = 0;
  worker.register(
    "f",
    async (job) => {
      const run = ++runs;
      job.signal.addEventListener("abort", () => reasons.push(`run ${run}: ${(job.signal.reason as Error).message}`));
      if (run === 1) await gate.promise;
      return `run ${run}`;
    },
    { timeout: 5000 },
  );
  await worker.start();
  const peer = await server.nextPeer();
  await server.waitFor(T.PRE_SLEEP);
  const job = jobs.queue("f", "x", "u");
  await eventually(() => runs === 1, "first run");
  // What gearmand does when its own CAN_DO_TIMEOUT timer fires and this connection grabs again.
  peer.send(T.JOB_ASSIGN_UNIQ, job.handle, "f", "u", "x");
  await eventually(() => jobs.results.length === 1, "the second run's result");
  gate.resolve();
  await eventually(() => worker.stats().running === 0, "both runs settled");
  await Bun.sleep(50);
  expect(jobs.results.map((r) => [r.handle, r.data])).toEqual([[job.handle, "run 2"]]);
  expect(reasons.length).toBe(1);
  expect(reasons[0]).toContain("run 1: job");
  expect(reasons[0]).toContain("handed out again");
  expect(worker.stats().functions.f).toMatchObject({ lost: 1, done: 1 });
});

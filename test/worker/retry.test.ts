/**
 * Worker retries: a function registered with `retries` runs a failed attempt again in the same
 * process after the backoff (the job keeps its slot), `job.attempt` counts, the timeout applies
 * per attempt, a permanent failure skips the retries, and a job that failed for good goes to the
 * `deadLetter` hook before its failure is sent.
 */
import { expect, test } from "bun:test";
import { JobFailure } from "../../src/worker/job.ts";
import type { FailedJob } from "../../src/worker/job.ts";
import { Worker } from "../../src/worker/worker.ts";
import { logsOnFailure } from "../support/gearmand.ts";
import { Submitter } from "../support/submitter.ts";
import { describeTargets, startTarget } from "../support/targets.ts";

const FAST = { initial: 20, max: 100, factor: 2, jitter: 0 };

describeTargets("worker retry", (target) => {
  test(
    "retry - fails twice then succeeds: the client gets the result, attempt was 3, WORK_STATUS meanwhile",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using worker = new Worker({ servers: server.address });
      const attempts: number[] = [];
      worker.register(
        "flaky",
        async (job) => {
          attempts.push(job.attempt);
          await job.status(job.attempt, 3);
          if (job.attempt === 1) throw new Error("first try fails");
          if (job.attempt === 2) throw new JobFailure("second try fails");
          return `ok after ${job.attempt}`;
        },
        { retries: 3, backoff: FAST },
      );
      const retries: string[] = [];
      worker.on("job:retry", (e) => retries.push(`${e.job.attempt} ${e.delay} ${String(e.error)}`));
      const ends: string[] = [];
      worker.on("job:end", (e) => ends.push(`${e.outcome} attempt ${e.job.attempt}`));
      await worker.start();
      await using s = await Submitter.open([server.address]);
      const r = await s.submit("flaky", "x");
      expect(r.outcome).toBe("complete");
      expect(r.text).toBe("ok after 3");
      expect(r.statuses).toEqual([
        [1, 3],
        [2, 3],
        [3, 3],
      ]);
      expect(attempts).toEqual([1, 2, 3]);
      expect(retries).toEqual(["1 20 Error: first try fails", "2 40 JobFailure: second try fails"]);
      expect(ends).toEqual(["complete attempt 3"]);
      expect(worker.stats().functions.flaky).toMatchObject({ done: 1, retried: 2, running: 0 });
    }),
  );

  test(
    "retry - exhausted: the dead-letter hook gets the job (one row) before the client sees the failure and its reason",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      const letters: FailedJob[] = [];
      await using worker = new Worker({ servers: server.address, deadLetter: (job) => letters.push(job) });
      worker.register(
        "doomed",
        (job) => {
          throw new Error(`attempt ${job.attempt} failed`);
        },
        { retries: 2, backoff: FAST },
      );
      await worker.start();
      await using s = await Submitter.open([server.address]);
      const r = await s.submit("doomed", "payload", { unique: "u-doomed" });
      expect(r.outcome).toBe("fail");
      expect(r.warnings).toEqual(["attempt 3 failed"]);
      expect(letters).toHaveLength(1);
      expect(letters[0]).toMatchObject({
        function: "doomed",
        unique: "u-doomed",
        outcome: "exception",
        error: "attempt 3 failed",
        attempts: 3,
        server: server.address,
      });
      expect(new TextDecoder().decode(letters[0]!.payload)).toBe("payload");
    }),
  );

  test(
    "retry - job.fail(…, { retry: false }) and a permanent JobFailure skip the retries",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using worker = new Worker({ servers: server.address });
      const attempts: string[] = [];
      worker.register(
        "stop-now",
        (job) => {
          attempts.push(`stop-now ${job.attempt}`);
          job.fail("bad input", { retry: false });
        },
        { retries: 3, backoff: FAST },
      );
      worker.register(
        "permanent",
        (job) => {
          attempts.push(`permanent ${job.attempt}`);
          throw new JobFailure("no such account", { permanent: true });
        },
        { retries: 3, backoff: FAST },
      );
      await worker.start();
      await using s = await Submitter.open([server.address]);
      expect((await s.submit("stop-now", "x")).outcome).toBe("fail");
      expect((await s.submit("permanent", "x")).outcome).toBe("fail");
      expect(attempts).toEqual(["stop-now 1", "permanent 1"]);
    }),
  );

  test(
    "retry - the timeout applies per attempt: a hung first attempt is abandoned and the second answers",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using worker = new Worker({ servers: server.address });
      let firstSignal: AbortSignal | null = null;
      worker.register(
        "hangs-once",
        async (job) => {
          if (job.attempt === 1) {
            firstSignal = job.signal;
            await Bun.sleep(600); // ignores its signal; its late answer must be dropped
            return "late first attempt";
          }
          expect(job.signal.aborted).toBe(false);
          return `attempt ${job.attempt}`;
        },
        { timeout: 200, retries: 1, backoff: FAST },
      );
      await worker.start();
      await using s = await Submitter.open([server.address]);
      const r = await s.submit("hangs-once", "x");
      expect(r.text).toBe("attempt 2");
      expect(firstSignal!.aborted).toBe(true);
      await Bun.sleep(500); // the first attempt answers late: nothing more is sent, its slot accounting holds
      expect(worker.stats()).toMatchObject({ running: 0 });
      expect(worker.stats().functions["hangs-once"]).toMatchObject({ done: 1, retried: 1, timedOut: 0 });
    }),
  );
});

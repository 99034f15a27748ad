/**
 * The job contract of docs/semantics.md, cell by cell: how a handler ends × the job server
 * (gearmand from PATH — `GEARMAND=` runs it on 2.0 — and the embedded server) × the caller
 * (gearbun's Client, libgearman's `gearman` CLI, PHP's GearmanClient::doNormal, Perl's
 * Gearman::Client). Each cell asserts what the caller sees and within what time, how many times
 * the handler ran, the dead-letter rows, and that the server holds nothing for it afterwards.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Admin } from "../../src/admin/admin.ts";
import type { FailedJob } from "../../src/worker/job.ts";
import { Worker } from "../../src/worker/worker.ts";
import { type Answer, CALLERS, type CallerKind, call, checkCallers } from "../support/callers.ts";
import { eventually } from "../support/eventually.ts";
import { describeTargets, startTarget, type Target } from "../support/targets.ts";

const FAST = { initial: 20, max: 100, factor: 2, jitter: 0 };
const TIMEOUT_MS = 1000;
/** The timed-out handler ignores its signal this long: an answer before it proves the worker's clock. */
const STUBBORN_MS = 3000;

interface Cell {
  readonly fn: string;
  /** What every caller sees. */
  readonly expect: (payload: string) => { outcome: Answer["outcome"]; result?: string; reason?: string };
  readonly runs: number;
  /** The dead-letter row's outcome, or null for none. */
  readonly deadLetter: string | null;
  /** Bounds on the caller's wait, ms (a PHP or Perl caller starts its interpreter inside it). */
  readonly within: [number, number];
}

const CELLS: Record<string, Cell> = {
  returns: {
    fn: "sem_returns",
    expect: (p) => ({ outcome: "complete", result: `ok:${p}` }),
    runs: 1,
    deadLetter: null,
    within: [0, 5000],
  },
  throws: {
    fn: "sem_throws",
    expect: (p) => ({ outcome: "fail", reason: `boom ${p}` }),
    runs: 1,
    deadLetter: "exception",
    within: [0, 5000],
  },
  "job.fail": {
    fn: "sem_fails",
    expect: (p) => ({ outcome: "fail", reason: `refused ${p}` }),
    runs: 1,
    deadLetter: "fail",
    within: [0, 5000],
  },
  "times out": {
    fn: "sem_times_out",
    expect: () => ({ outcome: "fail", reason: `timed out after ${TIMEOUT_MS} ms` }),
    runs: 1,
    deadLetter: "timeout",
    within: [TIMEOUT_MS - 50, STUBBORN_MS - 300],
  },
  "retried, then succeeds": {
    fn: "sem_retry_ok",
    expect: () => ({ outcome: "complete", result: "ok on attempt 3" }),
    runs: 3,
    deadLetter: null,
    within: [0, 5000],
  },
  "retries exhausted": {
    fn: "sem_retry_exhausted",
    expect: () => ({ outcome: "fail", reason: "attempt 3 failed" }),
    runs: 3,
    deadLetter: "exception",
    within: [0, 5000],
  },
};

describeTargets("job semantics", (target) => {
  let server: Target;
  let worker: Worker;
  const runs = new Map<string, number>();
  const letters: FailedJob[] = [];
  const ran = (payload: string): void => {
    runs.set(payload, (runs.get(payload) ?? 0) + 1);
  };

  beforeAll(async () => {
    await checkCallers();
    server = await startTarget(target);
    worker = new Worker({ servers: server.address, concurrency: 16, deadLetter: (j) => letters.push(j) });
    worker.register("sem_returns", (job) => {
      ran(job.text());
      return `ok:${job.text()}`;
    });
    worker.register("sem_throws", (job) => {
      ran(job.text());
      throw new Error(`boom ${job.text()}`);
    });
    worker.register("sem_fails", (job) => {
      ran(job.text());
      job.fail(`refused ${job.text()}`);
    });
    worker.register(
      "sem_times_out",
      async (job) => {
        ran(job.text());
        await Bun.sleep(STUBBORN_MS);
        return "too late";
      },
      { timeout: TIMEOUT_MS },
    );
    worker.register(
      "sem_retry_ok",
      (job) => {
        ran(job.text());
        if (job.attempt < 3) throw new Error(`attempt ${job.attempt} failed`);
        return `ok on attempt ${job.attempt}`;
      },
      { retries: 2, backoff: FAST },
    );
    worker.register(
      "sem_retry_exhausted",
      (job) => {
        ran(job.text());
        throw new Error(`attempt ${job.attempt} failed`);
      },
      { retries: 2, backoff: FAST },
    );
    await worker.start();
  });

  afterAll(async () => {
    await worker?.stop({ deadline: 0 });
    await server?.[Symbol.asyncDispose]();
  });

  for (const [name, cell] of Object.entries(CELLS)) {
    for (const caller of CALLERS) {
      test(`semantics - ${name}, called by ${caller}`, async () => {
        const payload = `${caller}-${name.replace(/[^a-z]/g, "")}`;
        const answer = await call(caller as CallerKind, server.address, cell.fn, payload, 10_000);
        const want = cell.expect(payload);
        const context = `${target} ${caller}: ${answer.raw}`;
        expect({ outcome: answer.outcome, context }).toEqual({ outcome: want.outcome, context });
        if (want.result !== undefined) expect(answer.result.trim()).toBe(want.result);
        // PHP's doNormal returns GEARMAN_WORK_FAIL alone: it has no way to show a reason.
        if (want.reason !== undefined) {
          if (caller === "php") expect(answer.reason).toBe("");
          else expect(answer.reason).toContain(want.reason);
        }
        expect(answer.ms).toBeGreaterThanOrEqual(cell.within[0]);
        expect(answer.ms).toBeLessThan(cell.within[1]);
        expect(runs.get(payload)).toBe(cell.runs);
        const rows = letters.filter((l) => new TextDecoder().decode(l.payload) === payload);
        expect(rows.map((r) => r.outcome)).toEqual(cell.deadLetter === null ? [] : [cell.deadLetter]);
        await using admin = new Admin(server.address);
        await eventually(
          async () => ((await admin.status()).find((r) => r.function === cell.fn)?.total ?? 0) === 0,
          `${cell.fn} gone from the server`,
        );
      });
    }
  }

  test("semantics - a timed-out handler's late return sends nothing and its job never runs again", async () => {
    await eventually(() => worker.stats().running === 0, "the stubborn handlers returned", STUBBORN_MS + 2000);
    for (const caller of CALLERS) expect(runs.get(`${caller}-timesout`)).toBe(1);
    expect(worker.stats().functions.sem_times_out).toMatchObject({ timedOut: CALLERS.length, done: 0, lost: 0 });
  });
});

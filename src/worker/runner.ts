/**
 * Running and settling jobs: calls the handler, turns what it returns or throws into the packets
 * docs/semantics.md names (WORK_COMPLETE; a failure of any kind as WORK_WARNING with its reason,
 * then WORK_FAIL), enforces the function's timeout (per attempt), runs a failed attempt again
 * after a backoff when the function has `retries` (the job keeps its slot meanwhile), hands a job
 * that failed for good to the dead-letter hook before its failure is sent, hands jobs still
 * running at the stop deadline back to the server, and delivers only on the connection session
 * the job came from. It owns the `running` count; the scheduler is told through `onSettled` when
 * a slot frees.
 */
import { GearmanError, TimeoutError } from "../errors.ts";
import type { Arg } from "../protocol/encode.ts";
import { PacketType } from "../protocol/packets.ts";
import type { Emitter, JobOutcome } from "./events.ts";
import { type FailedJob, Job, JobFailure, type JobHandler, type JobHost, JobState } from "./job.ts";
import type { Link } from "./link.ts";
import type { FunctionEntry, FunctionRegistry } from "./registry.ts";
import { errorText, JobWire, oversized, resultData } from "./wire.ts";

/** The one timeout timer callback: no closure per job. */
function onJobTimeout(job: Job): void {
  (job.host as JobRunner).timedOut(job);
}

/** The one retry timer callback. */
function onRetryDue(job: Job): void {
  (job.host as JobRunner).retryDue(job);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}

export class JobRunner implements JobHost {
  /** Handlers running now. */
  running = 0;
  /** Of those, jobs assigned without a counted GRAB (see Job.overBudget). */
  overBudget = 0;

  private readonly registry: FunctionRegistry;
  private readonly events: Emitter;
  private readonly onSettled: () => void;
  private readonly deadLetter: ((job: FailedJob) => void) | null;
  /** Writes what goes on the wire for a job (wire.ts). */
  private readonly wire = new JobWire();
  /** Jobs waiting for their next attempt. */
  private readonly waiting = new Set<Job>();
  /** Set once the stop deadline passed: failed attempts are not run again. */
  private retriesOff = false;
  constructor(
    registry: FunctionRegistry,
    events: Emitter,
    onSettled: () => void,
    deadLetter: ((job: FailedJob) => void) | null = null,
  ) {
    this.registry = registry;
    this.events = events;
    this.onSettled = onSettled;
    this.deadLetter = deadLetter;
  }

  /** Starts a job the server assigned on `link` and runs its handler. */
  start(
    link: Link,
    fn: FunctionEntry,
    name: string,
    handleBytes: Uint8Array,
    handle: string,
    uniqueBytes: Uint8Array,
    reducerBytes: Uint8Array,
    payload: Uint8Array,
    overBudget: boolean,
    now: number,
  ): void {
    const job = new Job(
      this,
      link,
      link.session,
      link.key,
      handleBytes,
      handle,
      name,
      uniqueBytes,
      reducerBytes,
      payload,
      now,
      fn.stats,
    );
    job.overBudget = overBudget;
    if (overBudget) this.overBudget++;
    link.jobs.set(handle, job);
    this.running++;
    link.jobsRunning++;
    fn.stats.running++;
    if (fn.timeout > 0) job.timer = setTimeout(onJobTimeout, fn.timeout, job);
    if (this.events.has("job:start")) this.events.emit("job:start", { job });
    this.execute(job, fn.handler);
  }

  /** A job for a function no longer registered: WORK_FAIL at once (there is no way to hand it back). */
  refuse(link: Link, handleBytes: Uint8Array, name: string): void {
    this.wire.refuse(link, handleBytes);
    this.registry.stats(name).failed++;
  }

  /** JobHost: WORK_DATA / WORK_WARNING / WORK_STATUS from a running handler. */
  sendFor(job: Job, type: number, a: Arg, b?: Arg): Promise<boolean> {
    return this.wire.send(job, type, a, b);
  }

  /** The job's result can no longer be delivered (connection lost, or handed out again). */
  lose(job: Job, error: GearmanError): void {
    if (job.state === JobState.Running) {
      job.state = JobState.Lost;
      job.stats.lost++;
      job.link.jobsLost++;
      if (this.events.has("job:end")) this.events.emit("job:end", { job, outcome: "lost", error, delivered: false });
    }
    if (job.timer !== null) {
      clearTimeout(job.timer);
      job.timer = null;
    }
    job.abort(error);
    // Waiting for its next attempt, no handler runs to settle it: free its slot now.
    if (this.waiting.delete(job)) this.settle(job, error, true, job.run);
  }

  /**
   * The stop deadline passed: every job still running, or waiting for its next attempt, on these
   * links is handed back. Nothing more is sent for it (whatever its handler does later), its
   * signal aborts, and closing the connection makes the server queue it again, as when a worker
   * dies (docs/semantics.md). Returns how many jobs were handed back.
   */
  handBack(links: readonly Link[], reason: GearmanError): number {
    this.retriesOff = true;
    let count = 0;
    for (const link of links) {
      for (const job of [...link.jobs.values()]) {
        if (job.state !== JobState.Running) continue;
        count++;
        this.lose(job, reason);
      }
    }
    return count;
  }

  private execute(job: Job, handler: JobHandler): void {
    const run = job.run;
    let result: unknown;
    try {
      result = handler(job);
    } catch (error) {
      this.settle(job, error, true, run);
      return;
    }
    // The common synchronous results first: no thenable probe on bytes or a string.
    if (typeof result !== "object" || result === null || result instanceof Uint8Array)
      this.settle(job, result, false, run);
    else if (result instanceof Promise) this.settleAsync(job, result, run);
    else if (isThenable(result)) this.settleAsync(job, Promise.resolve(result), run);
    else this.settle(job, result, false, run);
  }

  private async settleAsync(job: Job, pending: Promise<unknown>, run: number): Promise<void> {
    let value: unknown;
    let threw = false;
    try {
      value = await pending;
    } catch (error) {
      value = error;
      threw = true;
    }
    this.settle(job, value, threw, run);
  }

  /**
   * Schedules the next attempt of a job whose attempt failed, if its function has retries left.
   * The job keeps its slot; `run` moves on so the failed attempt's late result is dropped.
   */
  private retry(job: Job, error: unknown): boolean {
    const fn = this.registry.get(job.function);
    if (fn === undefined || fn.retry === null || this.retriesOff || job.attempt > fn.retry.retries) return false;
    if (error instanceof JobFailure && error.permanent) return false;
    if (job.timer !== null) clearTimeout(job.timer);
    job.run++;
    job.lastError = error;
    const delay = fn.retry.delay(job.attempt);
    job.stats.retried++;
    this.waiting.add(job);
    job.timer = setTimeout(onRetryDue, delay, job);
    if (this.events.has("job:retry")) this.events.emit("job:retry", { job, error, delay });
    return true;
  }

  /** The wait before a retry is over: run the handler again (or end the job, if it cannot run). */
  retryDue(job: Job): void {
    job.timer = null;
    this.waiting.delete(job);
    const fn = this.registry.get(job.function);
    if (job.state !== JobState.Running || fn === undefined) {
      this.settle(job, job.lastError, true, job.run);
      return;
    }
    job.nextAttempt();
    if (fn.timeout > 0) job.timer = setTimeout(onJobTimeout, fn.timeout, job);
    this.execute(job, fn.handler);
  }

  /** Hands a job that failed for good to the dead-letter hook (before its failure is sent). */
  private bury(job: Job, outcome: JobOutcome, error: unknown): void {
    if (this.deadLetter === null) return;
    try {
      this.deadLetter({
        function: job.function,
        handle: job.handle,
        unique: job.unique,
        payload: job.payload.slice(),
        server: job.server,
        outcome,
        error: errorText(error),
        attempts: job.attempt,
        startedAt: job.startedAt,
        failedAt: Date.now(),
      });
    } catch (hookError) {
      if (this.events.has("error")) {
        this.events.emit("error", {
          error: new GearmanError("DEAD_LETTER_FAILED", `dead-letter hook failed: ${errorText(hookError)}`, {
            cause: hookError,
          }),
        });
      }
    }
  }

  /** The handler returned or threw: send its outcome (if still deliverable) and free the slot. */
  private settle(job: Job, value: unknown, threw: boolean, run: number): void {
    // A late answer from an attempt that already ended (timed out or failed, and retried).
    if (run !== job.run) return;
    if (threw && job.state === JobState.Running && this.retry(job, value)) return;
    if (job.timer !== null) {
      clearTimeout(job.timer);
      job.timer = null;
    }
    const link = job.link;
    this.running--;
    if (job.overBudget) this.overBudget--;
    link.jobsRunning--;
    const stats = job.stats;
    stats.running--;
    if (link.jobs.get(job.handle) === job) link.jobs.delete(job.handle);
    if (job.state === JobState.Running) {
      job.state = JobState.Ended;
      let outcome: JobOutcome;
      let delivered: boolean;
      let error: unknown;
      if (threw && value instanceof JobFailure) {
        outcome = "fail";
        error = value;
        stats.failed++;
        this.bury(job, outcome, error);
        delivered = this.wire.failure(job, errorText(value));
      } else {
        let data = threw ? null : resultData(value);
        const tooLarge = data === null ? null : oversized(job, "the result", data);
        if (tooLarge !== null) data = null;
        if (data === null) {
          error =
            tooLarge ??
            (threw
              ? value
              : new TypeError(
                  `handler for "${job.function}" returned ${typeof value}; return a string, Uint8Array or nothing`,
                ));
          outcome = "exception";
          stats.exceptions++;
          this.bury(job, outcome, error);
          delivered = this.wire.failure(job, errorText(error));
        } else {
          outcome = "complete";
          stats.done++;
          delivered = this.wire.result(job, PacketType.WORK_COMPLETE, data);
        }
      }
      if (this.events.has("job:end")) this.events.emit("job:end", { job, outcome, error, delivered });
    }
    this.onSettled();
  }

  /** JobHost: `job.fail()`. */
  failNow(job: Job, reason: JobFailure): void {
    if (job.state !== JobState.Running || this.waiting.has(job)) return;
    if (this.retry(job, reason)) {
      job.abort(reason);
      return;
    }
    job.state = JobState.Ended;
    job.stats.failed++;
    this.bury(job, "fail", reason);
    const delivered = this.wire.failure(job, errorText(reason));
    if (this.events.has("job:end")) this.events.emit("job:end", { job, outcome: "fail", error: reason, delivered });
  }

  /**
   * The function's timeout passed: the worker's own clock is the only one (it announces a plain
   * CAN_DO, docs/semantics.md "Timeouts"), so the job ends here, once: the failure goes out and
   * the handler's later result is dropped. (Should another library's CAN_DO_TIMEOUT make a
   * server hand the job out again to this connection, the older run is marked lost on
   * re-assignment and sends nothing: test/worker/timeout.test.ts.)
   */
  timedOut(job: Job): void {
    job.timer = null;
    if (job.state !== JobState.Running) return;
    const stats = job.stats;
    const error = new TimeoutError(
      `job ${job.handle} (${job.function}) timed out after ${this.registry.get(job.function)?.timeout ?? stats.timeout} ms`,
      { server: job.server },
    );
    // The timeout is per attempt: with retries left, this attempt is abandoned and another runs.
    if (this.retry(job, error)) {
      job.abort(error);
      return;
    }
    job.state = JobState.TimedOut;
    stats.timedOut++;
    this.bury(job, "timeout", error);
    const delivered = this.wire.failure(job, error.message);
    job.abort(error);
    if (this.events.has("job:end")) this.events.emit("job:end", { job, outcome: "timeout", error, delivered });
  }
}

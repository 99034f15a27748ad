/**
 * The job a handler sees. One object per assigned job, with its methods on the prototype (no
 * closures per job). Its bytes are kept from the received bytes by the protocol's one rule
 * (protocol/read.ts `keepAt`): a large payload is a view (Bun hands each socket read a fresh
 * buffer, so keeping it for the job's life is safe), the handle and a small payload are copies
 * (cheaper than a view's first use).
 */
import type { Arg } from "../protocol/encode.ts";
import { PacketType } from "../protocol/packets.ts";
import type { Link } from "./link.ts";
import type { FunctionStats } from "./registry.ts";

/** What a handler may return: `string` or bytes become the WORK_COMPLETE data; nothing sends it empty. */
export type JobResult = string | Uint8Array | void | null | undefined;

// A handler sees the public members of Job only (handler.ts).
export type { JobHandler } from "./handler.ts";

/**
 * Throw this from a handler to end the job with WORK_FAIL (the client sees "failed" and no
 * data) instead of WORK_EXCEPTION. `permanent`: the function's retries are skipped.
 */
export class JobFailure extends Error {
  override name = "JobFailure";
  readonly permanent: boolean;
  constructor(message = "job failed", options: { permanent?: boolean } = {}) {
    super(message);
    this.permanent = options.permanent ?? false;
  }
}

/** A job that ended failed for good, as the `deadLetter` hook receives it. */
export interface FailedJob {
  readonly function: string;
  readonly handle: string;
  readonly unique: string;
  /** A copy of the job's data. */
  readonly payload: Uint8Array;
  readonly server: string;
  /** "fail", "exception" or "timeout". */
  readonly outcome: string;
  /** The last attempt's error, as text. */
  readonly error: string;
  readonly attempts: number;
  /** When the job was assigned, ms since epoch. */
  readonly startedAt: number;
  /** When it failed for good, ms since epoch. */
  readonly failedAt: number;
}

/** Where a job's packets go: the job runner, per connection. */
export interface JobHost {
  /** Sends a packet for a running job; resolves false when it cannot be delivered. */
  sendFor(job: Job, type: number, a: Arg, b?: Arg): Promise<boolean>;
  /** `job.fail()`: this attempt ends now (retried, or WORK_FAIL), the handler's later result is dropped. */
  failNow(job: Job, reason: JobFailure): void;
}

/** Job states. RUNNING: the handler's outcome will be sent. Any other: nothing more is sent. */
export const JobState = {
  Running: 0,
  /** A result (WORK_COMPLETE / FAIL / EXCEPTION) was sent or decided. */
  Ended: 1,
  /** The timeout passed: WORK_FAIL was sent, the handler's outcome is dropped. */
  TimedOut: 2,
  /** The connection was lost (or gearmand handed the job out again): nothing can be delivered. */
  Lost: 3,
} as const;
export type JobState = (typeof JobState)[keyof typeof JobState];

const utf8 = new TextDecoder();

export class Job {
  /** Job handle given by the server, e.g. `H:host:42`. */
  readonly handle: string;
  /** Function name the job was submitted for. */
  readonly function: string;
  /** The job's data: its own bytes, or a view into the received bytes when large (copy it only to change it). */
  readonly payload: Uint8Array;
  /** `host:port` of the server that assigned the job. */
  readonly server: string;
  /** Time the job was assigned, ms since epoch. */
  readonly startedAt: number;

  /** @internal the handle as received, reused for every packet about this job. */
  readonly handleBytes: Uint8Array;
  /** @internal */
  readonly uniqueBytes: Uint8Array;
  /** @internal */
  readonly reducerBytes: Uint8Array;
  /** @internal the connection's session when assigned; results go out only on the same session. */
  readonly session: number;
  /** @internal */
  readonly host: JobHost;
  /** @internal the scheduler's record of the connection that assigned the job. */
  readonly link: Link;
  /** @internal its function's counters. */
  readonly stats: FunctionStats;
  /** @internal assigned without a counted GRAB (its grabs had been written off): runs over the slot budget. */
  overBudget = false;
  /** @internal */
  state: JobState = JobState.Running as JobState;
  /** @internal timeout timer (functions registered with a timeout), or the wait before a retry. */
  timer: ReturnType<typeof setTimeout> | null = null;
  /** @internal counts ended attempts: a handler's late result for an earlier attempt is dropped. */
  run = 0;
  /** @internal what the last attempt threw, kept while a retry waits. */
  lastError: unknown = undefined;
  /**
   * Which attempt this is: 1, then 2… when the function was registered with `retries` and an
   * earlier attempt threw, failed or timed out. Read-only for handlers.
   */
  attempt = 1;

  private controller: AbortController | null = null;
  private abortReason: unknown = undefined;
  private aborted = false;

  constructor(
    host: JobHost,
    link: Link,
    session: number,
    server: string,
    handleBytes: Uint8Array,
    handle: string,
    fn: string,
    uniqueBytes: Uint8Array,
    reducerBytes: Uint8Array,
    payload: Uint8Array,
    startedAt: number,
    stats: FunctionStats,
  ) {
    this.host = host;
    this.link = link;
    this.session = session;
    this.server = server;
    this.handleBytes = handleBytes;
    this.handle = handle;
    this.function = fn;
    this.uniqueBytes = uniqueBytes;
    this.reducerBytes = reducerBytes;
    this.payload = payload;
    this.startedAt = startedAt;
    this.stats = stats;
  }

  /** The client's unique id ("" when the server sent plain JOB_ASSIGN). */
  get unique(): string {
    return this.uniqueBytes.length === 0 ? "" : utf8.decode(this.uniqueBytes);
  }

  /** Reducer name of a map/reduce job (JOB_ASSIGN_ALL), else "". */
  get reducer(): string {
    return this.reducerBytes.length === 0 ? "" : utf8.decode(this.reducerBytes);
  }

  /** The payload as UTF-8 text. */
  text(): string {
    return utf8.decode(this.payload);
  }

  /** The payload parsed as JSON. */
  json<T = unknown>(): T {
    return JSON.parse(utf8.decode(this.payload)) as T;
  }

  /**
   * Aborted when the function's timeout passes, when `stop()` reaches its deadline, or when the
   * job's connection is lost (its result can no longer be delivered). `reason` says which.
   */
  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  /** True while the handler's result will still be sent to the server. */
  get active(): boolean {
    return this.state === JobState.Running;
  }

  /**
   * Sends WORK_DATA (a partial result). Resolves true when the socket can take more
   * (backpressure), false when nothing could be sent: the job already ended, timed out or lost
   * its connection (then `signal` is aborted too). It never rejects.
   */
  data(chunk: string | Uint8Array): Promise<boolean> {
    return this.host.sendFor(this, PacketType.WORK_DATA, chunk);
  }

  /** Sends WORK_WARNING; resolves like `data()`. */
  warning(data: string | Uint8Array): Promise<boolean> {
    return this.host.sendFor(this, PacketType.WORK_WARNING, data);
  }

  /** Sends WORK_STATUS (progress `numerator` of `denominator`); resolves like `data()`. */
  status(numerator: number, denominator: number): Promise<boolean> {
    return this.host.sendFor(this, PacketType.WORK_STATUS, String(numerator), String(denominator));
  }

  /**
   * Ends this attempt now as a failure: the function's retries apply (unless `retry: false`),
   * then WORK_FAIL. Whatever the handler returns afterwards is ignored.
   */
  fail(reason = "job failed", options: { retry?: boolean } = {}): void {
    this.host.failNow(this, new JobFailure(reason, { permanent: options.retry === false }));
  }

  /** @internal the next attempt starts: a fresh abort signal. */
  nextAttempt(): void {
    this.attempt++;
    this.controller = null;
    this.aborted = false;
    this.abortReason = undefined;
  }

  /** @internal */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }
}

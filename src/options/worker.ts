/**
 * Worker and per-function retry options, with their defaults.
 */
import { exponentialBackoff } from "../connection/reconnect.ts";
import { ConfigError } from "../errors.ts";
import type { FailedJob } from "../worker/job.ts";
import { type ConnectionOptions, type ResolvedConnectionOptions, resolveConnectionOptions } from "./connection.ts";
import { numberOption, booleanOption, clientIdOption } from "./checks.ts";

/** The grab packets a worker may send; every JOB_ASSIGN variant is accepted whatever was sent. */
export type GrabPacket = "GRAB_JOB" | "GRAB_JOB_UNIQ" | "GRAB_JOB_ALL";

export interface WorkerOptions extends ConnectionOptions {
  /** Jobs running at once in this process, across all servers. GRABs in flight never exceed free slots. @default 1 */
  concurrency?: number;
  /** Sent as SET_CLIENT_ID on every (re)connect; shown by `gearadmin --workers`. @default none */
  clientId?: string;
  /**
   * Lost wake-up guard: milliseconds a connection may sleep (PRE_SLEEP sent, no NOOP since)
   * before it is sent a GRAB anyway. One timer per worker checks all connections.
   * @default 30000
   */
  idleRegrabInterval?: number;
  /** Fraction of `idleRegrabInterval` drawn at random, ± (0 to 1), so workers do not re-grab in step. @default 0.1 */
  idleRegrabJitter?: number;
  /** Grab packet to send. @default "GRAB_JOB_UNIQ" */
  grab?: GrabPacket;
  /**
   * The most milliseconds a server may leave a GRAB unanswered (gearmand answers at once) before
   * its grabs are written off and their slots go to the other servers, until it speaks again.
   * Usually far sooner: 4× its slowest recent answer, 500 ms to 2 s (docs/protocol.md, "Silent
   * servers"). A server still silent this long is reported as an `error` event. @default 10000
   */
  grabTimeout?: number;
  /** Milliseconds `stop()` lets running jobs finish before it aborts their signals. @default 30000 */
  stopDeadline?: number;
  /**
   * Debug: check the scheduler's invariants (slots, per-connection wake-up state) after every
   * event and throw the first violation (uncaught, so it cannot go unnoticed). Costs a pass over
   * the connections per event. @default true when the environment has GEARBUN_CHECK_INVARIANTS=1, else false
   */
  checkInvariants?: boolean;
  /**
   * Called with every job that ends failed for good (WORK_FAIL, WORK_EXCEPTION or a timeout,
   * after its retries), before the failure is sent — e.g. to write it to a dead-letter store.
   * A hook that throws does not stop the failure from being sent. @default none
   */
  deadLetter?: (job: FailedJob) => void;
}

export const WORKER_DEFAULTS = {
  concurrency: 1,
  idleRegrabInterval: 30_000,
  idleRegrabJitter: 0.1,
  grab: "GRAB_JOB_UNIQ",
  grabTimeout: 10_000,
  stopDeadline: 30_000,
  checkInvariants: false,
} as const;

export interface ResolvedWorkerOptions extends ResolvedConnectionOptions {
  readonly concurrency: number;
  readonly clientId: string | undefined;
  readonly idleRegrabInterval: number;
  readonly idleRegrabJitter: number;
  readonly grab: GrabPacket;
  readonly grabTimeout: number;
  readonly stopDeadline: number;
  readonly checkInvariants: boolean;
  readonly deadLetter: ((job: FailedJob) => void) | undefined;
}

export function resolveWorkerOptions(options: WorkerOptions = {}): ResolvedWorkerOptions {
  const concurrency = numberOption("concurrency", options.concurrency, WORKER_DEFAULTS.concurrency, 1);
  if (!Number.isInteger(concurrency))
    throw new ConfigError("concurrency", `must be a whole number, got ${concurrency}`);
  const jitter = numberOption("idleRegrabJitter", options.idleRegrabJitter, WORKER_DEFAULTS.idleRegrabJitter, 0);
  if (jitter > 1) throw new ConfigError("idleRegrabJitter", `must be between 0 and 1, got ${jitter}`);
  const grab = options.grab ?? WORKER_DEFAULTS.grab;
  if (grab !== "GRAB_JOB" && grab !== "GRAB_JOB_UNIQ" && grab !== "GRAB_JOB_ALL") {
    throw new ConfigError("grab", `must be "GRAB_JOB", "GRAB_JOB_UNIQ" or "GRAB_JOB_ALL", got ${String(grab)}`);
  }
  const clientId = clientIdOption(options.clientId);
  return {
    ...resolveConnectionOptions(options),
    concurrency,
    clientId,
    idleRegrabInterval: numberOption(
      "idleRegrabInterval",
      options.idleRegrabInterval,
      WORKER_DEFAULTS.idleRegrabInterval,
      10,
    ),
    idleRegrabJitter: jitter,
    grab,
    grabTimeout: numberOption("grabTimeout", options.grabTimeout, WORKER_DEFAULTS.grabTimeout, 10),
    stopDeadline: numberOption("stopDeadline", options.stopDeadline, WORKER_DEFAULTS.stopDeadline, 0),
    checkInvariants: booleanOption(
      "checkInvariants",
      options.checkInvariants,
      process.env.GEARBUN_CHECK_INVARIANTS === "1" || WORKER_DEFAULTS.checkInvariants,
    ),
    deadLetter: options.deadLetter,
  };
}

/** Growth of the wait between a job's attempts (`register(…, { retries, backoff })`). */
export interface RetryBackoffOptions {
  /** Milliseconds before the second attempt. @default 1000 */
  initial?: number;
  /** Longest wait. @default 60000 */
  max?: number;
  /** Growth per attempt. @default 2 */
  factor?: number;
  /** Fraction of the wait drawn at random, ± (0 to 1). @default 0.2 */
  jitter?: number;
}

export const RETRY_DEFAULTS = {
  retries: 0,
  initial: 1000,
  max: 60_000,
  factor: 2,
  jitter: 0.2,
} as const;

export interface ResolvedRetry {
  /** Attempts after the first. */
  readonly retries: number;
  /** Milliseconds to wait after failed attempt number `attempt` (1 for the first). */
  readonly delay: (attempt: number) => number;
}

/** The retry settings of one function, or null when it has none. */
export function resolveRetryOptions(
  retries: number | undefined,
  backoff: RetryBackoffOptions = {},
): ResolvedRetry | null {
  const count = numberOption("retries", retries, RETRY_DEFAULTS.retries, 0);
  if (!Number.isInteger(count)) throw new ConfigError("retries", `must be a whole number, got ${count}`);
  if (typeof backoff !== "object" || backoff === null) throw new ConfigError("backoff", "must be an object");
  const initial = numberOption("backoff.initial", backoff.initial, RETRY_DEFAULTS.initial, 0);
  const max = numberOption("backoff.max", backoff.max, RETRY_DEFAULTS.max, initial);
  const factor = numberOption("backoff.factor", backoff.factor, RETRY_DEFAULTS.factor, 1);
  const jitter = numberOption("backoff.jitter", backoff.jitter, RETRY_DEFAULTS.jitter, 0);
  if (jitter > 1) throw new ConfigError("backoff.jitter", `must be between 0 and 1, got ${jitter}`);
  if (count === 0) return null;
  const policy = exponentialBackoff({ initialDelay: initial, maxDelay: max, factor, jitter });
  return { retries: count, delay: (attempt) => policy(attempt) ?? max };
}

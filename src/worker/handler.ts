/**
 * The job as a handler sees it: the public members of the runner's Job record, picked by name so
 * their types and docs stay the ones written in job.ts. The record's bookkeeping (its state,
 * timer, connection, counters) is not part of this type, so a handler cannot reach it without a
 * cast.
 */
import type { Job as JobRecord, JobResult } from "./job.ts";

export type Job = Pick<
  JobRecord,
  | "handle"
  | "function"
  | "payload"
  | "server"
  | "startedAt"
  | "attempt"
  | "unique"
  | "reducer"
  | "text"
  | "json"
  | "signal"
  | "active"
  | "data"
  | "warning"
  | "status"
  | "fail"
>;

/** A registered function's handler. A thrown error → WORK_EXCEPTION; a thrown `JobFailure` or `job.fail()` → WORK_FAIL. */
export type JobHandler = (job: Job) => JobResult | Promise<JobResult>;

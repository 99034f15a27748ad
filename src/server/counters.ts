/**
 * The embedded server's own counters for monitoring: plain numbers bumped on the job path (a map
 * lookup per submit and per job end, skipped while the function is the one counted last), read
 * only when someone asks. Counters never go down; a function's stay after the function is dropped.
 */

/** How a job ended: the worker's result, or `fail` when its retries ran out (gearmand `--job-retries`). */
export type JobOutcome = "complete" | "fail" | "exception";

export interface FunctionCounters {
  /** New jobs created by submits (a submit coalesced into a live job is not counted). */
  submitted: number;
  complete: number;
  fail: number;
  exception: number;
}

export class ServerCounters {
  /** Connections accepted since the start. */
  connections = 0;
  readonly functions = new Map<string, FunctionCounters>();
  /** The function counted last: jobs come in runs of one function, so most bumps skip the map. */
  private lastName: string | null = null;
  private last: FunctionCounters | null = null;

  private of(fn: string): FunctionCounters {
    if (fn === this.lastName) return this.last!;
    let c = this.functions.get(fn);
    if (c === undefined) {
      c = { submitted: 0, complete: 0, fail: 0, exception: 0 };
      this.functions.set(fn, c);
    }
    this.lastName = fn;
    this.last = c;
    return c;
  }

  submitted(fn: string): void {
    this.of(fn).submitted++;
  }

  ended(fn: string, outcome: JobOutcome): void {
    this.of(fn)[outcome]++;
  }
}

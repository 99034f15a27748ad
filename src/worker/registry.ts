/** The worker's functions: handlers with their timeouts, and counters per function name. */
import type { ResolvedRetry } from "../options.ts";
import type { JobHandler } from "./job.ts";

/** Counters per function name; kept after `unregister` so totals stay readable. */
export interface FunctionStats {
  /** Currently registered. */
  registered: boolean;
  /** Timeout in ms, on the worker's own clock (0: none). */
  timeout: number;
  /** Handlers running now. */
  running: number;
  /** WORK_COMPLETE decided. */
  done: number;
  /** WORK_FAIL decided (`job.fail()`, `JobFailure`, or a job for a function no longer registered). */
  failed: number;
  /** WORK_EXCEPTION decided. */
  exceptions: number;
  /** Timed out (WORK_FAIL sent at the timeout). */
  timedOut: number;
  /** Outcome could not be delivered (connection lost, or gearmand handed the job out again). */
  lost: number;
  /** Attempts that failed and were run again (`retries`). */
  retried: number;
}

export interface FunctionEntry {
  readonly handler: JobHandler;
  readonly timeout: number;
  /** Retries after a failed attempt, or null for none. */
  readonly retry: ResolvedRetry | null;
  /** The function's counters (the same object as `stats(name)`: no lookup by name per job). */
  readonly stats: FunctionStats;
}

/** What `register` changed, which decides what the servers must be told. */
export const Registration = {
  /** A new function: CAN_DO, and jobs may already be queued for it. */
  New: 0,
  /** Only its timeout changed (the worker's own clock): nothing to tell. */
  Timeout: 1,
  /** Only the handler changed: nothing to tell. */
  Handler: 2,
} as const;
export type Registration = (typeof Registration)[keyof typeof Registration];

export class FunctionRegistry {
  private readonly entries = new Map<string, FunctionEntry>();
  private readonly counters = new Map<string, FunctionStats>();

  get size(): number {
    return this.entries.size;
  }

  get(name: string): FunctionEntry | undefined {
    return this.entries.get(name);
  }

  /** Registered functions, for CAN_DO on each (re)connect. */
  [Symbol.iterator](): IterableIterator<[string, FunctionEntry]> {
    return this.entries[Symbol.iterator]();
  }

  register(name: string, handler: JobHandler, timeout: number, retry: ResolvedRetry | null = null): Registration {
    const previous = this.entries.get(name);
    const stats = this.stats(name);
    this.entries.set(name, { handler, timeout, retry, stats });
    stats.registered = true;
    stats.timeout = timeout;
    if (previous === undefined) return Registration.New;
    return previous.timeout === timeout ? Registration.Handler : Registration.Timeout;
  }

  unregister(name: string): boolean {
    if (!this.entries.delete(name)) return false;
    const stats = this.counters.get(name);
    if (stats !== undefined) stats.registered = false;
    return true;
  }

  /** The counters of `name`, created on first use (a job may arrive for a name never registered). */
  stats(name: string): FunctionStats {
    let stats = this.counters.get(name);
    if (stats === undefined) {
      stats = {
        registered: false,
        timeout: 0,
        running: 0,
        done: 0,
        failed: 0,
        exceptions: 0,
        timedOut: 0,
        lost: 0,
        retried: 0,
      };
      this.counters.set(name, stats);
    }
    return stats;
  }

  /** A copy of every function's counters. */
  snapshot(): Record<string, FunctionStats> {
    const out: Record<string, FunctionStats> = {};
    for (const [name, f] of this.counters) out[name] = { ...f };
    return out;
  }

  /** Sum of `running` over all functions (for the invariant check). */
  runningTotal(): number {
    let n = 0;
    for (const f of this.counters.values()) n += f.running;
    return n;
  }
}

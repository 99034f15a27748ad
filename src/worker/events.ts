/**
 * The Worker's typed lifecycle events and a minimal emitter. Per-job events are only built when
 * someone listens (`has`), so an unobserved worker pays nothing for them.
 */
import type { ConnectionEvent } from "../connection/connection.ts";
import type { GearmanError } from "../errors.ts";
import { QueuedIterator } from "../util/queued-iterator.ts";
import type { Job } from "./handler.ts";

/** How a job ended, from the worker's side. */
export type JobOutcome =
  /** WORK_COMPLETE was sent. */
  | "complete"
  /** `job.fail()` or a thrown `JobFailure`: WORK_WARNING (the reason), then WORK_FAIL. */
  | "fail"
  /** The handler threw: WORK_WARNING (the error's message), then WORK_FAIL (docs/semantics.md). */
  | "exception"
  /** The function's timeout passed: the signal aborted, WORK_WARNING and WORK_FAIL were sent. */
  | "timeout"
  /**
   * Nothing could be delivered: the connection was lost, gearmand handed the job out again, or
   * the stop deadline passed and the job was handed back to the server (error code STOPPED).
   */
  | "lost";

export interface WorkerEvents {
  /** A connection is ready and registered: SET_CLIENT_ID, RESET_ABILITIES and CAN_DO were sent. */
  connect: { readonly server: string; readonly reconnect: boolean };
  /** A ready connection was lost. Its grabs return to the pool; its running jobs cannot deliver. */
  disconnect: { readonly server: string; readonly error: GearmanError };
  /** Every connection state transition, as the connection reports it. */
  connection: ConnectionEvent;
  /** A job was assigned and its handler started. */
  "job:start": { readonly job: Job };
  /** An attempt failed (threw, failed or timed out) and the job runs again after `delay` ms. */
  "job:retry": { readonly job: Job; readonly error: unknown; readonly delay: number };
  /** A job's outcome was decided (and sent, when `delivered`). */
  "job:end": {
    readonly job: Job;
    readonly outcome: JobOutcome;
    /** What the handler threw, or the TimeoutError / ConnectionError. */
    readonly error?: unknown;
    /** True when the result packet was written to the job's connection. */
    readonly delivered: boolean;
  };
  /** An ERROR packet or an unexpected packet from a server, or a job for an unknown function. */
  error: { readonly error: GearmanError; readonly server?: string };
  /** `stop()` began: no more grabs. */
  stopping: { readonly deadline: number };
  /** The worker stopped and closed its connections. */
  close: {
    /** Jobs still running at the stop deadline, handed back to their servers (docs/semantics.md). */
    readonly handedBack: number;
  };
}

export type WorkerEventName = keyof WorkerEvents;

/** One event as the async iterator yields it: its name and its payload. */
export type WorkerEventEntry = {
  [K in WorkerEventName]: { readonly name: K; readonly event: WorkerEvents[K] };
}[WorkerEventName];
export type Listener<K extends WorkerEventName> = (event: WorkerEvents[K]) => void;

export class Emitter {
  private readonly listeners = new Map<WorkerEventName, Set<Listener<WorkerEventName>>>();

  /** True when `name` has listeners (check before building an event object on a hot path). */
  has(name: WorkerEventName): boolean {
    const set = this.listeners.get(name);
    return set !== undefined && set.size > 0;
  }

  on<K extends WorkerEventName>(name: K, fn: Listener<K>): () => void {
    let set = this.listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(fn as Listener<WorkerEventName>);
    return () => this.off(name, fn);
  }

  off<K extends WorkerEventName>(name: K, fn: Listener<K>): void {
    this.listeners.get(name)?.delete(fn as Listener<WorkerEventName>);
  }

  once<K extends WorkerEventName>(name: K, fn: Listener<K>): () => void {
    const off = this.on(name, (event) => {
      off();
      fn(event);
    });
    return off;
  }

  /**
   * The named events (all but the per-job ones by default) as an async iterator. It ends after
   * the worker's `close` event, or when the loop breaks.
   */
  iterate(names: readonly WorkerEventName[]): AsyncIterableIterator<WorkerEventEntry> {
    const offs: (() => void)[] = [];
    const unsubscribe = (): void => {
      for (const off of offs) off();
    };
    const queue = new QueuedIterator<WorkerEventEntry>(unsubscribe);
    for (const name of names) offs.push(this.on(name, (event) => queue.push({ name, event } as WorkerEventEntry)));
    // Registered after the others, so a `close` entry is queued before the iterator ends.
    offs.push(
      this.on("close", () => {
        unsubscribe();
        queue.end();
      }),
    );
    return queue;
  }

  /**
   * Calls the listeners in order. A listener that throws must not corrupt the scheduler's
   * state mid-packet: its error is rethrown on a later microtask (an uncaught error, as it is
   * a bug in the listener).
   */
  emit<K extends WorkerEventName>(name: K, event: WorkerEvents[K]): void {
    const set = this.listeners.get(name);
    if (set === undefined || set.size === 0) return;
    for (const fn of set) {
      try {
        (fn as Listener<K>)(event);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}

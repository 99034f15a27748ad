/**
 * One connection's requests that wait for a direct reply, in send order: gearmand answers the
 * requests of a connection in order (JOB_CREATED, STATUS_RES, STATUS_RES_UNIQUE, OPTION_RES, or
 * ERROR in place of any of them), so one FIFO matches replies to requests.
 *
 * A background submit sent with nothing else to watch over it — no timeout, no `maxInFlight`
 * window, no resend on a lost connection — waits here as its promise's resolve function alone,
 * with no record of its own: a bulk enqueue keeps hundreds of thousands of them (bench/burst.ts),
 * and a record was 80 of the ~300 bytes each cost. Their function names, read only for the error
 * of a lost connection, are kept as runs: one entry per run of such submits to one function.
 */
import { Fifo } from "../util/fifo.ts";
import type { Submission } from "./submission.ts";

/** The resolve function of a background submit's promise. */
export type HandleResolve = (handle: string | PromiseLike<string>) => void;

/** GET_STATUS answer (STATUS_RES). */
export interface JobStatus {
  handle: string;
  /** The server knows the job (queued or running). */
  known: boolean;
  running: boolean;
  numerator: number;
  denominator: number;
  /** `host:port` of the server that answered. */
  server: string;
}

/** GET_STATUS_UNIQUE answer (STATUS_RES_UNIQUE). */
export interface UniqueStatus {
  unique: string;
  known: boolean;
  running: boolean;
  numerator: number;
  denominator: number;
  /** Clients waiting for the job's result. */
  clients: number;
  server: string;
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

/**
 * A submission is its own request entry (a submit waiting for JOB_CREATED costs one FIFO slot);
 * a background submit with nothing to watch over it is only its resolve function.
 */
export type Request =
  | Submission
  | HandleResolve
  | ({ readonly kind: "status"; readonly handle: string } & Waiter<JobStatus>)
  | ({ readonly kind: "statusUnique"; readonly unique: string } & Waiter<UniqueStatus>)
  | { readonly kind: "option" };

/** A request with a record of its own (every kind but a bare background submit). */
export type RecordRequest = Exclude<Request, HandleResolve>;

export type RequestKind = RecordRequest["kind"];

export const kindOf = (request: Request): RequestKind => (typeof request === "function" ? "submit" : request.kind);

/** Ends a bare background submit with `error` (its promise only has a resolve function). */
export function rejectHandle(resolve: HandleResolve, error: unknown): void {
  resolve(Promise.reject(error));
}

/** A run of bare background submits to one function, oldest first. */
interface NameRun {
  readonly fn: string;
  count: number;
}

export class Requests {
  private readonly queue = new Fifo<Request>(64);
  /** The functions of the bare background submits in `queue`, in the same order. */
  private readonly runs = new Fifo<NameRun>();
  /** The newest run (still in `runs`), which the next submit to the same function joins. */
  private newest: NameRun | null = null;
  /** The function of the bare background submit `shift` returned last. */
  private shiftedFn = "";

  get length(): number {
    return this.queue.length;
  }

  push(request: RecordRequest): void {
    this.queue.push(request);
  }

  /** A bare background submit to `fn` was written. */
  pushBackground(resolve: HandleResolve, fn: string): void {
    this.queue.push(resolve);
    const run = this.newest;
    if (run !== null && run.fn === fn) run.count++;
    else this.runs.push((this.newest = { fn, count: 1 }));
  }

  peek(): Request | undefined {
    return this.queue.peek();
  }

  /** The oldest request, removed; for a bare background submit, `shiftedFunction` names its function. */
  shift(): Request | undefined {
    const request = this.queue.shift();
    if (typeof request === "function") {
      const run = this.runs.peek()!;
      this.shiftedFn = run.fn;
      if (--run.count === 0) {
        this.runs.shift();
        if (run === this.newest) this.newest = null;
      }
    }
    return request;
  }

  /** The function of the bare background submit `shift` returned last. */
  get shiftedFunction(): string {
    return this.shiftedFn;
  }
}

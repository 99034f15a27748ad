/**
 * One submission: a promise of the job's result (WORK_COMPLETE data) with its handle and, on
 * request, its events in arrival order.
 *
 *   const task = client.submit("resize", bytes);
 *   for await (const event of task.events()) if (event.type === "status") progress(event);
 *   const out = await task; // or task.text(), task.json()
 *
 * The promise is made only when someone awaits the task, so a task nobody awaits (for example
 * one only read through `events()`) never reports an unhandled rejection. Events are kept only
 * for iterators that exist: a task nobody iterates stores none.
 */
import type { GearmanError, JobExceptionError, JobFailedError } from "../errors.ts";
import { QueuedIterator } from "../util/queued-iterator.ts";
import { Submission, type Payload } from "./submission.ts";

export type { TaskState } from "./submission.ts";

/** What a job reports on its way, then how it ended. */
export type TaskEvent =
  | { readonly type: "data"; readonly data: Uint8Array }
  | { readonly type: "warning"; readonly data: Uint8Array }
  | { readonly type: "status"; readonly numerator: number; readonly denominator: number }
  | { readonly type: "complete"; readonly data: Uint8Array }
  | { readonly type: "fail"; readonly error: JobFailedError }
  | { readonly type: "exception"; readonly error: JobExceptionError };

/** The events iterators see; the last one is `complete`, `fail` or `exception`. */
type Terminal = Extract<TaskEvent, { type: "complete" | "fail" | "exception" }>;

const utf8 = new TextDecoder();

/** @internal whoever holds a task by its handle (a client's connection to one server). */
export interface TaskOwner {
  forget(task: Task): void;
}

export class Task extends Submission implements PromiseLike<Uint8Array> {
  /** @internal the connection the job is registered on, which drops it on a timeout. */
  owner: TaskOwner | null = null;

  private _handle: string | undefined;
  private _server: string | undefined;
  private result: Uint8Array | undefined;
  private error: GearmanError | undefined;
  private promise: PromiseWithResolvers<Uint8Array> | null = null;
  private handlePromise: PromiseWithResolvers<string> | null = null;
  private streams: QueuedIterator<TaskEvent>[] | null = null;
  private terminal: Terminal | null = null;

  /** @internal tasks are made by Client.submit. */
  constructor(type: number, fn: string, unique: string, reducer: string | undefined, payload: Payload, retry: boolean) {
    super(type, fn, unique, reducer, payload, retry);
  }

  /** False: a Task is a foreground job (background submits resolve with their handle). */
  get background(): boolean {
    return false;
  }

  /** `host:port` of the server that created the job, once it did. */
  get server(): string | undefined {
    return this._server;
  }

  /** The job handle, once the server created the job (JOB_CREATED). */
  get handle(): Promise<string> {
    if (this.handlePromise === null) {
      this.handlePromise = Promise.withResolvers<string>();
      // The same failure reaches whoever awaits the task; don't report it twice.
      this.handlePromise.promise.catch(() => {});
      if (this._handle !== undefined) this.handlePromise.resolve(this._handle);
      else if (this.error) this.handlePromise.reject(this.error);
    }
    return this.handlePromise.promise;
  }

  /** The handle if the job was created already. */
  get handleNow(): string | undefined {
    return this._handle;
  }

  then<A = Uint8Array, B = never>(
    onfulfilled?: ((value: Uint8Array) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.settled().then(onfulfilled, onrejected);
  }

  catch<B = never>(onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<Uint8Array | B> {
    return this.settled().catch(onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<Uint8Array> {
    return this.settled().finally(onfinally);
  }

  /** The result as UTF-8 text. */
  async text(): Promise<string> {
    return utf8.decode(await this.settled());
  }

  /** The result parsed as JSON. */
  async json<T = unknown>(): Promise<T> {
    return JSON.parse(await this.text()) as T;
  }

  /**
   * The job's events in arrival order, ending with `complete`, `fail` or `exception`; a
   * timeout, server error or lost connection is thrown by the iterator. Events are kept from
   * the call on: call it right after submitting. `break` stops keeping them.
   */
  events(): AsyncIterableIterator<TaskEvent> {
    const stream: QueuedIterator<TaskEvent> = new QueuedIterator(() => {
      const i = this.streams?.indexOf(stream) ?? -1;
      if (i >= 0) this.streams!.splice(i, 1);
    });
    if (this.state !== "pending") {
      if (this.terminal) stream.push(this.terminal);
      stream.end(this.terminal ? undefined : this.error);
    } else {
      (this.streams ??= []).push(stream);
    }
    return stream;
  }

  private settled(): Promise<Uint8Array> {
    if (this.promise === null) {
      this.promise = Promise.withResolvers<Uint8Array>();
      if (this.state === "complete") this.promise.resolve(this.result!);
      else if (this.state === "failed") this.promise.reject(this.error);
    }
    return this.promise.promise;
  }

  /** @internal JOB_CREATED: the server took the job. */
  created(handle: string, server: string): void {
    // A job resubmitted after a lost connection gets a new handle; `handle` keeps the first.
    this.handlePromise?.resolve(handle);
    this._handle = handle;
    this._server = server;
  }

  /** @internal the last WORK_WARNING's data: a WORK_FAIL that follows carries it as its reason. */
  lastWarning: Uint8Array | null = null;

  /** @internal WORK_DATA, WORK_WARNING, WORK_STATUS. */
  event(event: TaskEvent): void {
    if (event.type === "warning") this.lastWarning = event.data;
    const streams = this.streams;
    if (streams === null) return;
    for (let i = 0; i < streams.length; i++) streams[i]!.push(event);
  }

  /** @internal WORK_COMPLETE. */
  complete(data: Uint8Array): void {
    this.finish(data, { type: "complete", data });
  }

  /** @internal WORK_FAIL or WORK_EXCEPTION: ends with that event and rejects with its error. */
  failWith(terminal: Extract<TaskEvent, { type: "fail" | "exception" }>): void {
    if (this.state !== "pending") return;
    this.terminal = terminal;
    this.reject(terminal.error);
  }

  /** @internal Any other failure (timeout, server error, lost connection, close). */
  reject(error: GearmanError): void {
    if (!this.settle(false)) return;
    this.error = error;
    this.owner = null;
    this.promise?.reject(error);
    if (this._handle === undefined) this.handlePromise?.reject(error);
    this.endStreams(this.terminal === null ? error : null);
  }

  private finish(data: Uint8Array, terminal: Terminal | null): void {
    if (!this.settle(true)) return;
    this.result = data;
    this.terminal = terminal;
    this.owner = null;
    this.promise?.resolve(data);
    this.endStreams(null);
  }

  private endStreams(error: GearmanError | null): void {
    const streams = this.streams;
    this.streams = null;
    if (streams === null) return;
    for (const s of streams) {
      if (this.terminal) s.push(this.terminal);
      s.end(error ?? undefined);
    }
  }
}

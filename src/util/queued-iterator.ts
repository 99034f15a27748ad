/**
 * An async iterator fed by pushes: a producer calls `push()` as values arrive and `end()` when
 * there are no more; a `for await` loop reads them in order. Values pushed while nobody waits
 * are buffered; a waiting `next()` gets the next value at once (several waiting calls are
 * answered in call order). `end(error)` lets the loop read
 * what is buffered, then throws `error` (once); `return()` (a `break`) drops the buffer, ends
 * the iterator and calls `onReturn`, so the producer stops feeding it.
 */
import { Fifo } from "./fifo.ts";

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

export class QueuedIterator<T> implements AsyncIterableIterator<T> {
  private buffer = new Fifo<T>(4);
  /** Calls of `next()` waiting for a value; only ever non-empty while the buffer is empty. */
  private readonly waiters = new Fifo<PromiseWithResolvers<IteratorResult<T>>>(4);
  private ended = false;
  private error: unknown = undefined;
  private failed = false;
  private onReturn: (() => void) | null;

  /** `onReturn` runs once, on the consumer's first `return()` (a `break` out of the loop). */
  constructor(onReturn?: () => void) {
    this.onReturn = onReturn ?? null;
  }

  /** True once `end()` or `return()` was called: later pushes are dropped. */
  get done(): boolean {
    return this.ended;
  }

  /** Values buffered for the consumer. */
  get length(): number {
    return this.buffer.length;
  }

  push(value: T): void {
    if (this.ended) return;
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      waiter.resolve({ value, done: false });
    } else {
      this.buffer.push(value);
    }
  }

  /** No more values. With an `error` (not undefined), the iterator throws it after the buffered values. */
  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    if (error !== undefined) {
      this.failed = true;
      this.error = error;
    }
    // Waiters exist only while the buffer is empty: the first gets the error, if any.
    for (let waiter = this.waiters.shift(); waiter !== undefined; waiter = this.waiters.shift()) {
      if (this.failed) {
        this.failed = false;
        waiter.reject(this.error);
        this.error = undefined;
      } else {
        waiter.resolve(DONE);
      }
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length > 0) return Promise.resolve({ value: this.buffer.shift() as T, done: false });
    if (this.ended) {
      if (!this.failed) return Promise.resolve(DONE);
      this.failed = false;
      const error = this.error;
      this.error = undefined;
      return Promise.reject(error);
    }
    const waiter = Promise.withResolvers<IteratorResult<T>>();
    this.waiters.push(waiter);
    return waiter.promise;
  }

  /** The consumer stops reading: buffered values are dropped and `onReturn` runs once. */
  return(): Promise<IteratorResult<T>> {
    this.ended = true;
    this.failed = false;
    this.error = undefined;
    this.buffer = new Fifo<T>(4);
    for (let waiter = this.waiters.shift(); waiter !== undefined; waiter = this.waiters.shift()) waiter.resolve(DONE);
    const onReturn = this.onReturn;
    this.onReturn = null;
    onReturn?.();
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}

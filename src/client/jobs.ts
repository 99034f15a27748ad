/**
 * A connection's foreground jobs by handle, and how their results are taken out of the received
 * bytes. A job leaves the table when it ends, so finished jobs leave nothing behind.
 */
import { Task } from "./task.ts";

const utf8 = new TextDecoder();

/**
 * Results up to this size are copied out of the received bytes: a copy costs less than a view
 * (a view of a small chunk first makes the chunk's ArrayBuffer), and it keeps no chunk alive.
 */
const COPY_RESULT = 1024;

/**
 * Received arguments are views into the socket's chunk. Keep a view of a large part; copy a
 * small part out of a large chunk, so one kept result does not pin a whole chunk.
 */
export function keep(view: Uint8Array): Uint8Array {
  return view.byteLength * 8 < view.buffer.byteLength ? view.slice() : view;
}

/**
 * The text in `buf[from, to)`, from a copy rather than a view of part of a chunk: the view would
 * first make the chunk's ArrayBuffer.
 */
export function textAt(buf: Uint8Array, from: number, to: number): string {
  return utf8.decode(from === 0 && to === buf.byteLength ? buf : buf.slice(from, to));
}

/** The result in `buf[from, to)`, kept as `keep` keeps a view (small ones copied). */
export function resultAt(buf: Uint8Array, from: number, to: number): Uint8Array {
  return to - from <= COPY_RESULT ? buf.slice(from, to) : keep(buf.subarray(from, to));
}

/**
 * Several submits on one connection that the server coalesced into one job (same function and
 * unique). gearmand then sends every WORK_* packet once per submit, back to back: copy k goes
 * to submit k, so each sees each event once.
 */
export class SharedJob {
  /** null: a submit that timed out (its copies are still sent, and skipped). */
  readonly tasks: (Task | null)[];
  private next = 0;
  constructor(...tasks: Task[]) {
    this.tasks = tasks;
  }
  nextCopy(): Task | null {
    const task = this.tasks[this.next]!;
    this.next = (this.next + 1) % this.tasks.length;
    return task;
  }
}

export type JobEntry = Task | SharedJob;

export class JobTable {
  /** A SharedJob when several submits here share one job. */
  private readonly jobs = new Map<string, JobEntry>();
  /** The handle last added: a WORK_* packet for it finds its job without decoding it again. */
  private lastHandle = "";

  get size(): number {
    return this.jobs.size;
  }

  has(handle: string): boolean {
    return this.jobs.has(handle);
  }

  get(handle: string): JobEntry | undefined {
    return this.jobs.get(handle);
  }

  /** The job ended: it leaves the table. */
  take(handle: string): JobEntry | undefined {
    const entry = this.jobs.get(handle);
    if (entry !== undefined) this.jobs.delete(handle);
    return entry;
  }

  /** JOB_CREATED for a foreground task (a second submit of one job shares it). */
  add(handle: string, task: Task): void {
    this.lastHandle = handle;
    const entry = this.jobs.get(handle);
    if (entry === undefined) this.jobs.set(handle, task);
    else if (entry instanceof Task) this.jobs.set(handle, new SharedJob(entry, task));
    else entry.tasks.push(task);
  }

  /** A task timed out: drop it. */
  forget(task: Task): void {
    const handle = task.handleNow;
    if (handle === undefined) return;
    const entry = this.jobs.get(handle);
    if (entry === task) {
      this.jobs.delete(handle);
    } else if (entry instanceof SharedJob) {
      // Keep the slot: gearmand still sends one copy of each packet for the forgotten submit.
      const i = entry.tasks.indexOf(task);
      if (i >= 0) entry.tasks[i] = null;
      if (entry.tasks.every((t) => t === null)) this.jobs.delete(handle);
    }
  }

  /** Every waiting task (the connection was lost); the table is left empty. */
  drain(): Task[] {
    const tasks: Task[] = [];
    for (const entry of this.jobs.values()) {
      if (entry instanceof Task) tasks.push(entry);
      else for (const t of entry.tasks) if (t !== null) tasks.push(t);
    }
    this.jobs.clear();
    return tasks;
  }

  /** The handle in `buf[from, to)`: the last one added when the bytes match it (ASCII), else decoded. */
  handleAt(buf: Uint8Array, from: number, to: number): string {
    const last = this.lastHandle;
    const n = to - from;
    if (n === last.length) {
      let i = 0;
      for (; i < n; i++) {
        const b = buf[from + i]!;
        if (b >= 0x80 || b !== last.charCodeAt(i)) break;
      }
      if (i === n) return last;
    }
    return textAt(buf, from, to);
  }

  handleOf(view: Uint8Array): string {
    return this.handleAt(view, 0, view.byteLength);
  }
}

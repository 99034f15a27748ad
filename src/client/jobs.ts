/**
 * A connection's foreground jobs by handle. A job leaves the table when it ends, so finished jobs
 * leave nothing behind.
 */
import { NameCache } from "../protocol/read.ts";
import { Task } from "./task.ts";

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
  private readonly handles = new NameCache("utf8");

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
    this.handles.remember(handle);
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

  /** The handle in `buf[from, to)` (UTF-8): the last one added when the bytes match it, else decoded. */
  handleAt(buf: Uint8Array, from: number, to: number): string {
    return this.handles.get(buf, from, to);
  }

  handleOf(view: Uint8Array): string {
    return this.handles.get(view, 0, view.byteLength);
  }
}

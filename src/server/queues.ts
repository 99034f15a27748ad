/**
 * The job server's queues, as gearmand keeps them, without sockets: functions, jobs, priorities,
 * unique coalescing, and the wake-up flags of worker connections.
 *
 * Priorities are global, as in gearmand 2.0: a worker that can do several functions gets a HIGH
 * job of any of them before any NORMAL one, and NORMAL before LOW. Within a priority the
 * worker's functions take turns (gearmand 2.0's round robin, its only mode): the newest CAN_DO
 * first, and the function just served goes to the back; within a function, oldest job first.
 * gearmand 1.1 orders only within a function and drains the newest CAN_DO's first
 * (test/server/priorities.test.ts records that difference).
 *
 * Wake-ups follow gearmand (server.cc, job.cc) exactly — two flags per worker connection:
 * - PRE_SLEEP: a job waiting for the connection → NOOP now; else `sleeping` (noopSent is kept).
 * - GRAB_JOB / _UNIQ / _ALL: clears both.
 * - A job queued (new, re-queued, or an epoch job coming due): NOOP to each connection that can
 *   do it with `sleeping && !noopSent`, which then sets `noopSent`; at most `workerWakeup`
 *   connections per job (0: all), starting where the previous wake-up of that function stopped.
 * So a connection gets at most one NOOP between two GRABs, on purpose: existing workers must see
 * the same server behaviour here as against gearmand.
 */
import { latin1At } from "../protocol/read.ts";
import { FunctionRecord, Job, Priority, type QueuePeer, type SubmitRequest } from "./records.ts";

const PRIORITIES: readonly Priority[] = [Priority.HIGH, Priority.NORMAL, Priority.LOW];

export type SubmitResult =
  | { readonly kind: "created"; readonly job: Job }
  | { readonly kind: "exists"; readonly job: Job }
  | { readonly kind: "full" };

export class JobQueues {
  readonly functions = new Map<string, FunctionRecord>();
  /** Every live job by handle, in creation order. */
  readonly jobs = new Map<string, Job>();
  /** function + NUL + key → job, for coalescing. */
  private readonly byKey = new Map<string, Job>();
  /**
   * unique → the job with it, or the jobs (any function, in creation order) once there are two:
   * for GET_STATUS_UNIQUE. Most uniques belong to one job, which then costs no Set of its own.
   */
  private readonly byUnique = new Map<string, Job | Set<Job>>();
  /** Epoch jobs not due yet, sorted by time. */
  readonly scheduled: Job[] = [];
  /**
   * The last handle number given out. By default it starts from the start time (option
   * `firstHandle`), not from 0 as gearmand's does: a restarted server must not give a new job
   * the handle of an older one a client may still ask about (`status(handle)` would answer for
   * the wrong job). Restored durable jobs keep their handles; numbering continues past them.
   */
  private handleCounter: number;

  constructor(
    private readonly handlePrefix: string,
    /** gearmand --worker-wakeup: NOOPs per queued job, 0 = all sleeping workers. */
    private readonly workerWakeup: number,
    /** The counter of the first handle (option `firstHandle`). */
    firstHandle = 1,
  ) {
    this.handleCounter = firstHandle - 1;
  }

  /** Continue handle numbering after restored jobs. */
  noteHandle(handle: string): void {
    // Any prefix: a store written under another prefix must not collide either.
    const n = Number(handle.slice(handle.lastIndexOf(":") + 1));
    if (Number.isInteger(n) && n > this.handleCounter) this.handleCounter = n;
  }

  fn(name: string): FunctionRecord {
    let f = this.functions.get(name);
    if (f === undefined) {
      f = new FunctionRecord(name);
      this.functions.set(name, f);
    }
    return f;
  }

  /** Coalescing key: the unique, or for the unique "-" the data itself (as gearmand does). */
  static keyOf(unique: string, data: Uint8Array): string {
    if (unique === "") return "";
    if (unique === "-") return `-\0${latin1At(data)}`;
    return unique;
  }

  /** The coalescing map's key: function NUL key, or "" when the job does not coalesce. */
  private static mapKey(fn: string, key: string): string {
    return key === "" ? "" : `${fn}\0${key}`;
  }

  /**
   * A submit. An existing job with the same function and non-empty unique (queued or running)
   * is reused: a foreground submitter attaches to it. Otherwise a new job, unless `maxqueue`
   * is reached. The caller queues the new job with `enqueue` (after making it durable).
   */
  submit(req: SubmitRequest): SubmitResult {
    const key = JobQueues.mapKey(req.fn, JobQueues.keyOf(req.unique, req.data));
    if (key !== "") {
      const existing = this.byKey.get(key);
      if (existing !== undefined) {
        if (req.client !== null) this.attach(existing, req.client);
        return { kind: "exists", job: existing };
      }
    }
    const fn = this.fn(req.fn);
    const max = fn.maxQueue[req.priority];
    if (max > 0 && fn.total >= max) return { kind: "full" };
    const job = this.create(`${this.handlePrefix}${++this.handleCounter}`, fn, req, key);
    if (req.client !== null) this.attach(job, req.client);
    return { kind: "created", job };
  }

  /** Re-creates a job from the durable store (background, keeps its handle). */
  restore(handle: string, req: SubmitRequest): Job {
    this.noteHandle(handle);
    return this.create(handle, this.fn(req.fn), req, JobQueues.mapKey(req.fn, JobQueues.keyOf(req.unique, req.data)));
  }

  private create(handle: string, fn: FunctionRecord, req: SubmitRequest, key: string): Job {
    const job = new Job(handle, fn, req.unique, key, req.data, req.priority, req.background, req.reducer, req.when);
    this.jobs.set(handle, job);
    if (key !== "") this.byKey.set(key, job);
    const had = this.byUnique.get(req.unique);
    if (had === undefined) this.byUnique.set(req.unique, job);
    else if (had instanceof Set) had.add(job);
    else this.byUnique.set(req.unique, new Set([had, job]));
    fn.total++;
    return job;
  }

  private attach(job: Job, client: QueuePeer): void {
    job.clients.push(client);
    client.attached.add(job);
  }

  /** Puts a new job in its queue (or waits for its epoch time) and wakes workers. */
  enqueue(job: Job, now?: number): void {
    // Only epoch jobs need the clock.
    if (job.when > 0 && job.when > (now ?? Date.now())) {
      job.fn.scheduled++;
      const at = this.scheduled.findIndex((j) => j.when > job.when);
      if (at < 0) this.scheduled.push(job);
      else this.scheduled.splice(at, 0, job);
      return;
    }
    this.queue(job);
  }

  /** Queues epoch jobs that are due; returns the next due time or 0. */
  releaseDue(now = Date.now()): number {
    while (this.scheduled.length > 0 && this.scheduled[0]!.when <= now) {
      const job = this.scheduled.shift()!;
      job.fn.scheduled--;
      if (job.ignored) this.forget(job);
      else this.queue(job);
    }
    return this.scheduled[0]?.when ?? 0;
  }

  /** gearman_server_job_queue: wake sleeping workers, then append to the queue. */
  private queue(job: Job): void {
    this.wake(job.fn);
    job.fn.queues[job.priority].push(job);
  }

  private wake(fn: FunctionRecord): void {
    const workers = fn.workers;
    const n = workers.length;
    if (n === 0) return;
    let i = fn.wakeCursor % n;
    let examined = 0;
    let sent = 0;
    do {
      const w = workers[i]!;
      if (w.sleeping && !w.noopSent) {
        w.noopSent = true;
        w.wake();
        sent++;
      }
      i = (i + 1) % n;
      examined++;
    } while (examined < n && (this.workerWakeup === 0 || sent < this.workerWakeup));
    fn.wakeCursor = i;
  }

  /** True when a GRAB from this connection would get a job (PRE_SLEEP's question). */
  hasWork(worker: QueuePeer): boolean {
    for (const fn of worker.abilities.keys()) {
      for (const p of PRIORITIES) if (this.head(fn, p) !== undefined) return true;
    }
    return false;
  }

  /** The queue's first runnable job, dropping cancelled/abandoned ones on the way. */
  private head(fn: FunctionRecord, p: Priority): Job | undefined {
    const q = fn.queues[p];
    let job = q.peek();
    while (job?.ignored) {
      q.shift();
      this.forget(job);
      job = q.peek();
    }
    return job;
  }

  /** GRAB: a job of the highest priority among the connection's functions, the functions taking turns. */
  take(worker: QueuePeer): Job | null {
    for (const p of PRIORITIES) {
      // `abilities` keeps the turn order reversed: the last function with a job is next.
      let next: FunctionRecord | undefined;
      for (const fn of worker.abilities.keys()) if (this.head(fn, p) !== undefined) next = fn;
      if (next === undefined) continue;
      const job = next.queues[p].shift()!;
      job.worker = worker;
      next.running++;
      worker.jobsInHand.add(job);
      this.toBackOfTurns(worker, next);
      return job;
    }
    return null;
  }

  /** The function just served waits for all the connection's others: first in `abilities`. */
  private toBackOfTurns(worker: QueuePeer, fn: FunctionRecord): void {
    const abilities = worker.abilities;
    if (abilities.size < 2 || abilities.keys().next().value === fn) return;
    const entries = [...abilities];
    abilities.clear();
    abilities.set(fn, entries.find(([f]) => f === fn)![1]);
    for (const [f, timeout] of entries) if (f !== fn) abilities.set(f, timeout);
  }

  /** The job `handle` if `worker` holds it (gearmand accepts results only from the holder). */
  held(handle: string, worker: QueuePeer): Job | null {
    const job = this.jobs.get(handle);
    return job !== undefined && job.worker === worker ? job : null;
  }

  /** Latest job with this unique (any function), for GET_STATUS_UNIQUE. */
  byUniqueKey(unique: string): Job | null {
    const had = this.byUnique.get(unique);
    if (had === undefined) return null;
    if (!(had instanceof Set)) return had;
    let last: Job | null = null;
    for (const j of had) last = j;
    return last;
  }

  /** A job ended (complete, fail, exception, retries exhausted): forget it. */
  finish(job: Job): void {
    if (job.worker !== null) {
      job.worker.jobsInHand.delete(job);
      job.worker = null;
      job.fn.running--;
    }
    this.clearTimer(job);
    this.forget(job);
  }

  private forget(job: Job): void {
    if (this.jobs.get(job.handle) !== job) return;
    this.jobs.delete(job.handle);
    job.fn.total--;
    this.unindex(job);
    for (const c of job.clients) c.attached.delete(job);
    job.clients = [];
  }

  private unindex(job: Job): void {
    if (job.key !== "" && this.byKey.get(job.key) === job) this.byKey.delete(job.key);
    const had = this.byUnique.get(job.unique);
    if (had === job) this.byUnique.delete(job.unique);
    else if (had instanceof Set && had.delete(job) && had.size === 1) {
      // Back to one job: it is kept on its own again.
      this.byUnique.set(job.unique, had.values().next().value!);
    }
  }

  /**
   * Takes a job back from its worker (disconnect or CAN_DO_TIMEOUT). With `jobRetries` 0 the
   * first take-back ends the job, with N > 0 the N-th, with -1 none (gearmand's meaning after
   * 2.0.0): then it returns "failed" and the caller tells the clients (WORK_FAIL) before calling
   * `finish`. Abandoned jobs are dropped ("dropped").
   */
  requeue(job: Job, jobRetries: number): "queued" | "failed" | "dropped" {
    if (job.worker !== null) {
      job.worker.jobsInHand.delete(job);
      job.worker = null;
      job.fn.running--;
      job.retries++;
    }
    this.clearTimer(job);
    job.numerator = "0";
    job.denominator = "0";
    if (job.ignored) {
      this.forget(job);
      return "dropped";
    }
    if (jobRetries === 0 || (jobRetries > 0 && job.retries >= jobRetries)) return "failed";
    this.queue(job);
    return "queued";
  }

  private clearTimer(job: Job): void {
    if (job.timer !== null) clearTimeout(job.timer);
    job.timer = null;
  }

  /**
   * Cancelled (`cancel job`) or abandoned: the job will not run. It stays counted until it
   * reaches the head of its queue, as in gearmand; it no longer coalesces new submits.
   */
  ignore(job: Job): void {
    job.ignored = true;
    this.unindex(job);
    for (const c of job.clients) c.attached.delete(job);
    job.clients = [];
  }

  /** A client connection went away: detach it; a foreground job nobody waits for is abandoned. */
  detachClient(client: QueuePeer): void {
    for (const job of client.attached) {
      job.clients = job.clients.filter((c) => c !== client);
      if (job.clients.length === 0 && !job.background) this.ignore(job);
    }
    client.attached.clear();
  }

  addAbility(worker: QueuePeer, name: string, timeout: number): void {
    const fn = this.fn(name);
    if (!worker.abilities.has(fn)) fn.workers.push(worker);
    worker.abilities.set(fn, timeout);
  }

  removeAbility(worker: QueuePeer, name: string): void {
    const fn = this.functions.get(name);
    if (fn === undefined || !worker.abilities.delete(fn)) return;
    const i = fn.workers.indexOf(worker);
    if (i >= 0) {
      fn.workers.splice(i, 1);
      if (fn.wakeCursor > i) fn.wakeCursor--;
    }
  }

  resetAbilities(worker: QueuePeer): void {
    for (const fn of [...worker.abilities.keys()]) this.removeAbility(worker, fn.name);
  }

  /** `drop function`: only a function with no jobs and no workers. */
  dropFunction(name: string): "ok" | "missing" | "busy" {
    const fn = this.functions.get(name);
    if (fn === undefined) return "missing";
    if (fn.total > 0 || fn.workers.length > 0) return "busy";
    this.functions.delete(name);
    return "ok";
  }
}

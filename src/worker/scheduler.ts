/**
 * The worker's scheduler: one event loop over all its server connections, so a multi-server
 * worker never stalls (see /work/shared/gearman-protocol.md, "Wake-ups").
 *
 * Slots. `running + inFlight <= concurrency` at all times, where `inFlight` is the GRABs sent
 * and not yet answered on every connection. A GRAB is only sent for a free slot, so the worker
 * never holds a job it cannot start while another worker could.
 *
 * Per connection (a Link):
 * - `wakePending`: a NOOP arrived (or the connection just became ready, or the idle guard
 *   fired) and has not been answered with a GRAB yet. It is never dropped: with no free slot
 *   it waits until one frees.
 * - `hasWork`: the last grab answer was a job, so more may be queued. Grabs on such a link are
 *   pipelined up to `depth`, which doubles with each job (up to `concurrency`) and falls back
 *   to 1 on NO_JOB.
 * - `asleep`: PRE_SLEEP was sent, which happens only when the last GRAB in flight came back
 *   NO_JOB and no wake arrived since (an earlier NO_JOB may be followed by a job).
 * A ready link is always in one of: grabs in flight, wake pending, asleep (or stalled, below).
 * One timer for the whole worker runs two guards:
 * - lost wake-ups: links asleep longer than `idleRegrabInterval` ± jitter are woken;
 * - a server that stops answering (hung, partitioned, not yet noticed by keepalive): when its
 *   oldest GRAB goes unanswered for `grabTimeout`, its grabs are written off — their slots go
 *   back to the pool so the other servers keep the worker busy — and the link is `stalled`
 *   (skipped) until it sends anything again, which wakes it. A job it then still assigns is run
 *   (never dropped), briefly exceeding `concurrency` by at most the grabs written off.
 *
 * When a slot frees, `fill()` grabs from eligible links round-robin, starting after the link
 * served last, so a server that keeps assigning jobs cannot starve a server that woke us.
 */
import { Connection, type ConnectionEvent } from "../connection/connection.ts";
import { ConnectionError, GearmanError, ProtocolError, ServerError, TimeoutError } from "../errors.ts";
import { CONSTANT_PACKETS, encodePacket, type Arg } from "../protocol/encode.ts";
import { PacketType, packetName, type Packet } from "../protocol/packets.ts";
import type { ResolvedWorkerOptions } from "../options.ts";
import type { Emitter, JobOutcome } from "./events.ts";
import { Job, JobFailure, JobState, type JobHandler, type JobHost } from "./job.ts";

const utf8 = new TextDecoder();
const EMPTY = new Uint8Array(0);
const TRUE = (): boolean => true;
const FALSE = (): boolean => false;

/** Counters per function name; kept after `unregister` so totals stay readable. */
export interface FunctionStats {
  /** Currently registered. */
  registered: boolean;
  /** Timeout in ms announced with CAN_DO_TIMEOUT (0: none). */
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
}

interface FunctionEntry {
  readonly handler: JobHandler;
  readonly timeout: number;
}

/** The scheduler's record of one server connection. */
export class Link {
  readonly index: number;
  readonly key: string;
  connection!: Connection;
  /** Incremented on every ready and every loss: a job delivers only on the session it came from. */
  session = 0;
  ready = false;
  grabsInFlight = 0;
  /** Most grabs in flight while `hasWork` (see the file comment). */
  depth = 1;
  wakePending = false;
  hasWork = false;
  asleep = false;
  asleepSince = 0;
  /** Since when the oldest GRAB in flight has waited for an answer, ms since epoch. */
  waitingSince = 0;
  /** Its GRABs went unanswered for `grabTimeout` and were written off; skipped until it speaks. */
  stalled = false;
  /** When the idle guard re-grabs this link if it is still asleep, ms since epoch. */
  regrabAt = 0;
  jobsRunning = 0;
  /** Results delivered (WORK_COMPLETE, WORK_FAIL, WORK_EXCEPTION written). */
  jobsDone = 0;
  jobsLost = 0;
  noops = 0;
  lastError: GearmanError | null = null;
  /** Jobs from the current session, by handle (to abort them on loss, and spot a re-assignment). */
  readonly jobs = new Map<string, Job>();

  constructor(index: number, key: string) {
    this.index = index;
    this.key = key;
  }
}

/** The one timeout timer callback: no closure per job. */
function onJobTimeout(job: Job): void {
  (job.host as Scheduler).jobTimedOut(job);
}

function errorText(value: unknown): string {
  if (value instanceof Error) return value.message || value.name;
  if (typeof value === "string") return value;
  try {
    return String(value);
  } catch {
    return "non-printable exception";
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}

/** The handler's value as WORK_COMPLETE data, or null for an unsupported type. */
function resultData(value: unknown): Arg | null {
  if (value === undefined || value === null) return EMPTY;
  if (typeof value === "string" || value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return null;
}

export class Scheduler implements JobHost {
  readonly links: Link[];
  readonly functions = new Map<string, FunctionEntry>();
  readonly functionStats = new Map<string, FunctionStats>();
  readonly concurrency: number;
  running = 0;
  /** GRABs sent and not answered, over all links. */
  inFlight = 0;
  stopping = false;

  private readonly config: ResolvedWorkerOptions;
  private readonly events: Emitter;
  private readonly grabPacket: Uint8Array;
  /** Index of the link served last; the next fill starts after it. */
  private cursor = -1;
  private guardTimer: ReturnType<typeof setInterval> | null = null;
  private idleWaiters: (() => void)[] = [];
  private firstReady: PromiseWithResolvers<void> | null = null;
  /** Scratch argument lists for encoding, reused for every result packet. */
  private readonly args1: Arg[] = [EMPTY];
  private readonly args2: Arg[] = [EMPTY, EMPTY];
  private readonly args3: Arg[] = [EMPTY, EMPTY, EMPTY];

  constructor(config: ResolvedWorkerOptions, events: Emitter) {
    this.config = config;
    this.events = events;
    this.concurrency = config.concurrency;
    this.grabPacket = CONSTANT_PACKETS[config.grab];
    this.links = config.servers.map((server, i) => {
      const link = new Link(i, server.key);
      link.connection = new Connection(server, config.connection, {
        packet: (p) => this.onPacket(link, p),
        event: (e) => this.onConnectionEvent(link, e),
      });
      return link;
    });
  }

  // ---------------------------------------------------------------------------------------
  // Lifecycle

  /** Dials every server; resolves at the first ready one, rejects with NO_SERVERS if every first dial fails. */
  start(): Promise<void> {
    this.firstReady = Promise.withResolvers<void>();
    const first = this.firstReady;
    first.promise.catch(() => {});
    const shortest = Math.min(this.config.idleRegrabInterval, this.config.grabTimeout);
    const period = Math.max(10, Math.min(1000, Math.floor(shortest / 4)));
    this.guardTimer = setInterval(() => this.guard(), period);
    this.guardTimer.unref?.();
    let failed = 0;
    for (const link of this.links) {
      link.connection.connect().catch((error: unknown) => {
        if (error instanceof GearmanError) link.lastError = error;
        failed++;
        if (failed === this.links.length && this.firstReady === first && !this.links.some((l) => l.ready)) {
          this.firstReady = null;
          const detail = this.links.map((l) => `${l.key} (${l.lastError?.message ?? "unreachable"})`).join(", ");
          first.reject(
            new ConnectionError("NO_SERVERS", `no job server could be reached: ${detail}`, {
              cause: new AggregateError(this.links.map((l) => l.lastError)),
            }),
          );
        }
      });
    }
    return first.promise;
  }

  /** Resolves when no job runs and no GRAB is in flight. */
  whenIdle(): Promise<void> {
    if (this.running === 0 && this.inFlight === 0) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.idleWaiters.push(resolve);
    return promise;
  }

  /** Aborts every running job's signal (stop deadline passed). Their results are still sent if they finish in time. */
  abortAll(reason: unknown): void {
    for (const link of this.links) for (const job of link.jobs.values()) job.abort(reason);
  }

  /** Stops the idle guard and closes every connection (queued results are flushed first). */
  async close(): Promise<void> {
    this.stopping = true;
    if (this.guardTimer !== null) clearInterval(this.guardTimer);
    this.guardTimer = null;
    const first = this.firstReady;
    this.firstReady = null;
    first?.reject(new ConnectionError("CLOSED", "worker stopped before any server was ready"));
    await Promise.all(this.links.map((l) => l.connection.close()));
  }

  private checkIdle(): void {
    if (this.running !== 0 || this.inFlight !== 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  // ---------------------------------------------------------------------------------------
  // Functions

  register(name: string, handler: JobHandler, timeout: number): void {
    const previous = this.functions.get(name);
    this.functions.set(name, { handler, timeout });
    const stats = this.statsFor(name);
    stats.registered = true;
    stats.timeout = timeout;
    if (previous !== undefined && previous.timeout === timeout) return; // a new handler only
    for (const link of this.links) {
      if (!link.ready) continue;
      this.sendCanDo(link, name, timeout);
      if (previous === undefined && !this.stopping) {
        // Jobs for a new function may be queued already; no NOOP will tell us.
        link.asleep = false;
        link.wakePending = true;
      }
    }
    this.fill();
  }

  unregister(name: string): boolean {
    if (!this.functions.delete(name)) return false;
    const stats = this.functionStats.get(name);
    if (stats !== undefined) stats.registered = false;
    for (const link of this.links) if (link.ready) link.connection.send(PacketType.CANT_DO, name);
    return true;
  }

  private statsFor(name: string): FunctionStats {
    let stats = this.functionStats.get(name);
    if (stats === undefined) {
      stats = { registered: false, timeout: 0, running: 0, done: 0, failed: 0, exceptions: 0, timedOut: 0, lost: 0 };
      this.functionStats.set(name, stats);
    }
    return stats;
  }

  private sendCanDo(link: Link, name: string, timeout: number): void {
    if (timeout > 0) link.connection.send(PacketType.CAN_DO_TIMEOUT, name, String(timeout));
    else link.connection.send(PacketType.CAN_DO, name);
  }

  // ---------------------------------------------------------------------------------------
  // Connection events

  private onConnectionEvent(link: Link, event: ConnectionEvent): void {
    switch (event.type) {
      case "ready":
        this.onReady(link);
        break;
      case "disconnected":
        link.lastError = event.error;
        if (event.wasReady) this.dropLink(link, event.error);
        break;
      case "closed":
        this.dropLink(link, new ConnectionError("CLOSED", "connection closed", { server: link.key }));
        break;
    }
    if (this.events.has("connection")) this.events.emit("connection", event);
  }

  /** (Re)connected: SET_CLIENT_ID, RESET_ABILITIES, CAN_DO per function, then grab. */
  private onReady(link: Link): void {
    if (this.stopping) return; // closing: register nothing, grab nothing
    link.ready = true;
    link.session++;
    link.grabsInFlight = 0;
    link.depth = 1;
    link.hasWork = false;
    link.asleep = false;
    link.stalled = false;
    link.wakePending = true;
    link.lastError = null;
    const conn = link.connection;
    if (this.config.clientId !== undefined) conn.send(PacketType.SET_CLIENT_ID, this.config.clientId);
    conn.write(CONSTANT_PACKETS.RESET_ABILITIES);
    for (const [name, fn] of this.functions) this.sendCanDo(link, name, fn.timeout);
    this.events.emit("connect", { server: link.key, reconnect: conn.connects > 1 });
    const first = this.firstReady;
    if (first !== null) {
      this.firstReady = null;
      first.resolve();
    }
    this.fill();
  }

  /** A ready link was lost: its grabs return to the pool, its running jobs cannot deliver. */
  private dropLink(link: Link, error: GearmanError): void {
    if (!link.ready) return;
    link.ready = false;
    link.session++;
    this.inFlight -= link.grabsInFlight;
    link.grabsInFlight = 0;
    link.depth = 1;
    link.wakePending = false;
    link.hasWork = false;
    link.asleep = false;
    link.stalled = false;
    for (const job of link.jobs.values()) this.loseJob(job, error);
    link.jobs.clear();
    if (!this.stopping) this.events.emit("disconnect", { server: link.key, error }); // not our own close
    this.fill();
    this.checkIdle();
  }

  // ---------------------------------------------------------------------------------------
  // Packets

  private onPacket(link: Link, p: Packet): void {
    if (link.stalled) {
      // It speaks again: grab afresh (whatever answer this is, it is not owed to a counted GRAB).
      link.stalled = false;
      link.wakePending = true;
      queueMicrotask(() => this.fill());
    }
    const a = p.args;
    switch (p.type) {
      case PacketType.NOOP:
        this.onNoop(link);
        return;
      case PacketType.NO_JOB:
        this.onNoJob(link);
        return;
      case PacketType.JOB_ASSIGN:
        this.onAssign(link, a[0]!, a[1]!, EMPTY, EMPTY, a[2]!);
        return;
      case PacketType.JOB_ASSIGN_UNIQ:
        this.onAssign(link, a[0]!, a[1]!, a[2]!, EMPTY, a[3]!);
        return;
      case PacketType.JOB_ASSIGN_ALL:
        this.onAssign(link, a[0]!, a[1]!, a[2]!, a[3]!, a[4]!);
        return;
      case PacketType.ERROR:
        this.events.emit("error", {
          error: new ServerError(utf8.decode(a[0]!), utf8.decode(a[1]!), { server: link.key }),
          server: link.key,
        });
        return;
      case PacketType.ECHO_RES:
      case PacketType.OPTION_RES:
        return;
      default:
        this.events.emit("error", {
          error: new ProtocolError("UNEXPECTED_PACKET", `a worker does not expect ${packetName(p.type)}`, {
            packetType: p.type,
            server: link.key,
          }),
          server: link.key,
        });
    }
  }

  private onNoop(link: Link): void {
    link.noops++;
    if (!link.ready || this.stopping) return;
    link.asleep = false;
    link.wakePending = true;
    this.fill();
  }

  private onNoJob(link: Link): void {
    if (link.grabsInFlight === 0) return; // not an answer to our GRAB: ignore
    link.grabsInFlight--;
    this.inFlight--;
    if (link.grabsInFlight > 0) link.waitingSince = Date.now();
    link.hasWork = false;
    link.depth = 1;
    if (this.stopping) {
      this.checkIdle();
      return;
    }
    // Sleep only when the LAST grab in flight came back empty and no wake arrived since it was
    // sent; with a wake pending, fill() grabs again (now, or when a slot frees).
    if (link.grabsInFlight === 0 && !link.wakePending) this.sleep(link);
    this.fill();
  }

  private sleep(link: Link): void {
    link.connection.write(CONSTANT_PACKETS.PRE_SLEEP);
    const now = Date.now();
    const spread = this.config.idleRegrabJitter * (2 * Math.random() - 1);
    link.asleep = true;
    link.asleepSince = now;
    link.regrabAt = now + this.config.idleRegrabInterval * (1 + spread);
  }

  private onAssign(
    link: Link,
    handleBytes: Uint8Array,
    nameBytes: Uint8Array,
    uniqueBytes: Uint8Array,
    reducerBytes: Uint8Array,
    payload: Uint8Array,
  ): void {
    if (link.grabsInFlight > 0) {
      link.grabsInFlight--;
      this.inFlight--;
      if (link.grabsInFlight > 0) link.waitingSince = Date.now();
    }
    link.hasWork = true;
    if (link.depth < this.concurrency) link.depth = Math.min(this.concurrency, link.depth * 2);
    const handle = utf8.decode(handleBytes);
    const name = utf8.decode(nameBytes);
    const fn = this.functions.get(name);
    if (fn === undefined) {
      // Unregistered while our GRAB was in flight. There is no way to hand a job back short of
      // disconnecting, so fail it rather than leave the client waiting.
      this.args1[0] = handleBytes;
      link.connection.write(encodePacket(PacketType.WORK_FAIL, this.args1));
      this.statsFor(name).failed++;
      this.events.emit("error", {
        error: new GearmanError("UNKNOWN_FUNCTION", `job ${handle} for unregistered function "${name}" failed`, {
          server: link.key,
        }),
        server: link.key,
      });
      this.fill();
      this.checkIdle();
      return;
    }
    // gearmand re-queued a job whose CAN_DO_TIMEOUT expired and gave it back to this
    // connection: the older run can no longer deliver (its result would end the new one).
    const previous = link.jobs.get(handle);
    if (previous !== undefined) {
      this.loseJob(
        previous,
        new GearmanError("JOB_REASSIGNED", `job ${handle} was handed out again by the server`, { server: link.key }),
      );
    }
    const job = new Job(
      this,
      link,
      link.session,
      link.key,
      handleBytes,
      handle,
      name,
      uniqueBytes,
      reducerBytes,
      payload,
    );
    link.jobs.set(handle, job);
    this.running++;
    link.jobsRunning++;
    this.statsFor(name).running++;
    if (fn.timeout > 0) job.timer = setTimeout(onJobTimeout, fn.timeout, job);
    if (this.events.has("job:start")) this.events.emit("job:start", { job });
    this.execute(job, fn.handler);
    this.fill(); // depth grew: a link with known work may take a free slot
  }

  // ---------------------------------------------------------------------------------------
  // Slots

  /** Sends GRABs for free slots, round-robin over links with a pending wake or known work. */
  fill(): void {
    if (this.stopping || this.functions.size === 0) return;
    let free = this.concurrency - this.running - this.inFlight;
    if (free <= 0) return;
    const links = this.links;
    const n = links.length;
    let i = this.cursor;
    let idle = 0;
    while (free > 0 && idle < n) {
      i = i + 1 >= n ? 0 : i + 1;
      const link = links[i]!;
      if (link.ready && (link.wakePending || link.hasWork) && link.grabsInFlight < link.depth && !link.stalled) {
        if (link.grabsInFlight === 0) link.waitingSince = Date.now();
        link.connection.write(this.grabPacket);
        link.grabsInFlight++;
        this.inFlight++;
        link.wakePending = false;
        link.asleep = false;
        this.cursor = i;
        free--;
        idle = 0;
      } else {
        idle++;
      }
    }
  }

  /**
   * The worker's one timer: links asleep past their re-grab time are treated as woken (lost
   * wake-up guard); links whose GRABs go unanswered too long give their slots back.
   */
  private guard(): void {
    const now = Date.now();
    let changed = false;
    for (const link of this.links) {
      if (!link.ready) continue;
      if (link.asleep && now >= link.regrabAt && !this.stopping) {
        link.asleep = false;
        link.wakePending = true;
        changed = true;
      } else if (link.grabsInFlight > 0 && now - link.waitingSince > this.config.grabTimeout) {
        this.inFlight -= link.grabsInFlight;
        link.grabsInFlight = 0;
        link.hasWork = false;
        link.wakePending = false;
        link.depth = 1;
        link.stalled = true;
        changed = true;
        this.events.emit("error", {
          error: new TimeoutError(
            `no answer to GRAB within ${this.config.grabTimeout} ms (grabTimeout): its slots go to the other servers until it answers`,
            { server: link.key },
          ),
          server: link.key,
        });
      }
    }
    if (changed) {
      this.fill();
      this.checkIdle(); // stop() need not wait for GRABs that will not be answered
    }
  }

  // ---------------------------------------------------------------------------------------
  // Jobs

  private execute(job: Job, handler: JobHandler): void {
    let result: unknown;
    try {
      result = handler(job);
    } catch (error) {
      this.settle(job, error, true);
      return;
    }
    if (result instanceof Promise) this.settleAsync(job, result);
    else if (isThenable(result)) this.settleAsync(job, Promise.resolve(result));
    else this.settle(job, result, false);
  }

  private async settleAsync(job: Job, pending: Promise<unknown>): Promise<void> {
    let value: unknown;
    let threw = false;
    try {
      value = await pending;
    } catch (error) {
      value = error;
      threw = true;
    }
    this.settle(job, value, threw);
  }

  /** The handler returned or threw: send its outcome (if still deliverable) and free the slot. */
  private settle(job: Job, value: unknown, threw: boolean): void {
    if (job.timer !== null) {
      clearTimeout(job.timer);
      job.timer = null;
    }
    const link = job.link as Link;
    this.running--;
    link.jobsRunning--;
    const stats = this.statsFor(job.function);
    stats.running--;
    if (link.jobs.get(job.handle) === job) link.jobs.delete(job.handle);
    if (job.state === JobState.Running) {
      job.state = JobState.Ended;
      let outcome: JobOutcome;
      let delivered: boolean;
      let error: unknown;
      if (threw && value instanceof JobFailure) {
        outcome = "fail";
        error = value;
        stats.failed++;
        delivered = this.deliver(job, PacketType.WORK_FAIL);
      } else {
        const data = threw ? null : resultData(value);
        if (data === null) {
          error = threw
            ? value
            : new TypeError(
                `handler for "${job.function}" returned ${typeof value}; return a string, Uint8Array or nothing`,
              );
          outcome = "exception";
          stats.exceptions++;
          // WORK_EXCEPTION ends the job in gearmand: never a WORK_FAIL after it.
          delivered = this.deliver(job, PacketType.WORK_EXCEPTION, errorText(error));
        } else {
          outcome = "complete";
          stats.done++;
          delivered = this.deliver(job, PacketType.WORK_COMPLETE, data);
        }
      }
      if (this.events.has("job:end")) this.events.emit("job:end", { job, outcome, error, delivered });
    }
    this.fill();
    this.checkIdle();
  }

  /** Writes a result packet for `job` if its connection session is still the one it came from. */
  private deliver(job: Job, type: number, data?: Arg): boolean {
    const link = job.link as Link;
    if (job.session !== link.session || !link.ready) return false;
    let bytes: Uint8Array;
    if (data === undefined) {
      this.args1[0] = job.handleBytes;
      bytes = encodePacket(type, this.args1);
    } else {
      this.args2[0] = job.handleBytes;
      this.args2[1] = data;
      bytes = encodePacket(type, this.args2);
      this.args2[1] = EMPTY;
    }
    link.connection.write(bytes);
    link.jobsDone++;
    return true;
  }

  /** JobHost: WORK_DATA / WORK_WARNING / WORK_STATUS from a running handler. */
  sendFor(job: Job, type: number, a: Arg, b?: Arg): Promise<boolean> {
    const link = job.link as Link;
    if (job.state !== JobState.Running || job.session !== link.session || !link.ready) return Promise.resolve(false);
    let bytes: Uint8Array;
    if (b === undefined) {
      this.args2[0] = job.handleBytes;
      this.args2[1] = a;
      bytes = encodePacket(type, this.args2);
      this.args2[1] = EMPTY;
    } else {
      this.args3[0] = job.handleBytes;
      this.args3[1] = a;
      this.args3[2] = b;
      bytes = encodePacket(type, this.args3);
    }
    link.connection.write(bytes);
    return link.connection.writable().then(TRUE, FALSE);
  }

  /** JobHost: `job.fail()`. */
  failNow(job: Job): void {
    if (job.state !== JobState.Running) return;
    job.state = JobState.Ended;
    this.statsFor(job.function).failed++;
    const delivered = this.deliver(job, PacketType.WORK_FAIL);
    if (this.events.has("job:end")) this.events.emit("job:end", { job, outcome: "fail", delivered });
  }

  /**
   * The function's timeout passed. gearmand 1.1.20 keeps one CAN_DO_TIMEOUT timer per worker
   * connection, for the first job on it, and a PRE_SLEEP cancels it; so its re-queue cannot be
   * relied on once a connection runs several jobs or sleeps while one runs: the worker ends the
   * job itself with WORK_FAIL. If gearmand re-queued the job first, that WORK_FAIL gets ERROR
   * JOB_NOT_FOUND, or — had the job come back to this connection — the older run is marked lost
   * on re-assignment and sends nothing (test/worker/gearmand-facts.test.ts).
   */
  jobTimedOut(job: Job): void {
    job.timer = null;
    if (job.state !== JobState.Running) return;
    job.state = JobState.TimedOut;
    const stats = this.statsFor(job.function);
    stats.timedOut++;
    const error = new TimeoutError(
      `job ${job.handle} (${job.function}) timed out after ${this.functions.get(job.function)?.timeout ?? stats.timeout} ms`,
      { server: job.server },
    );
    const delivered = this.deliver(job, PacketType.WORK_FAIL);
    job.abort(error);
    if (this.events.has("job:end")) this.events.emit("job:end", { job, outcome: "timeout", error, delivered });
  }

  private loseJob(job: Job, error: GearmanError): void {
    if (job.state === JobState.Running) {
      job.state = JobState.Lost;
      this.statsFor(job.function).lost++;
      (job.link as Link).jobsLost++;
      if (this.events.has("job:end")) this.events.emit("job:end", { job, outcome: "lost", error, delivered: false });
    }
    if (job.timer !== null) {
      clearTimeout(job.timer);
      job.timer = null;
    }
    job.abort(error);
  }
}

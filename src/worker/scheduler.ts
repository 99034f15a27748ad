/**
 * The worker's scheduler: one event loop over all its server connections, so a multi-server
 * worker never stalls (docs/protocol.md, "Wake-ups"). Per-connection state is a Link (link.ts);
 * functions live in registry.ts; jobs are run and settled by runner.ts. Here: connection events
 * and packets dispatched to those, free slots handed out, and the one guard timer.
 *
 * Slots: `running + inFlight <= concurrency`, `inFlight` being the GRABs sent and not answered
 * on every connection; a GRAB goes out only for a free slot, so the worker never holds a job it
 * cannot start. `fill()` answers links that woke (NOOP, connect, idle guard) first, in the order
 * they woke, so a server that keeps assigning cannot starve one that woke us; then it stays on
 * the link served last while that server keeps assigning, up to STREAK grabs (its results and
 * next GRABs share segments, and a second busy server costs no wake-up per job), then rotates
 * round-robin to the next link with work. The guard timer
 * wakes links asleep past `idleRegrabInterval` (a lost NOOP's stand-in) and stalls links whose
 * GRAB went unanswered for `grabTimeout`, giving their slots to the other servers.
 */
import { Connection, type ConnectionEvent } from "../connection/connection.ts";
import { everyTlsFailed } from "../connection/tls.ts";
import { ConnectionError, GearmanError, ProtocolError, ServerError, TimeoutError } from "../errors.ts";
import type { ResolvedRetry, ResolvedWorkerOptions } from "../options.ts";
import { CONSTANT_PACKETS } from "../protocol/encode.ts";
import { type Packet, PacketType, packetName } from "../protocol/packets.ts";
import type { Emitter } from "./events.ts";
import type { JobHandler } from "./job.ts";
import { InvariantCheck, schedulerViolation, type ServerStats, serverStats } from "./inspect.ts";
import { Link, NoJobAnswer } from "./link.ts";
import { afterArrivedIo } from "../util/deadline.ts";
import { FunctionRegistry, Registration } from "./registry.ts";
import { Fifo } from "../util/fifo.ts";
import { JobRunner } from "./runner.ts";

const utf8 = new TextDecoder();
const EMPTY = new Uint8Array(0);
/**
 * GRABs in a row the link served last may take while its server keeps assigning, before the next
 * link with work gets its turn: fair over a window of this many jobs, not per job.
 */
export const STREAK = 8;

export class Scheduler {
  readonly links: Link[];
  readonly registry = new FunctionRegistry();
  readonly concurrency: number;
  /** GRABs sent and not answered, over all links. */
  inFlight = 0;

  private readonly runner: JobRunner;
  private readonly config: ResolvedWorkerOptions;
  private readonly events: Emitter;
  private readonly grabPacket: Uint8Array;
  /** Stop began: no GRAB goes out any more. */
  private stopping = false;
  /** Index of the link served last; the next fill stays on it (up to STREAK grabs) or starts after it. */
  private cursor = -1;
  /** GRABs sent in a row to the link at `cursor`. */
  private streak = 0;
  /** Links woken (they owe a GRAB) in the order they woke; answered before any streak. Entries may be stale. */
  private readonly wakes = new Fifo<Link>();
  private guardTimer: ReturnType<typeof setInterval> | null = null;
  private guardPeriod = 0;
  /** When the guard last ran (or started): a long gap means our own code held the loop. */
  private guardAt = 0;
  /** A grab-timeout verdict is waiting for the I/O that had already arrived. */
  private stallCheck = false;
  private idleWaiters: (() => void)[] = [];
  private firstReady: PromiseWithResolvers<void> | null = null;
  private readonly invariants: InvariantCheck;

  constructor(config: ResolvedWorkerOptions, events: Emitter) {
    this.config = config;
    this.events = events;
    this.concurrency = config.concurrency;
    this.grabPacket = CONSTANT_PACKETS[config.grab];
    this.invariants = new InvariantCheck(config.checkInvariants, () =>
      schedulerViolation(this.links, this.inFlight, this.runner, this.registry, this.concurrency, this.stopping),
    );
    this.runner = new JobRunner(
      this.registry,
      events,
      () => {
        this.fill();
        this.checkIdle();
        this.invariants.after();
      },
      config.deadLetter ?? null,
    );
    this.links = config.servers.map((server, i) => {
      const link = new Link(i, server.key);
      link.connection = new Connection(server, config.connection, {
        packet: (p) => {
          this.onPacket(link, p);
          this.invariants.after();
        },
        event: (e) => {
          this.onConnectionEvent(link, e);
          this.invariants.after();
        },
      });
      return link;
    });
  }

  /** Handlers running now. */
  get running(): number {
    return this.runner.running;
  }

  // ---------------------------------------------------------------------------------------
  // Lifecycle

  /**
   * Dials every server; resolves at the first ready one, rejects with NO_SERVERS if every first
   * dial fails (TLS_FAILED if every one failed its TLS handshake).
   */
  start(): Promise<void> {
    this.firstReady = Promise.withResolvers<void>();
    const first = this.firstReady;
    first.promise.catch(() => {});
    const shortest = Math.min(this.config.idleRegrabInterval, this.config.grabTimeout);
    const period = Math.max(10, Math.min(1000, Math.floor(shortest / 4)));
    this.guardPeriod = period;
    this.guardAt = Date.now();
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
            everyTlsFailed(this.links.map((l) => ({ server: l.key, error: l.lastError }))) ??
              new ConnectionError("NO_SERVERS", `no job server could be reached: ${detail}`, {
                cause: new AggregateError(this.links.map((l) => l.lastError)),
              }),
          );
        }
      });
    }
    return first.promise;
  }

  /** Stop taking jobs: no GRAB goes out any more, NOOPs are left unanswered. */
  beginStop(): void {
    this.stopping = true;
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
    this.runner.abortAll(this.links, reason);
  }

  /** Stops the guard timer and closes every connection (queued results are flushed first). */
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

  register(name: string, handler: JobHandler, timeout: number, retry: ResolvedRetry | null = null): void {
    const change = this.registry.register(name, handler, timeout, retry);
    if (change === Registration.Handler) return;
    for (const link of this.links) {
      if (!link.ready) continue;
      this.sendCanDo(link, name, timeout);
      // Jobs for a new function may be queued already; no NOOP will tell us.
      if (change === Registration.New && !this.stopping && link.woken()) this.wakes.push(link);
    }
    this.fill();
    this.invariants.after();
  }

  unregister(name: string): boolean {
    if (!this.registry.unregister(name)) return false;
    for (const link of this.links) if (link.ready) link.connection.send(PacketType.CANT_DO, name);
    return true;
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
    link.becameReady();
    this.wakes.push(link);
    link.lastError = null;
    const conn = link.connection;
    if (this.config.clientId !== undefined) conn.send(PacketType.SET_CLIENT_ID, this.config.clientId);
    conn.write(CONSTANT_PACKETS.RESET_ABILITIES);
    for (const [name, fn] of this.registry) this.sendCanDo(link, name, fn.timeout);
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
    this.inFlight -= link.lost();
    for (const job of link.jobs.values()) this.runner.lose(job, error);
    link.jobs.clear();
    if (!this.stopping) this.events.emit("disconnect", { server: link.key, error }); // not our own close
    this.fill();
    this.checkIdle();
  }

  // ---------------------------------------------------------------------------------------
  // Packets

  private onPacket(link: Link, p: Packet): void {
    // A stalled link speaks again: grab afresh (whatever this is, it is not owed to a counted GRAB).
    if (link.spoke()) {
      this.wakes.push(link);
      queueMicrotask(() => this.fill());
    }
    const a = p.args;
    switch (p.type) {
      case PacketType.NOOP:
        link.noops++;
        if (!this.stopping) {
          const queued = link.wakePending;
          if (link.woken()) {
            if (!queued) this.wakes.push(link);
            this.fill();
          }
        }
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
        this.emitError(link, new ServerError(utf8.decode(a[0]!), utf8.decode(a[1]!), { server: link.key }));
        return;
      case PacketType.ECHO_RES:
      case PacketType.OPTION_RES:
        return;
      default:
        this.emitError(
          link,
          new ProtocolError("UNEXPECTED_PACKET", `a worker does not expect ${packetName(p.type)}`, {
            packetType: p.type,
            server: link.key,
          }),
        );
    }
  }

  private onNoJob(link: Link): void {
    const answer = link.noJob(Date.now());
    if (answer === NoJobAnswer.Ignored) return; // not an answer to a counted GRAB
    this.inFlight--;
    link.grabsAnsweredNoJob++;
    if (this.stopping) {
      this.checkIdle();
      return;
    }
    if (answer === NoJobAnswer.Sleep) {
      link.connection.write(CONSTANT_PACKETS.PRE_SLEEP);
      const spread = this.config.idleRegrabJitter * (2 * Math.random() - 1);
      link.sleep(Date.now() + this.config.idleRegrabInterval * (1 + spread));
    } else if (answer === NoJobAnswer.Owed) {
      this.wakes.push(link);
    }
    this.fill();
  }

  private onAssign(
    link: Link,
    handleBytes: Uint8Array,
    nameBytes: Uint8Array,
    uniqueBytes: Uint8Array,
    reducerBytes: Uint8Array,
    payload: Uint8Array,
  ): void {
    const counted = link.assigned(Date.now(), this.concurrency);
    if (counted) {
      this.inFlight--;
      link.grabsAnsweredJob++;
    }
    const handle = utf8.decode(handleBytes);
    const name = utf8.decode(nameBytes);
    const fn = this.registry.get(name);
    if (fn === undefined) {
      // Unregistered while our GRAB was in flight. There is no way to hand a job back short of
      // disconnecting, so fail it rather than leave the client waiting.
      this.runner.refuse(link, handleBytes, name);
      this.emitError(
        link,
        new GearmanError("UNKNOWN_FUNCTION", `job ${handle} for unregistered function "${name}" failed`, {
          server: link.key,
        }),
      );
      this.fill();
      this.checkIdle();
      return;
    }
    // gearmand re-queued a job whose CAN_DO_TIMEOUT expired and gave it back to this
    // connection: the older run can no longer deliver (its result would end the new one).
    const previous = link.jobs.get(handle);
    if (previous !== undefined) {
      this.runner.lose(
        previous,
        new GearmanError("JOB_REASSIGNED", `job ${handle} was handed out again by the server`, { server: link.key }),
      );
    }
    this.runner.start(link, fn, name, handleBytes, handle, uniqueBytes, reducerBytes, payload, !counted);
    this.fill(); // depth grew: a link with known work may take a free slot
  }

  private emitError(link: Link, error: GearmanError): void {
    this.events.emit("error", { error, server: link.key });
  }

  // ---------------------------------------------------------------------------------------
  // Slots

  /**
   * Sends GRABs for free slots: to links that woke, in the order they woke; then to the link
   * served last while it keeps assigning (up to STREAK in a row); then round-robin after it.
   */
  fill(): void {
    if (this.stopping || this.registry.size === 0) return;
    let free = this.concurrency - this.runner.running - this.inFlight;
    if (free <= 0) return;
    let now = 0;
    const wakes = this.wakes;
    while (free > 0 && wakes.length > 0) {
      const link = wakes.shift()!;
      // Skipped when its wake was answered already, the link went down, or its GRABs in flight
      // fill its depth (a NO_JOB that leaves the wake owed queues it again).
      if (!link.wakePending || !link.wantsGrab()) continue;
      if (now === 0) now = Date.now();
      this.sendGrab(link, now);
      free--;
    }
    const links = this.links;
    const n = links.length;
    while (free > 0) {
      let link: Link | undefined;
      if (this.cursor >= 0 && this.streak < STREAK && links[this.cursor]!.wantsGrab()) {
        link = links[this.cursor]!;
      } else {
        let i = this.cursor;
        for (let tried = 0; tried < n; tried++) {
          i = i + 1 >= n ? 0 : i + 1;
          if (links[i]!.wantsGrab()) {
            link = links[i]!;
            this.cursor = i;
            this.streak = 0;
            break;
          }
        }
        if (link === undefined) return;
      }
      if (now === 0) now = Date.now();
      this.sendGrab(link, now);
      this.streak++;
      free--;
    }
  }

  private sendGrab(link: Link, now: number): void {
    link.connection.write(this.grabPacket);
    link.grabSent(now);
    this.inFlight++;
  }

  /**
   * The worker's one timer: the idle re-grab guard and the grab timeout. A server is judged
   * overdue only on time it had to answer: when our own code held the guard back for more than
   * half of `grabTimeout`, the wait starts again; otherwise the verdict waits until the I/O that
   * had already arrived was handled (an answer there un-does the overdue state).
   */
  private guard(): void {
    const now = Date.now();
    const heldBack = now - this.guardAt > this.guardPeriod + this.config.grabTimeout / 2;
    this.guardAt = now;
    let changed = false;
    let overdue = false;
    for (const link of this.links) {
      if (!this.stopping && link.regrabDue(now)) {
        this.wakes.push(link);
        changed = true;
        continue;
      }
      if (heldBack) link.excuse(now);
      else if (link.overdue(now, this.config.grabTimeout)) overdue = true;
    }
    if (overdue && !this.stallCheck) {
      this.stallCheck = true;
      afterArrivedIo(() => {
        this.stallCheck = false;
        if (this.guardTimer !== null) this.stallOverdue();
      });
    }
    if (changed) {
      this.fill();
      this.checkIdle();
    }
    this.invariants.after();
  }

  /** Writes off the grabs of links still overdue once the arrived I/O was handled. */
  private stallOverdue(): void {
    const now = Date.now();
    let changed = false;
    for (const link of this.links) {
      const written = link.stall(now, this.config.grabTimeout);
      if (written > 0) {
        this.inFlight -= written;
        changed = true;
        this.emitError(
          link,
          new TimeoutError(
            `no answer to GRAB within ${this.config.grabTimeout} ms (grabTimeout): its slots go to the other servers until it answers`,
            { server: link.key },
          ),
        );
      }
    }
    if (changed) {
      this.fill();
      this.checkIdle(); // stop() need not wait for GRABs that will not be answered
    }
    this.invariants.after();
  }

  /** Per-server counters and state, for `worker.stats()`. */
  serverStats(): ServerStats[] {
    return this.links.map(serverStats);
  }

  /** Throws if the scheduler's state is inconsistent now, or was after any event (`checkInvariants`). */
  assertInvariants(): void {
    this.invariants.assert();
  }
}

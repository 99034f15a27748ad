/**
 * The worker's scheduler: one event loop over all its server connections, so a multi-server
 * worker never stalls (docs/protocol.md, "Wake-ups"). Per-connection state is a Link (link.ts);
 * functions live in registry.ts; jobs are run and settled by runner.ts. Here: connection events
 * and packets dispatched to those, free slots handed out, and the one guard timer.
 *
 * Slots: `running + inFlight <= concurrency`, `inFlight` being the GRABs sent and not answered
 * on every connection; a GRAB goes out only for a free slot, so the worker never holds a job it
 * cannot start. Which link gets each GRAB is GrabOrder's choice (grab-order.ts: woken links
 * first, then short streaks on a server that keeps assigning, then round-robin). The guard timer
 * wakes links asleep past `idleRegrabInterval` (a lost NOOP's stand-in) and stalls links whose
 * oldest GRAB is overdue (a few times their recent answer times, 500 ms to 2 s), giving their
 * slots to the other servers at once: a silent server costs the healthy ones nothing after that.
 *
 * The one exception to the slot budget: a stalled server that resumes answers the GRABs written
 * off on it, and the jobs those bring run over budget (`overBudget`) rather than being dropped.
 * It is bounded: a server has at most `concurrency` GRABs written off at a time (Link), and no
 * GRAB goes out while running jobs fill the concurrency.
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
import { FunctionRegistry, Registration } from "./registry.ts";
import { JobRunner } from "./runner.ts";
import { GrabOrder } from "./grab-order.ts";
import { GrabGuard } from "./guard.ts";
import { JobAssignment, utf8At } from "../protocol/read.ts";

export { STREAK, TURN_MS, turnGrabs } from "./grab-order.ts";

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
  private readonly order: GrabOrder;
  /** The one timer: idle re-grab and grab timeout (guard.ts). */
  private readonly guard: GrabGuard;
  private idleWaiters: (() => void)[] = [];
  private firstReady: PromiseWithResolvers<void> | null = null;
  private readonly invariants: InvariantCheck;
  /** The JOB_ASSIGN* being handled, read from the received bytes (reused). */
  private readonly assignment = new JobAssignment();

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
      const link = new Link(i, server.key, this.concurrency);
      link.connection = new Connection(server, config.connection, {
        packet: (p) => {
          this.onPacket(link, p);
          this.invariants.after();
        },
        body: (type, buf, from, to) => {
          if (!this.assignment.read(type, buf, from, to)) return false;
          this.onAssign(link);
          this.invariants.after();
          return true;
        },
        event: (e) => {
          this.onConnectionEvent(link, e);
          this.invariants.after();
        },
      });
      return link;
    });
    this.order = new GrabOrder(this.links, this.concurrency);
    this.guard = new GrabGuard(this.links, config, {
      active: () => !this.stopping,
      woke: (link) => this.order.woke(link),
      stalled: (_link, grabs) => {
        this.inFlight -= grabs;
      },
      silent: (link) => {
        this.emitError(
          link,
          new TimeoutError(
            `no answer to GRAB within ${config.grabTimeout} ms (grabTimeout): its slots went to the other servers until it answers`,
            { server: link.key },
          ),
        );
      },
      changed: () => {
        this.fill();
        this.checkIdle(); // stop() need not wait for GRABs that will not be answered
      },
      after: () => this.invariants.after(),
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
    this.guard.start();
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

  /** The stop deadline passed: running jobs are handed back to their servers (runner.handBack). */
  handBack(reason: GearmanError): number {
    const count = this.runner.handBack(this.links, reason);
    this.invariants.after();
    return count;
  }

  /** Stops the guard timer and closes every connection (queued results are flushed first). */
  async close(): Promise<void> {
    this.stopping = true;
    this.guard.stop();
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
    // A new handler or timeout for a known function changes nothing on the wire.
    if (change !== Registration.New) return;
    for (const link of this.links) {
      if (!link.ready) continue;
      this.sendCanDo(link, name);
      // Jobs for a new function may be queued already; no NOOP will tell us.
      if (change === Registration.New && !this.stopping && link.woken()) this.order.woke(link);
    }
    this.fill();
    this.invariants.after();
  }

  unregister(name: string): boolean {
    if (!this.registry.unregister(name)) return false;
    for (const link of this.links) if (link.ready) link.connection.send(PacketType.CANT_DO, name);
    return true;
  }

  /**
   * Always a plain CAN_DO, also for a function with a timeout: the worker's own clock ends the
   * job (WORK_WARNING + WORK_FAIL). A CAN_DO_TIMEOUT would let the server re-queue the job at the
   * same moment — run again, its caller unanswered (docs/semantics.md, "Timeouts").
   */
  private sendCanDo(link: Link, name: string): void {
    link.connection.send(PacketType.CAN_DO, name);
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
    this.order.woke(link);
    link.lastError = null;
    const conn = link.connection;
    if (this.config.clientId !== undefined) conn.send(PacketType.SET_CLIENT_ID, this.config.clientId);
    conn.write(CONSTANT_PACKETS.RESET_ABILITIES);
    for (const [name] of this.registry) this.sendCanDo(link, name);
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

  /** A stalled link speaks again: grab afresh (whatever it sent is not owed to a counted GRAB). */
  private heard(link: Link): void {
    if (link.spoke()) {
      this.order.woke(link);
      queueMicrotask(() => this.fill());
    }
  }

  /** Every packet but JOB_ASSIGN*, which the connection's `body` hook hands to onAssign. */
  private onPacket(link: Link, p: Packet): void {
    this.heard(link);
    const a = p.args;
    switch (p.type) {
      case PacketType.NOOP:
        link.noops++;
        if (!this.stopping) {
          const queued = link.wakePending;
          if (link.woken()) {
            if (!queued) this.order.woke(link);
            this.fill();
          }
        }
        return;
      case PacketType.NO_JOB:
        this.onNoJob(link);
        return;
      case PacketType.ERROR:
        this.emitError(link, new ServerError(utf8At(a[0]!), utf8At(a[1]!), { server: link.key }));
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
    const now = Date.now();
    const answer = link.noJob(now);
    if (answer === NoJobAnswer.Ignored) {
      // Not an answer to a counted GRAB; the last written-off one may free the link's depth.
      if (link.writtenOff === 0) this.fill();
      return;
    }
    this.inFlight--;
    link.grabsAnsweredNoJob++;
    if (this.stopping) {
      this.checkIdle();
      return;
    }
    if (answer === NoJobAnswer.Sleep) {
      link.connection.write(CONSTANT_PACKETS.PRE_SLEEP);
      const spread = this.config.idleRegrabJitter * (2 * Math.random() - 1);
      link.sleep(now + this.config.idleRegrabInterval * (1 + spread));
    } else if (answer === NoJobAnswer.Owed) {
      this.order.woke(link);
    }
    this.fill();
    if (this.inFlight === 0) this.guard.settle();
  }

  /** A JOB_ASSIGN* arrived (read into `this.assignment`). */
  private onAssign(link: Link): void {
    this.heard(link);
    const { handle, handleBytes, function: name, unique, reducer, payload } = this.assignment;
    this.assignment.clear();
    const now = Date.now();
    const counted = link.assigned(now, this.concurrency);
    if (counted) {
      this.inFlight--;
      link.grabsAnsweredJob++;
    }
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
    this.runner.start(link, fn, name, handleBytes, handle, unique, reducer, payload, !counted, now);
    this.fill(); // depth grew: a link with known work may take a free slot
    if (this.inFlight === 0) this.guard.settle(); // every slot busy running: nothing to judge
  }

  private emitError(link: Link, error: GearmanError): void {
    this.events.emit("error", { error, server: link.key });
  }

  // ---------------------------------------------------------------------------------------
  // Slots

  /** Sends GRABs for free slots, to the links GrabOrder picks. */
  fill(): void {
    if (this.stopping || this.registry.size === 0) return;
    let free = this.concurrency - this.runner.running - this.inFlight;
    if (free <= 0) return;
    const now = Date.now();
    while (free > 0) {
      const link = this.order.next(now);
      if (link === undefined) return;
      this.sendGrab(link, now);
      free--;
    }
  }

  private sendGrab(link: Link, now: number): void {
    link.connection.write(this.grabPacket);
    link.grabSent(now);
    this.inFlight++;
    this.guard.watch();
  }

  /** Per-server counters and state, for `worker.stats()`. */
  serverStats(): ServerStats[] {
    return this.links.map((l) => serverStats(l, this.config.grabTimeout));
  }

  /** Throws if the scheduler's state is inconsistent now, or was after any event (`checkInvariants`). */
  assertInvariants(): void {
    this.invariants.assert();
  }
}

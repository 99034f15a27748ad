/**
 * The embedded server's packet handlers: one method per request packet, named after it (one
 * method serves packets that differ only in priority or background). Replies are what gearmand
 * 1.1 sends (server.cc); where gearbun differs, a test in test/server/ says so. Work results are
 * in results.ts. The plain submits and WORK_COMPLETE, most of the traffic, are read straight from
 * the received bytes (`body`, with protocol/read.ts) and answered with replies framed in
 * protocol/frame.ts.
 *
 * Strings here are latin1 ("binary") strings: one char per byte, so names and handles round-trip.
 */
import type { ProtocolError } from "../errors.ts";
import type { ServerFaults } from "../options.ts";
import { CONSTANT_PACKETS } from "../protocol/encode.ts";
import { frameJobAssign, frameJobCreated } from "../protocol/frame.ts";
import { type Packet, PacketType } from "../protocol/packets.ts";
import { findNul, keep, keepAt, latin1At, latin1Bytes, NameCache } from "../protocol/read.ts";
import { type AdminContext, runAdminCommand } from "./admin-text.ts";
import type { ServerCounters } from "./counters.ts";
import type { Peer, PeerInput } from "./peer.ts";
import { WorkResults } from "./results.ts";
import { type Job, Priority, type SubmitRequest } from "./records.ts";

/** Longest unique gearmand accepts (GEARMAN_MAX_UNIQUE_SIZE). */
export const MAX_UNIQUE_SIZE = 64;
/** gearmand raises CAN_DO_TIMEOUT values below one second to one second. */
const MIN_JOB_TIMEOUT = 1000;

/** What the handlers need from the server: the queues, and a job's life beyond them. */
export interface HandlerContext extends AdminContext {
  readonly faults: ServerFaults;
  /** Monitoring counters, bumped here and in the server. */
  readonly counters: ServerCounters;
  /** Writes a new background job to the durable store, when there is one; throws if the store fails. */
  persist(job: Job): void;
  /** A job ends for good: out of the store, out of the queues. */
  end(job: Job): void;
  /** A job taken from its worker (disconnect, timeout): re-queued, or failed for good. */
  takeBack(job: Job): void;
  /** Queues the epoch jobs that are due and sets the timer for the next. */
  armEpochTimer(): void;
}

const binary = (s: string): Buffer => Buffer.from(s, "latin1");
const text = (b: Uint8Array): string => latin1At(b);

const SUBMITS: Readonly<Record<number, { priority: Priority; background: boolean }>> = {
  [PacketType.SUBMIT_JOB]: { priority: Priority.NORMAL, background: false },
  [PacketType.SUBMIT_JOB_BG]: { priority: Priority.NORMAL, background: true },
  [PacketType.SUBMIT_JOB_HIGH]: { priority: Priority.HIGH, background: false },
  [PacketType.SUBMIT_JOB_HIGH_BG]: { priority: Priority.HIGH, background: true },
  [PacketType.SUBMIT_JOB_LOW]: { priority: Priority.LOW, background: false },
  [PacketType.SUBMIT_JOB_LOW_BG]: { priority: Priority.LOW, background: true },
  [PacketType.SUBMIT_JOB_EPOCH]: { priority: Priority.NORMAL, background: true },
  [PacketType.SUBMIT_REDUCE_JOB]: { priority: Priority.NORMAL, background: false },
  [PacketType.SUBMIT_REDUCE_JOB_BACKGROUND]: { priority: Priority.NORMAL, background: true },
};

/** The gearmand ERROR code for each decoder failure. */
const DECODER_ERROR_CODES: Readonly<Record<string, string>> = {
  BAD_MAGIC: "INVALID_MAGIC",
  UNKNOWN_PACKET: "INVALID_COMMAND",
  BAD_ARGUMENTS: "INVALID_PACKET",
  PACKET_TOO_LARGE: "ARGUMENT_TOO_LARGE",
};

export class PacketHandlers implements PeerInput {
  /** Submits come in runs for one function: its name is decoded once per run. */
  private readonly names = new NameCache("latin1");
  private readonly results: WorkResults;

  constructor(private readonly ctx: HandlerContext) {
    this.results = new WorkResults(ctx);
  }

  packet(peer: Peer, packet: Packet): void {
    if (peer.closed) return;
    const a = packet.args;
    switch (packet.type) {
      case PacketType.ECHO_REQ:
        this.echoReq(peer, a);
        return;
      case PacketType.SUBMIT_JOB:
      case PacketType.SUBMIT_JOB_BG:
      case PacketType.SUBMIT_JOB_HIGH:
      case PacketType.SUBMIT_JOB_HIGH_BG:
      case PacketType.SUBMIT_JOB_LOW:
      case PacketType.SUBMIT_JOB_LOW_BG:
        this.submitJob(peer, packet.type, a);
        return;
      case PacketType.SUBMIT_JOB_EPOCH:
        this.submitJobEpoch(peer, a);
        return;
      case PacketType.SUBMIT_REDUCE_JOB:
      case PacketType.SUBMIT_REDUCE_JOB_BACKGROUND:
        this.submitReduceJob(peer, packet.type, a);
        return;
      case PacketType.GET_STATUS:
        this.getStatus(peer, a);
        return;
      case PacketType.GET_STATUS_UNIQUE:
        this.getStatusUnique(peer, a);
        return;
      case PacketType.OPTION_REQ:
        this.optionReq(peer, a);
        return;
      case PacketType.SET_CLIENT_ID:
        this.setClientId(peer, a);
        return;
      case PacketType.CAN_DO:
        this.canDo(peer, a);
        return;
      case PacketType.CAN_DO_TIMEOUT:
        this.canDoTimeout(peer, a);
        return;
      case PacketType.CANT_DO:
        this.cantDo(peer, a);
        return;
      case PacketType.RESET_ABILITIES:
        this.resetAbilities(peer);
        return;
      case PacketType.PRE_SLEEP:
        this.preSleep(peer);
        return;
      case PacketType.GRAB_JOB:
      case PacketType.GRAB_JOB_UNIQ:
      case PacketType.GRAB_JOB_ALL:
        this.grabJob(peer, packet.type);
        return;
      case PacketType.WORK_STATUS:
        this.results.status(peer, a);
        return;
      case PacketType.WORK_DATA:
      case PacketType.WORK_WARNING:
        this.results.data(peer, packet.type, a);
        return;
      case PacketType.WORK_COMPLETE:
      case PacketType.WORK_FAIL:
        this.results.complete(peer, packet.type, a);
        return;
      case PacketType.WORK_EXCEPTION:
        this.results.exception(peer, a);
        return;
      default:
        // Server-to-peer packets, ALL_YOURS, SUBMIT_JOB_SCHED: as gearmand answers them.
        peer.error("INVALID_COMMAND", "Command not expected");
    }
  }

  /**
   * The per-job packets read straight from their bytes (no view per argument): the plain submits
   * and WORK_COMPLETE. False: not one of them, or malformed (then `packet` or the decoder's error
   * handles it as usual).
   */
  body(peer: Peer, type: number, buf: Uint8Array, from: number, to: number): boolean {
    switch (type) {
      case PacketType.WORK_COMPLETE: {
        const nul = findNul(buf, from, to);
        if (nul < 0) return false;
        if (!peer.closed) this.results.completeFrom(peer, latin1At(buf, from, nul), buf, from, to);
        return true;
      }
      case PacketType.SUBMIT_JOB:
      case PacketType.SUBMIT_JOB_BG:
      case PacketType.SUBMIT_JOB_HIGH:
      case PacketType.SUBMIT_JOB_HIGH_BG:
      case PacketType.SUBMIT_JOB_LOW:
      case PacketType.SUBMIT_JOB_LOW_BG: {
        const a = findNul(buf, from, to);
        const b = a < 0 ? -1 : findNul(buf, a + 1, to);
        if (b < 0) return false;
        // The data is kept by the protocol's rule: a queued job does not pin a much larger chunk.
        if (!peer.closed)
          this.submit(
            peer,
            type,
            this.names.get(buf, from, a),
            latin1At(buf, a + 1, b),
            keepAt(buf, b + 1, to),
            null,
            0,
          );
        return true;
      }
      default:
        return false;
    }
  }

  /** An admin command line (the text protocol shares the port). */
  text(peer: Peer, line: string): void {
    // The decoder hands lines over as UTF-8; names are kept as bytes (latin1 strings).
    peer.send(binary(runAdminCommand(this.ctx, Buffer.from(line, "utf8").toString("latin1"))));
  }

  /** Bad input only costs its own connection: an ERROR as gearmand's, then the connection closes. */
  decoderError(peer: Peer, error: ProtocolError): void {
    const code = DECODER_ERROR_CODES[error.code];
    if (code !== undefined) peer.error(code, error.message);
    peer.closeAfterFlush();
  }

  // --- clients ---------------------------------------------------------------------------------

  private echoReq(peer: Peer, a: Uint8Array[]): void {
    peer.reply(PacketType.ECHO_RES, a[0]!);
  }

  /** SUBMIT_JOB, _BG, _HIGH, _HIGH_BG, _LOW, _LOW_BG: func, unique, data. */
  private submitJob(peer: Peer, type: number, a: Uint8Array[]): void {
    const fn = a[0]!;
    this.submit(peer, type, this.names.get(fn, 0, fn.byteLength), text(a[1]!), keep(a[2]!), null, 0);
  }

  /** func, unique, epoch seconds, data; a time that is not a positive number means now. */
  private submitJobEpoch(peer: Peer, a: Uint8Array[]): void {
    const seconds = Number.parseInt(text(a[2]!), 10);
    const when = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 0;
    this.submit(peer, PacketType.SUBMIT_JOB_EPOCH, text(a[0]!), text(a[1]!), keep(a[3]!), null, when);
  }

  /** SUBMIT_REDUCE_JOB and _BACKGROUND: func, unique, reducer, aggregator (ignored, as by gearmand), data. */
  private submitReduceJob(peer: Peer, type: number, a: Uint8Array[]): void {
    this.submit(peer, type, text(a[0]!), text(a[1]!), keep(a[4]!), text(a[2]!), 0);
  }

  private submit(
    peer: Peer,
    type: number,
    fn: string,
    unique: string,
    data: Uint8Array,
    reducer: string | null,
    when: number,
  ): void {
    const kind = SUBMITS[type]!;
    if (unique.length > MAX_UNIQUE_SIZE) {
      peer.error("ARGUMENT_TOO_LARGE", "Unique value too large");
      return;
    }
    const req: SubmitRequest = {
      fn,
      unique,
      data,
      priority: kind.priority,
      background: kind.background,
      reducer,
      when,
      client: kind.background ? null : peer,
    };
    const { queues } = this.ctx;
    const result = queues.submit(req);
    if (result.kind === "full") {
      peer.error("QUEUE_ERROR", "Job queue is full");
      return;
    }
    const job = result.job;
    if (result.kind === "created") {
      // A background job is durable before its JOB_CREATED: once the client is told, it survives a restart.
      try {
        this.ctx.persist(job);
      } catch (error) {
        queues.finish(job);
        peer.error("QUEUE_ERROR", `durable store: ${error instanceof Error ? error.message : String(error)}`);
        return;
      }
      queues.enqueue(job);
      this.ctx.counters.submitted(fn);
      if (job.when > 0) this.ctx.armEpochTimer();
    }
    peer.send(frameJobCreated(job.handle));
  }

  private getStatus(peer: Peer, a: Uint8Array[]): void {
    const handle = a[0]!;
    const job = this.ctx.queues.jobs.get(text(handle));
    if (job === undefined) {
      peer.reply(PacketType.STATUS_RES, handle, "0", "0", "0", "0");
      return;
    }
    const running = job.worker === null ? "0" : "1";
    peer.reply(PacketType.STATUS_RES, handle, "1", running, job.numerator, job.denominator);
  }

  private getStatusUnique(peer: Peer, a: Uint8Array[]): void {
    const unique = a[0]!;
    const job = this.ctx.queues.byUniqueKey(text(unique));
    if (job === null) {
      peer.reply(PacketType.STATUS_RES_UNIQUE, unique, "0", "0", "0", "0", "0");
      return;
    }
    const running = job.worker === null ? "0" : "1";
    const waiting = String(job.clients.length);
    peer.reply(PacketType.STATUS_RES_UNIQUE, unique, "1", running, job.numerator, job.denominator, waiting);
  }

  /** The only option gearmand knows: "exceptions" (WORK_EXCEPTION is passed on, not turned into WORK_FAIL). */
  private optionReq(peer: Peer, a: Uint8Array[]): void {
    if (text(a[0]!).toLowerCase() === "exceptions") {
      peer.exceptions = true;
      peer.reply(PacketType.OPTION_RES, a[0]!);
    } else {
      peer.error("UNKNOWN_OPTION", "Server does not recognize given option");
    }
  }

  private setClientId(peer: Peer, a: Uint8Array[]): void {
    peer.clientId = text(a[0]!);
  }

  // --- workers ---------------------------------------------------------------------------------

  private canDo(peer: Peer, a: Uint8Array[]): void {
    this.ctx.queues.addAbility(peer, text(a[0]!), 0);
  }

  private canDoTimeout(peer: Peer, a: Uint8Array[]): void {
    const ms = Number.parseInt(text(a[1]!), 10);
    this.ctx.queues.addAbility(peer, text(a[0]!), Number.isFinite(ms) && ms > 0 ? Math.max(ms, MIN_JOB_TIMEOUT) : 0);
  }

  private cantDo(peer: Peer, a: Uint8Array[]): void {
    this.ctx.queues.removeAbility(peer, text(a[0]!));
  }

  private resetAbilities(peer: Peer): void {
    this.ctx.queues.resetAbilities(peer);
  }

  /** Work already waiting: NOOP at once. Otherwise it sleeps until a job is queued (see queues.ts). */
  private preSleep(peer: Peer): void {
    if (this.ctx.queues.hasWork(peer)) peer.wake();
    else peer.sleeping = true;
  }

  /** GRAB_JOB, GRAB_JOB_UNIQ, GRAB_JOB_ALL: the next job, or NO_JOB. */
  private grabJob(peer: Peer, type: number): void {
    peer.sleeping = false;
    peer.noopSent = false;
    const { faults } = this.ctx;
    if (faults.ignoreGrabs) return;
    const job = this.ctx.queues.take(peer);
    if (job === null) {
      peer.send(CONSTANT_PACKETS.NO_JOB);
      return;
    }
    const fn = job.fn.nameBytes;
    if (type === PacketType.GRAB_JOB_ALL && job.reducer !== null) {
      const handle = latin1Bytes(job.handle);
      peer.reply(PacketType.JOB_ASSIGN_ALL, handle, fn, latin1Bytes(job.unique), binary(job.reducer), job.data);
    } else {
      // GRAB_JOB_UNIQ, and GRAB_JOB_ALL for a job without a reducer (as gearmand), carry the unique
      peer.send(frameJobAssign(job.handle, fn, type === PacketType.GRAB_JOB ? null : job.unique, job.data));
    }
    const timeout = peer.abilities.get(job.fn) ?? 0;
    if (timeout > 0) {
      job.timer = setTimeout(() => {
        job.timer = null;
        if (job.worker === peer) this.ctx.takeBack(job);
      }, timeout);
    }
    if (faults.dropOnAssign) peer.closeAfterFlush();
  }
}

/**
 * The embedded job server: gearmand 1.1's binary and admin text protocols on `Bun.listen`,
 * sharing gearbun's one codec (PacketDecoder with REQ magic and admin lines on the same port;
 * replies encoded with RES magic and written through a WriteQueue per connection).
 *
 * ```ts
 * await using server = await startServer({ port: 0 });
 * server.address; // "127.0.0.1:NNNN"
 * ```
 *
 * Behaviour follows gearmand (server.cc, job.cc); the queues and the wake-up rules live in
 * queues.ts, the admin commands in admin-text.ts, durable jobs in store.ts. Where gearbun does
 * differ, a test in test/server/ says so.
 *
 * Bad input only costs its own connection: a decoder error gets an ERROR packet and the
 * connection is closed. A connection whose replies pile up (it does not read) has its further
 * requests held unprocessed; once its unread replies or its held requests pass
 * `maxPendingOutput`, it is dropped. (Reading goes on meanwhile, so a peer that hangs up is
 * still noticed; Bun's socket.pause() would hide its FIN.)
 */
import type { Socket, TCPSocketListener } from "bun";
import { ConfigError, ConnectionError, type ProtocolError } from "../errors.ts";
import { WriteQueue } from "../util/write-queue.ts";
import { resolveServerOptions, type ResolvedServerOptions, type ServerFaults, type ServerOptions } from "../options.ts";
import { PacketDecoder } from "../protocol/decode.ts";
import { CONSTANT_PACKETS, encodePacket } from "../protocol/encode.ts";
import { PacketType, REQ_MAGIC, RES_MAGIC, type Packet } from "../protocol/packets.ts";
import { runAdminCommand, type AdminContext } from "./admin-text.ts";
import { type FunctionRecord, type Job, JobQueues, Priority, type QueuePeer, type SubmitRequest } from "./queues.ts";
import { JobStore } from "./store.ts";

export const SERVER_VERSION = "gearbun-0.1.0";
/** Longest unique gearmand accepts (GEARMAN_MAX_UNIQUE_SIZE). */
export const MAX_UNIQUE_SIZE = 64;
/** Unread reply bytes above which a connection's further requests are held until it reads. */
const HOLD_AT = 1024 * 1024;
/** Milliseconds a closed connection may take to acknowledge before it is cut. */
const CLOSE_GRACE = 1000;
/** gearmand raises CAN_DO_TIMEOUT values below one second to one second. */
const MIN_JOB_TIMEOUT = 1000;

export interface EmbeddedServerStats {
  /** Open connections. */
  readonly connections: number;
  /** Live jobs (queued, scheduled, running). */
  readonly jobs: number;
  /** Reply bytes queued for all connections and not yet taken by the kernel. */
  readonly pendingOutput: number;
}

/** A running embedded job server. */
export interface EmbeddedServer extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  /** "host:port" ("[v6]:port" for IPv6). */
  readonly address: string;
  /** Test switches; change them at any time. */
  readonly faults: ServerFaults;
  stats(): EmbeddedServerStats;
  /** Closes the listener and every connection; the durable store is closed last. */
  stop(): Promise<void>;
}

/** Starts an embedded job server; resolves once it listens. */
export async function startServer(options: ServerOptions = {}): Promise<EmbeddedServer> {
  const resolved = resolveServerOptions(options);
  const server = new ServerImpl(resolved);
  server.listen();
  return server;
}

const binary = (s: string): Buffer => Buffer.from(s, "latin1");
const text = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");

/** C `atoi` into a uint32, as gearmand keeps WORK_STATUS numbers. */
function atoiU32(b: Uint8Array): string {
  const n = Number.parseInt(text(b), 10);
  return String(Number.isFinite(n) ? n >>> 0 : 0);
}

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

type Sock = Socket<Peer>;

/** One connection: a client, a worker, an admin session, or all three. */
class Peer implements QueuePeer {
  sleeping = false;
  noopSent = false;
  readonly abilities = new Map<FunctionRecord, number>();
  readonly jobsInHand = new Set<Job>();
  readonly attached = new Set<Job>();
  /** Sent OPTION_REQ "exceptions". */
  exceptions = false;
  clientId = "-";
  closed = false;
  /** Requests received while its replies pile up, not yet decoded. */
  held: Uint8Array[] = [];
  heldBytes = 0;
  holding = false;
  readonly out = new WriteQueue(HOLD_AT);
  readonly decoder: PacketDecoder;

  constructor(
    readonly id: number,
    readonly socket: Sock,
    readonly ip: string,
    private readonly server: ServerImpl,
  ) {
    this.decoder = new PacketDecoder(
      {
        packet: (p) => server.onPacket(this, p),
        text: (line) => server.onText(this, line),
        error: (e) => server.onDecoderError(this, e),
      },
      { magic: REQ_MAGIC, allowText: true, maxPacketSize: server.options.maxPacketSize, server: server.address },
    );
    this.out.attach(socket);
  }

  wake(): void {
    this.server.noop(this);
  }

  deliver(bytes: Uint8Array): void {
    this.server.send(this, bytes);
  }
}

class ServerImpl implements EmbeddedServer, AdminContext {
  readonly options: ResolvedServerOptions;
  readonly faults: ServerFaults;
  readonly queues: JobQueues;
  readonly version = SERVER_VERSION;
  readonly verbose = "ERROR";
  private listener: TCPSocketListener<Peer> | null = null;
  private readonly peers = new Map<number, Peer>();
  private nextPeerId = 1;
  private store: JobStore | null = null;
  private epochTimer: ReturnType<typeof setTimeout> | null = null;
  private stopping: Promise<void> | null = null;
  /** Set first thing in stop(): closing connections then is no worker failure. */
  private stopped = false;

  constructor(options: ResolvedServerOptions) {
    this.options = options;
    this.faults = options.faults;
    this.queues = new JobQueues(options.handlePrefix, options.workerWakeup);
  }

  get host(): string {
    return this.options.host;
  }

  get port(): number {
    return this.listener?.port ?? this.options.port;
  }

  get address(): string {
    return this.host.includes(":") ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }

  listen(): void {
    if (this.options.store !== null) {
      try {
        this.store = new JobStore(this.options.store);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new ConfigError("store", `cannot open ${this.options.store}: ${message}`);
      }
      this.restore(this.store);
    }
    const self = this;
    try {
      this.listener = Bun.listen<Peer>({
        hostname: this.options.host,
        port: this.options.port,
        socket: {
          binaryType: "uint8array",
          open(socket) {
            socket.setNoDelay(true);
            const peer = new Peer(self.nextPeerId++, socket, socket.remoteAddress, self);
            socket.data = peer;
            self.peers.set(peer.id, peer);
          },
          data(socket, chunk) {
            self.onData(socket.data, chunk);
          },
          drain(socket) {
            socket.data.out.flush();
          },
          close(socket) {
            // Bun calls this synchronously inside terminate() and end(): finish the cleanup after
            // whatever loop caused it (a fan-out of NOOPs or results) is done.
            const peer = socket.data;
            if (peer === undefined) return;
            peer.closed = true;
            queueMicrotask(() => self.onClose(peer));
          },
          error(socket) {
            // A socket error, or one of these handlers threw: that connection goes, the server stays.
            if (socket.data !== undefined) self.drop(socket.data);
          },
        },
      });
    } catch (error) {
      this.store?.close();
      const message = error instanceof Error ? error.message : String(error);
      throw new ConfigError("port", `cannot listen on ${this.address}: ${message}`);
    }
  }

  stats(): EmbeddedServerStats {
    let pending = 0;
    for (const p of this.peers.values()) pending += p.out.pending;
    return { connections: this.peers.size, jobs: this.queues.jobs.size, pendingOutput: pending };
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopped = true;
      if (this.epochTimer !== null) clearTimeout(this.epochTimer);
      this.epochTimer = null;
      for (const job of this.queues.jobs.values()) if (job.timer !== null) clearTimeout(job.timer);
      this.listener?.stop(true);
      for (const peer of [...this.peers.values()]) {
        peer.socket.terminate();
        this.onClose(peer);
      }
      this.store?.close();
      this.store = null;
    })();
    return this.stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  // --- output ----------------------------------------------------------------------------------

  send(peer: Peer, bytes: Uint8Array): void {
    if (peer.closed) return;
    if (peer.out.pending > this.options.maxPendingOutput) {
      // It does not read what it is sent: drop it rather than grow without bound.
      this.drop(peer);
      return;
    }
    peer.out.push(bytes);
  }

  // --- input -----------------------------------------------------------------------------------

  private get holdAt(): number {
    return Math.min(HOLD_AT, this.options.maxPendingOutput / 2);
  }

  /** Decodes a chunk, or holds it while the peer's replies pile up unread. */
  onData(peer: Peer | undefined, chunk: Uint8Array): void {
    if (peer === undefined || peer.closed) return;
    if (peer.holding || peer.out.pending > this.holdAt) {
      peer.held.push(chunk);
      peer.heldBytes += chunk.byteLength;
      if (peer.heldBytes > this.options.maxPendingOutput) {
        this.drop(peer);
        return;
      }
      if (!peer.holding) this.hold(peer);
      return;
    }
    peer.decoder.push(chunk);
  }

  private hold(peer: Peer): void {
    peer.holding = true;
    peer.out.writable(this.holdAt / 2).then(
      () => {
        peer.holding = false;
        // Replay what was held, until replies pile up again.
        while (peer.held.length > 0 && !peer.closed) {
          if (peer.out.pending > this.holdAt) {
            this.hold(peer);
            return;
          }
          const chunk = peer.held.shift()!;
          peer.heldBytes -= chunk.byteLength;
          peer.decoder.push(chunk);
        }
      },
      () => {},
    );
  }

  private reply(peer: Peer, type: number, ...args: (Uint8Array | string)[]): void {
    this.send(peer, encodePacket(type, args, RES_MAGIC));
  }

  private error(peer: Peer, code: string, message: string): void {
    this.reply(peer, PacketType.ERROR, code, message);
  }

  noop(peer: Peer): void {
    if (!this.faults.withholdNoop) this.send(peer, CONSTANT_PACKETS.NOOP);
  }

  /** Cuts a connection; its jobs and abilities are cleaned up once the current loop is done. */
  drop(peer: Peer): void {
    peer.closed = true;
    peer.socket.terminate();
    queueMicrotask(() => this.onClose(peer));
  }

  /** Sends what is queued, then closes (after an ERROR); a peer that does not close its side goes anyway. */
  private closeAfterFlush(peer: Peer): void {
    peer.out.flush();
    peer.closed = true;
    peer.socket.end();
    setTimeout(() => {
      if (this.peers.get(peer.id) === peer) this.drop(peer);
    }, CLOSE_GRACE).unref();
  }

  onDecoderError(peer: Peer, error: ProtocolError): void {
    const code = DECODER_ERROR_CODES[error.code];
    if (code !== undefined) this.error(peer, code, error.message);
    this.closeAfterFlush(peer);
  }

  onText(peer: Peer, line: string): void {
    // The decoder hands lines over as UTF-8; names are kept as bytes (latin1 strings).
    const reply = runAdminCommand(this, Buffer.from(line, "utf8").toString("latin1"));
    this.send(peer, binary(reply));
  }

  connections(): Iterable<{ id: number; ip: string; clientId: string; functions: string[] }> {
    return [...this.peers.values()].map((p) => ({
      id: p.id,
      ip: p.ip,
      clientId: p.clientId,
      functions: [...p.abilities.keys()].map((f) => f.name),
    }));
  }

  onPacket(peer: Peer, packet: Packet): void {
    if (peer.closed) return;
    const a = packet.args;
    switch (packet.type) {
      case PacketType.ECHO_REQ:
        this.reply(peer, PacketType.ECHO_RES, a[0]!);
        return;
      case PacketType.SUBMIT_JOB:
      case PacketType.SUBMIT_JOB_BG:
      case PacketType.SUBMIT_JOB_HIGH:
      case PacketType.SUBMIT_JOB_HIGH_BG:
      case PacketType.SUBMIT_JOB_LOW:
      case PacketType.SUBMIT_JOB_LOW_BG:
        this.submit(peer, packet.type, text(a[0]!), text(a[1]!), a[2]!, null, 0);
        return;
      case PacketType.SUBMIT_JOB_EPOCH: {
        const seconds = Number.parseInt(text(a[2]!), 10);
        this.submit(
          peer,
          packet.type,
          text(a[0]!),
          text(a[1]!),
          a[3]!,
          null,
          Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 0,
        );
        return;
      }
      case PacketType.SUBMIT_REDUCE_JOB:
      case PacketType.SUBMIT_REDUCE_JOB_BACKGROUND:
        // func, unique, reducer, aggregator (ignored, as by gearmand), data
        this.submit(peer, packet.type, text(a[0]!), text(a[1]!), a[4]!, text(a[2]!), 0);
        return;
      case PacketType.GET_STATUS:
        this.getStatus(peer, a[0]!);
        return;
      case PacketType.GET_STATUS_UNIQUE:
        this.getStatusUnique(peer, a[0]!);
        return;
      case PacketType.OPTION_REQ:
        if (text(a[0]!).toLowerCase() === "exceptions") {
          peer.exceptions = true;
          this.reply(peer, PacketType.OPTION_RES, a[0]!);
        } else {
          this.error(peer, "UNKNOWN_OPTION", "Server does not recognize given option");
        }
        return;
      case PacketType.SET_CLIENT_ID:
        peer.clientId = text(a[0]!);
        return;
      case PacketType.CAN_DO:
        this.queues.addAbility(peer, text(a[0]!), 0);
        return;
      case PacketType.CAN_DO_TIMEOUT: {
        const ms = Number.parseInt(text(a[1]!), 10);
        this.queues.addAbility(peer, text(a[0]!), Number.isFinite(ms) && ms > 0 ? Math.max(ms, MIN_JOB_TIMEOUT) : 0);
        return;
      }
      case PacketType.CANT_DO:
        this.queues.removeAbility(peer, text(a[0]!));
        return;
      case PacketType.RESET_ABILITIES:
        this.queues.resetAbilities(peer);
        return;
      case PacketType.PRE_SLEEP:
        if (this.queues.hasWork(peer)) this.noop(peer);
        else peer.sleeping = true;
        return;
      case PacketType.GRAB_JOB:
      case PacketType.GRAB_JOB_UNIQ:
      case PacketType.GRAB_JOB_ALL:
        this.grab(peer, packet.type);
        return;
      case PacketType.WORK_STATUS:
      case PacketType.WORK_DATA:
      case PacketType.WORK_WARNING:
      case PacketType.WORK_COMPLETE:
      case PacketType.WORK_FAIL:
      case PacketType.WORK_EXCEPTION:
        this.workResult(peer, packet);
        return;
      default:
        // Server-to-peer packets, ALL_YOURS, SUBMIT_JOB_SCHED: as gearmand answers them.
        this.error(peer, "INVALID_COMMAND", "Command not expected");
    }
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
      this.error(peer, "ARGUMENT_TOO_LARGE", "Unique value too large");
      return;
    }
    const req: SubmitRequest = {
      fn,
      unique,
      data: data.slice(), // the decoder's view belongs to the received chunk
      priority: kind.priority,
      background: kind.background,
      reducer,
      when,
      client: kind.background ? null : peer,
    };
    const result = this.queues.submit(req);
    if (result.kind === "full") {
      this.error(peer, "QUEUE_ERROR", "Job queue is full");
      return;
    }
    const job = result.job;
    if (result.kind === "created") {
      if (job.background && this.store !== null) {
        try {
          this.store.add({ handle: job.handle, fn, unique, priority: job.priority, reducer, when, data: job.data });
          job.stored = true;
        } catch (error) {
          this.queues.finish(job);
          this.error(peer, "QUEUE_ERROR", `durable store: ${error instanceof Error ? error.message : String(error)}`);
          return;
        }
      }
      this.queues.enqueue(job);
      if (job.when > 0) this.armEpochTimer();
    }
    this.reply(peer, PacketType.JOB_CREATED, binary(job.handle));
  }

  private grab(peer: Peer, type: number): void {
    peer.sleeping = false;
    peer.noopSent = false;
    if (this.faults.ignoreGrabs) return;
    const job = this.queues.take(peer);
    if (job === null) {
      this.send(peer, CONSTANT_PACKETS.NO_JOB);
      return;
    }
    const handle = binary(job.handle);
    const fn = binary(job.fn.name);
    if (type === PacketType.GRAB_JOB_ALL && job.reducer !== null) {
      this.reply(peer, PacketType.JOB_ASSIGN_ALL, handle, fn, binary(job.unique), binary(job.reducer), job.data);
    } else if (type === PacketType.GRAB_JOB) {
      this.reply(peer, PacketType.JOB_ASSIGN, handle, fn, job.data);
    } else {
      // GRAB_JOB_UNIQ, and GRAB_JOB_ALL for a job without a reducer (as gearmand)
      this.reply(peer, PacketType.JOB_ASSIGN_UNIQ, handle, fn, binary(job.unique), job.data);
    }
    const timeout = peer.abilities.get(job.fn) ?? 0;
    if (timeout > 0) {
      job.timer = setTimeout(() => {
        job.timer = null;
        if (job.worker === peer) this.takeBack(job);
      }, timeout);
    }
    if (this.faults.dropOnAssign) this.closeAfterFlush(peer);
  }

  /** A job taken from its worker (disconnect, timeout): re-queued, or failed for good. */
  private takeBack(job: Job): void {
    if (this.queues.requeue(job, this.options.jobRetries) === "failed") {
      const fail = encodePacket(PacketType.WORK_FAIL, [binary(job.handle)], RES_MAGIC);
      for (const c of job.clients) c.deliver(fail);
      this.end(job);
    }
  }

  /** A job ends for good: out of the store, out of the queues. */
  private end(job: Job): void {
    if (job.stored && this.store !== null) {
      job.stored = false;
      this.store.remove(job.handle);
    }
    this.queues.finish(job);
  }

  private workResult(peer: Peer, packet: Packet): void {
    const a = packet.args;
    const job = this.queues.held(text(a[0]!), peer);
    const type = packet.type;
    if (job === null) {
      const message =
        type === PacketType.WORK_DATA || type === PacketType.WORK_WARNING
          ? "Job does not exist on server"
          : type === PacketType.WORK_EXCEPTION
            ? "An exception was received for a job that does not exist"
            : "Job given in work result not found";
      this.error(peer, "JOB_NOT_FOUND", message);
      return;
    }
    if (type === PacketType.WORK_STATUS) {
      job.numerator = atoiU32(a[1]!);
      job.denominator = atoiU32(a[2]!);
    }
    if (job.clients.length > 0) {
      if (type === PacketType.WORK_EXCEPTION) {
        let exception: Uint8Array | null = null;
        let fail: Uint8Array | null = null;
        for (const c of job.clients) {
          if (c.exceptions) c.deliver((exception ??= encodePacket(type, a, RES_MAGIC)));
          // gearmand: WORK_FAIL whose body is the handle and its NUL
          else
            c.deliver(
              (fail ??= encodePacket(PacketType.WORK_FAIL, [Buffer.concat([a[0]!, new Uint8Array(1)])], RES_MAGIC)),
            );
        }
      } else {
        // One encoding shared by every attached client (one entry per foreground submit).
        const bytes = encodePacket(type, a, RES_MAGIC);
        for (const c of job.clients) c.deliver(bytes);
      }
    }
    if (type === PacketType.WORK_COMPLETE || type === PacketType.WORK_FAIL || type === PacketType.WORK_EXCEPTION) {
      this.end(job);
    }
  }

  private getStatus(peer: Peer, handle: Uint8Array): void {
    const job = this.queues.jobs.get(text(handle));
    if (job === undefined) {
      this.reply(peer, PacketType.STATUS_RES, handle, "0", "0", "0", "0");
      return;
    }
    this.reply(
      peer,
      PacketType.STATUS_RES,
      handle,
      "1",
      job.worker === null ? "0" : "1",
      job.numerator,
      job.denominator,
    );
  }

  private getStatusUnique(peer: Peer, unique: Uint8Array): void {
    const job = this.queues.byUniqueKey(text(unique));
    if (job === null) {
      this.reply(peer, PacketType.STATUS_RES_UNIQUE, unique, "0", "0", "0", "0", "0");
      return;
    }
    const running = job.worker === null ? "0" : "1";
    this.reply(
      peer,
      PacketType.STATUS_RES_UNIQUE,
      unique,
      "1",
      running,
      job.numerator,
      job.denominator,
      String(job.clients.length),
    );
  }

  /** Admin `cancel job`: attached clients get WORK_FAIL; the job will not run. */
  cancel(job: Job): void {
    if (job.clients.length > 0) {
      const fail = encodePacket(PacketType.WORK_FAIL, [binary(job.handle)], RES_MAGIC);
      for (const c of job.clients) c.deliver(fail);
    }
    if (job.stored && this.store !== null) {
      job.stored = false;
      this.store.remove(job.handle);
    }
    this.queues.ignore(job);
  }

  private onClose(peer: Peer | undefined): void {
    if (peer === undefined || !this.peers.has(peer.id)) return;
    peer.closed = true;
    this.peers.delete(peer.id);
    peer.held = [];
    peer.heldBytes = 0;
    peer.out.detach(new ConnectionError("CLOSED", "connection closed", { server: this.address }));
    this.queues.resetAbilities(peer);
    // On stop() the jobs stay as they are (durable ones in the store): no retry is counted.
    if (!this.stopped) for (const job of [...peer.jobsInHand]) this.takeBack(job);
    this.queues.detachClient(peer);
  }

  // --- epoch jobs and the durable store ---------------------------------------------------------

  private armEpochTimer(): void {
    if (this.epochTimer !== null) clearTimeout(this.epochTimer);
    this.epochTimer = null;
    const next = this.queues.releaseDue();
    if (next === 0 || this.stopped) return;
    this.epochTimer = setTimeout(
      () => {
        this.epochTimer = null;
        this.armEpochTimer();
      },
      Math.max(0, next - Date.now()),
    );
  }

  private restore(store: JobStore): void {
    for (const s of store.load()) {
      const job = this.queues.restore(s.handle, {
        fn: s.fn,
        unique: s.unique,
        data: s.data,
        priority: s.priority,
        background: true,
        reducer: s.reducer,
        when: s.when,
        client: null,
      });
      job.stored = true;
      this.queues.enqueue(job);
    }
    this.armEpochTimer();
  }
}

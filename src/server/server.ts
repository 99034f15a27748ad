/**
 * The embedded job server: gearmand 1.1's binary and admin text protocols on `Bun.listen`,
 * sharing gearbun's one codec (PacketDecoder with REQ magic and admin lines on the same port;
 * replies encoded with RES magic).
 *
 * ```ts
 * await using server = await startServer({ port: 0 });
 * server.address; // "127.0.0.1:NNNN"
 * ```
 *
 * This file listens and stops, keeps the durable store and the epoch timer, and ends jobs; the
 * parts are wired here. Behaviour follows gearmand (server.cc, job.cc): one connection's output
 * and backpressure live in peer.ts, the packet handlers in handlers.ts, the queues and the
 * wake-up rules in queues.ts, the admin commands in admin-text.ts, durable jobs in store.ts.
 * Where gearbun does differ, a test in test/server/ says so.
 */
import type { Socket, TCPSocketListener } from "bun";
import { describePeerTlsFailure } from "./tls.ts";
import { ConfigError } from "../errors.ts";
import { type ResolvedServerOptions, resolveServerOptions, type ServerFaults, type ServerOptions } from "../options.ts";
import { encodePacket } from "../protocol/encode.ts";
import { PacketType, RES_MAGIC } from "../protocol/packets.ts";
import { latin1Bytes } from "../protocol/read.ts";
import { type FunctionCounters, ServerCounters } from "./counters.ts";
import { type HandlerContext, PacketHandlers } from "./handlers.ts";
import { Peer, type PeerHost } from "./peer.ts";
import { JobQueues } from "./queues.ts";
import type { Job } from "./records.ts";
import { JobStore } from "./store.ts";
import { VERSION } from "../version.ts";

export const SERVER_VERSION = `gearbun-${VERSION}`;

export interface EmbeddedServerStats {
  /** Open connections. */
  readonly connections: number;
  /** Live jobs (queued, scheduled, running). */
  readonly jobs: number;
  /** Reply bytes queued for all connections and not yet taken by the kernel. */
  readonly pendingOutput: number;
}

/** What a metrics endpoint reads: the admin `status` numbers and the counters, per function. */
export interface EmbeddedServerMetrics extends EmbeddedServerStats {
  readonly version: string;
  /** Connections accepted since the start. */
  readonly connectionsTotal: number;
  /** Live functions as admin `status` shows them: jobs total (queued + running), running, workers. */
  readonly status: readonly { function: string; total: number; running: number; workers: number }[];
  /** Per function name, counters since the start. */
  readonly counters: ReadonlyMap<string, Readonly<FunctionCounters>>;
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
  /** Status rows and counters for monitoring (a copy; cheap enough for every scrape). */
  metrics(): EmbeddedServerMetrics;
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

class ServerImpl implements EmbeddedServer, HandlerContext, PeerHost {
  readonly options: ResolvedServerOptions;
  readonly faults: ServerFaults;
  readonly queues: JobQueues;
  readonly input: PacketHandlers;
  readonly version = SERVER_VERSION;
  readonly verbose = "ERROR";
  readonly counters = new ServerCounters();
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
    this.queues = new JobQueues(options.handlePrefix, options.workerWakeup, options.firstHandle);
    this.input = new PacketHandlers(this);
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
      const tls = this.options.tls;
      const accept = (socket: Socket<Peer>): void => {
        socket.setNoDelay(true);
        socket.setKeepAlive(true, self.options.keepAliveDelay);
        const peer = new Peer(self.nextPeerId++, socket, self);
        self.counters.connections++;
        socket.data = peer;
        self.peers.set(peer.id, peer);
      };
      this.listener = Bun.listen<Peer>({
        hostname: this.options.host,
        port: this.options.port,
        ...(tls === null ? {} : { tls: { ...tls, requestCert: tls.ca !== undefined, rejectUnauthorized: true } }),
        socket: {
          binaryType: "uint8array",
          open(socket) {
            // Over TLS a connection is a peer once its handshake passes: nothing before is answered.
            if (tls === null) accept(socket);
          },
          handshake(socket, success, error) {
            // Without a CA no client certificate is asked for, and Bun's "no issuer" report is moot.
            if (success && (error === null || tls?.ca === undefined)) {
              accept(socket);
              return;
            }
            const reason = describePeerTlsFailure(error);
            self.options.log(`TLS handshake refused from ${socket.remoteAddress}:${socket.remotePort}: ${reason}`);
            socket.terminate();
          },
          data(socket, chunk) {
            socket.data?.receive(chunk);
          },
          drain(socket) {
            socket.data?.flush();
          },
          close(socket) {
            socket.data?.lost();
          },
          error(socket) {
            // A socket error, or one of these handlers threw: that connection goes, the server stays.
            socket.data?.drop();
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
    for (const p of this.peers.values()) pending += p.pendingOutput;
    return { connections: this.peers.size, jobs: this.queues.jobs.size, pendingOutput: pending };
  }

  metrics(): EmbeddedServerMetrics {
    const status = [...this.queues.functions.values()].map((f) => ({
      function: f.name,
      total: f.total,
      running: f.running,
      workers: f.workers.length,
    }));
    const counters = new Map([...this.counters.functions].map(([name, c]) => [name, { ...c }]));
    return { ...this.stats(), version: this.version, connectionsTotal: this.counters.connections, status, counters };
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
        this.closed(peer);
      }
      this.store?.close();
      this.store = null;
    })();
    return this.stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  connections(): Iterable<{ id: number; ip: string; clientId: string; functions: string[] }> {
    return [...this.peers.values()].map((p) => ({
      id: p.id,
      ip: p.ip,
      clientId: p.clientId,
      functions: [...p.abilities.keys()].map((f) => f.name),
    }));
  }

  /** A connection is gone: its abilities go, the jobs it held are taken back, its submits detached. */
  closed(peer: Peer): void {
    if (!this.peers.has(peer.id)) return;
    this.peers.delete(peer.id);
    peer.release();
    this.queues.resetAbilities(peer);
    // On stop() the jobs stay as they are (durable ones in the store): no retry is counted.
    if (!this.stopped) for (const job of [...peer.jobsInHand]) this.takeBack(job);
    this.queues.detachClient(peer);
  }

  // --- the end of a job ------------------------------------------------------------------------

  persist(job: Job): void {
    if (!job.background || this.store === null) return;
    const { handle, unique, priority, reducer, when, data } = job;
    this.store.add({ handle, fn: job.fn.name, unique, priority, reducer, when, data });
    job.stored = true;
  }

  end(job: Job): void {
    this.unstore(job);
    this.queues.finish(job);
  }

  takeBack(job: Job): void {
    if (this.queues.requeue(job, this.options.jobRetries) === "failed") {
      this.counters.ended(job.fn.name, "fail");
      this.failClients(job);
      this.end(job);
    }
  }

  /** Admin `cancel job`: attached clients get WORK_FAIL; the job will not run. */
  cancel(job: Job): void {
    this.failClients(job);
    this.unstore(job);
    this.queues.ignore(job);
  }

  /** WORK_FAIL to every client attached to a job that ends without a result. */
  private failClients(job: Job): void {
    if (job.clients.length === 0) return;
    const fail = encodePacket(PacketType.WORK_FAIL, [latin1Bytes(job.handle)], RES_MAGIC);
    for (const c of job.clients) c.send(fail);
  }

  private unstore(job: Job): void {
    if (job.stored && this.store !== null) {
      job.stored = false;
      this.store.remove(job.handle);
    }
  }

  // --- epoch jobs and the durable store ---------------------------------------------------------

  armEpochTimer(): void {
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

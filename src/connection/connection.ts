/**
 * One connection to one job server over `Bun.connect`, with explicit state:
 *
 *   idle → connecting → ready → reconnecting → connecting → ready … → closed
 *
 * Every transition is reported as a typed event through `handlers.event`, in the order described
 * with ConnectionEvent (types.ts). One dial is in flight at most (dial.ts). Writes go through a
 * WriteQueue (coalesced, partial-write safe). One timer serves the connect timeout and the
 * heartbeat (heartbeat.ts: liveness is the application's job, never TCP keepalive's), and a busy
 * event loop on our side is never taken for a silent server. Over TLS the socket counts as open
 * once the handshake has ended and the server's certificate passed (tls.ts).
 */
import { ConnectionError, type GearmanError, ProtocolError } from "../errors.ts";
import { PacketDecoder } from "../protocol/decode.ts";
import { encodedLength, encodeInto, encodePacket, type Arg } from "../protocol/encode.ts";
import { MAX_PACKET_TYPE, PacketType, RES_MAGIC, type Packet } from "../protocol/packets.ts";
import type { ServerAddress } from "./servers.ts";
import { closedDuringConnect, SYSTEM_TLS, tlsFailed } from "./tls.ts";
import { dialSocket, type Sock } from "./dial.ts";
import type { ConnectionConfig, ConnectionEvent, ConnectionHandlers, ConnectionState } from "./types.ts";
import { WriteQueue } from "../util/write-queue.ts";
import { ConnectionClock, HEARTBEAT_PACKET, heartbeatTimeout, isHeartbeat } from "./heartbeat.ts";

export type { ConnectionConfig, ConnectionEvent, ConnectionHandlers, ConnectionState } from "./types.ts";

const HANDSHAKE_PAYLOAD = "gearbun-hello";
const HANDSHAKE_PACKET = encodePacket(PacketType.ECHO_REQ, [HANDSHAKE_PAYLOAD]);
const utf8 = new TextDecoder();

export class Connection {
  readonly server: ServerAddress;
  private readonly config: ConnectionConfig;
  private readonly handlers: ConnectionHandlers;
  private readonly decoder: PacketDecoder;
  private readonly queue: WriteQueue;

  private _state: ConnectionState = "idle";
  private socket: Sock | null = null;
  /** Incremented per dial; events from an older socket are ignored. */
  private generation = 0;
  /** Dials since the last ready. */
  private attempt = 0;
  /** Retries scheduled since the last ready (what the reconnect policy is given). */
  private retries = 0;
  private handshaking = false;
  /** The one timer: the connect timeout while connecting, the heartbeat while ready (heartbeat.ts). */
  private readonly clock: ConnectionClock;
  /** `performance.now()` of the last data chunk (0: none yet). */
  private dataAt = 0;
  /** The TLS handshake of the current dial has ended (and the server's certificate passed). */
  private tlsSecured = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private firstConnect: PromiseWithResolvers<void> | null = null;
  private closing: PromiseWithResolvers<void> | null = null;
  /** The error that ends the current socket, set before we close it ourselves. */
  private pendingError: GearmanError | null = null;

  /** Successful connects so far (1 after the first). */
  connects = 0;
  /** Heartbeat ECHO_REQs sent so far. */
  heartbeats = 0;
  /** Packets received and written (queued), indexed by packet type, over every session. */
  readonly packetsReceived = new Uint32Array(MAX_PACKET_TYPE + 1);
  readonly packetsSent = new Uint32Array(MAX_PACKET_TYPE + 1);

  constructor(server: ServerAddress, config: ConnectionConfig, handlers: ConnectionHandlers) {
    this.server = server;
    this.config = config;
    this.handlers = handlers;
    this.queue = new WriteQueue(config.highWaterMark);
    this.clock = new ConnectionClock(config, () => this.dataAt, {
      connectExpired: () => {
        if (this._state !== "connecting") return;
        // TCP (and TLS) up but the probe unanswered is a silent server, not an unreachable one.
        const why = this.handshaking
          ? `connected, but no answer to the connect probe (ECHO_REQ) within ${config.connectTimeout} ms`
          : `connect timed out after ${config.connectTimeout} ms`;
        this.dialFailed(this.generation, new ConnectionError("CONNECT_TIMEOUT", why, { server: this.server.key }));
      },
      ping: () => {
        if (this._state !== "ready") return;
        this.heartbeats++;
        this.packetsSent[PacketType.ECHO_REQ]!++;
        this.queue.push(HEARTBEAT_PACKET);
      },
      silent: (silentMs) => {
        if (this._state !== "ready") return;
        this.pendingError = heartbeatTimeout(this.server.key, silentMs, config);
        this.socket?.terminate();
      },
    });
    this.decoder = new PacketDecoder(
      {
        packet: (p) => this.onPacket(p),
        // Not while the connect probe is out: its answer must reach onPacket.
        body:
          handlers.body === undefined
            ? undefined
            : (type, buf, from, to) => {
                if (this.handshaking || !this.handlers.body!(type, buf, from, to)) return false;
                this.packetsReceived[type]!++;
                return true;
              },
        text: (line) => this.handlers.text?.(line),
        error: (e) => this.onProtocolError(e),
      },
      {
        magic: RES_MAGIC,
        maxPacketSize: config.maxPacketSize,
        allowText: config.allowText ?? false,
        server: server.key,
      },
    );
  }

  get state(): ConnectionState {
    return this._state;
  }

  get isReady(): boolean {
    return this._state === "ready";
  }

  /** Largest packet body this connection accepts, and may send (`maxPacketSize`). */
  get maxPacketSize(): number {
    return this.config.maxPacketSize;
  }

  /** Time data was last received, ms since epoch (0: never). */
  get lastSeenAt(): number {
    return this.dataAt === 0 ? 0 : Math.round(performance.timeOrigin + this.dataAt);
  }

  /** `performance.now()` when data was last received (0: never): for deadlines of the owner. */
  get lastDataAt(): number {
    return this.dataAt;
  }

  /** Bytes written by us and not yet taken by the kernel. */
  get pendingBytes(): number {
    return this.queue.pending;
  }

  /**
   * Starts dialling. Resolves at the first `ready`; rejects with the first dial's error, while
   * the connection keeps retrying in the background per the reconnect policy (until `close()`).
   */
  connect(): Promise<void> {
    if (this._state === "ready") return Promise.resolve();
    if (this._state === "closed") {
      return Promise.reject(new ConnectionError("CLOSED", "connection is closed", { server: this.server.key }));
    }
    if (this.firstConnect === null) {
      this.firstConnect = Promise.withResolvers<void>();
      // Nobody may be listening for the rejection (background retries go on).
      this.firstConnect.promise.catch(() => {});
      if (this._state === "idle") this.dial();
    }
    return this.firstConnect.promise;
  }

  /** Queues bytes for the server; throws ConnectionError when not ready. */
  write(bytes: Uint8Array): void {
    if (this._state !== "ready") throw this.notReadyError();
    // One packet per call (text lines start with a letter); its type's low byte is at offset 7.
    if (bytes[0] === 0 && bytes[4] === 0 && bytes[5] === 0 && bytes[6] === 0) this.packetsSent[bytes[7]!]!++;
    this.queue.push(bytes);
  }

  /** Encodes and queues one request packet. */
  send(type: number, ...args: Arg[]): void {
    this.writePacket(type, args);
  }

  /** Encodes one request packet straight into the write queue (no buffer of its own). */
  writePacket(type: number, args: readonly Arg[]): void {
    if (this._state !== "ready") throw this.notReadyError();
    const size = encodedLength(args);
    const queue = this.queue;
    const at = queue.reserve(size);
    try {
      encodeInto(queue.reserved, at, type, args);
    } catch (error) {
      queue.unreserve(at, size); // a bad argument: nothing half-written goes out
      throw error;
    }
    this.packetsSent[type]!++;
  }

  /** Queues an admin text command (a line end is added). */
  sendText(line: string): void {
    this.write(Buffer.from(`${line}\n`, "utf8"));
  }

  /** Resolves when queued bytes fall to the high-water mark; rejects if the socket is lost. */
  writable(): Promise<void> {
    return this.queue.writable();
  }

  /** Resolves when everything queued has been handed to the kernel. */
  drained(): Promise<void> {
    return this.queue.writable(0);
  }

  /**
   * Closes for good: stops reconnecting, flushes what is queued (bounded by connectTimeout),
   * then ends the socket. Resolves after the `closed` event.
   */
  async close(): Promise<void> {
    if (this._state === "closed") return;
    if (this.closing) return this.closing.promise;
    this.closing = Promise.withResolvers<void>();
    this.clearTimers();
    const socket = this.socket;
    if (socket !== null && this._state === "ready" && this.queue.pending > 0) {
      this.queue.flush();
      // A cleared timer rather than Bun.sleep: a pending sleep would keep the process alive for
      // connectTimeout after the flush finished.
      let limit: ReturnType<typeof setTimeout> | undefined;
      const expired = new Promise<void>((resolve) => (limit = setTimeout(resolve, this.config.connectTimeout)));
      await Promise.race([this.queue.writable(0).catch(() => {}), expired]);
      clearTimeout(limit);
    }
    if (this.socket !== null) {
      this.pendingError = new ConnectionError("CLOSED", "connection closed", { server: this.server.key });
      this.socket.end();
      // The close handler finishes; guard against a socket that never reports close.
      const timer = setTimeout(() => this.finishClose(), 1000);
      await this.closing.promise;
      clearTimeout(timer);
      return;
    }
    this.finishClose();
  }

  private notReadyError(): ConnectionError {
    return this._state === "closed"
      ? new ConnectionError("CLOSED", "connection is closed", { server: this.server.key })
      : new ConnectionError("NOT_CONNECTED", `not connected (state ${this._state})`, { server: this.server.key });
  }

  private emit(event: ConnectionEvent): void {
    this.handlers.event?.(event);
  }

  private dial(): void {
    const generation = ++this.generation;
    this.attempt++;
    this._state = "connecting";
    this.decoder.reset();
    this.pendingError = null; // an error from an earlier socket must not explain this one's loss
    this.emit({ type: "connecting", server: this.server.key, attempt: this.attempt });
    this.clock.dialing();

    const tls = this.server.tls === true ? (this.config.tls ?? SYSTEM_TLS) : null;
    this.tlsSecured = false;
    const current = (): boolean => generation === this.generation;
    dialSocket(this.server, tls, {
      opened: (socket) => {
        if (!current()) socket.terminate();
        else if (tls === null) this.socketOpened(socket); // over TLS, wait for the handshake
      },
      secured: (socket, error) => {
        if (!current() || tls === null) return;
        if (error !== null && tls.rejectUnauthorized) {
          this.dialFailed(generation, tlsFailed(this.server.key, tls.servername ?? this.server.host, error));
          socket.terminate(); // after: its close event must find this dial already failed
          return;
        }
        this.tlsSecured = true;
        this.socketOpened(socket);
      },
      data: (data) => {
        if (!current()) return;
        this.dataAt = performance.now();
        this.decoder.push(data);
      },
      drain: () => {
        if (current()) this.queue.flush();
      },
      closed: (error) => {
        if (current()) this.socketClosed(generation, error);
      },
      error: (error) => {
        if (!current()) return;
        this.pendingError ??=
          tls !== null && this._state === "connecting"
            ? tlsFailed(this.server.key, tls.servername ?? this.server.host, error)
            : new ConnectionError("CONNECTION_LOST", `socket error: ${error.message}`, {
                server: this.server.key,
                cause: error,
              });
      },
      failed: (error) => {
        if (!current()) return;
        const message = error instanceof Error ? error.message : String(error);
        this.dialFailed(
          generation,
          new ConnectionError("CONNECT_FAILED", `cannot connect: ${message}`, {
            server: this.server.key,
            cause: error,
          }),
        );
      },
    });
  }

  private socketOpened(socket: Sock): void {
    this.socket = socket;
    this.clock.opened(); // progress too: a connect deadline must not overlook it
    socket.setNoDelay(true);
    if (this.config.keepAlive) socket.setKeepAlive(true, this.config.keepAliveDelay);
    this.queue.attach(socket);
    if (this.config.handshake) {
      this.handshaking = true;
      this.packetsSent[PacketType.ECHO_REQ]!++;
      socket.write(HANDSHAKE_PACKET);
    } else {
      this.becomeReady();
    }
  }

  private becomeReady(): void {
    this.handshaking = false;
    this._state = "ready";
    this.attempt = 0;
    this.retries = 0;
    this.connects++;
    this.clock.ready();
    this.emit({ type: "ready", server: this.server.key });
    const first = this.firstConnect;
    if (first && this._state === "ready") {
      this.firstConnect = null;
      first.resolve();
    }
  }

  private onPacket(packet: Packet): void {
    this.packetsReceived[packet.type]!++; // the decoder passes known types only
    if (this.handshaking) {
      if (packet.type === PacketType.ECHO_RES && utf8.decode(packet.args[0]!) === HANDSHAKE_PAYLOAD) {
        this.becomeReady();
      } else {
        this.onProtocolError(
          new ProtocolError(
            "UNEXPECTED_PACKET",
            `expected ECHO_RES to the connect probe, got packet type ${packet.type}`,
            {
              packetType: packet.type,
              server: this.server.key,
            },
          ),
        );
      }
      return;
    }
    if (packet.type === PacketType.ECHO_RES && isHeartbeat(packet.args[0]!)) return;
    this.handlers.packet(packet);
  }

  /** A garbled stream cannot be resynchronised: drop the socket and reconnect. */
  private onProtocolError(error: ProtocolError): void {
    this.pendingError = error;
    this.socket?.terminate();
  }

  private dialFailed(generation: number, error: GearmanError): void {
    if (generation !== this.generation || this._state === "closed") return;
    this.generation++; // ignore anything more from this dial
    this.clock.stop();
    const socket = this.socket;
    this.socket = null;
    this.handshaking = false;
    this.queue.detach(error);
    socket?.terminate();
    this.emit({ type: "disconnected", server: this.server.key, error, wasReady: false });
    const first = this.firstConnect;
    if (first) {
      this.firstConnect = null;
      first.reject(error);
    }
    this.scheduleRetry();
  }

  private socketClosed(generation: number, cause: Error | undefined): void {
    if (this.closing) {
      this.finishClose();
      return;
    }
    if (this._state === "connecting") {
      this.dialFailed(
        generation,
        this.pendingError ?? closedDuringConnect(this.server, this.config.tls ?? null, this.tlsSecured, cause),
      );
      this.pendingError = null;
      return;
    }
    this.generation++;
    this.socket = null;
    this.clock.stop();
    const error =
      this.pendingError ??
      new ConnectionError("CONNECTION_LOST", "connection lost", { server: this.server.key, cause });
    this.pendingError = null;
    this.queue.detach(error);
    this.emit({ type: "disconnected", server: this.server.key, error, wasReady: this._state === "ready" });
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this._state === "closed" || this.closing) return;
    const attempt = ++this.retries;
    const delay = this.config.reconnect(attempt);
    if (delay === null) {
      this.finishClose();
      return;
    }
    this._state = "reconnecting";
    this.emit({ type: "reconnecting", server: this.server.key, attempt, delay });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this._state === "reconnecting") this.dial();
    }, delay);
  }

  private clearTimers(): void {
    this.clock.stop();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private finishClose(): void {
    if (this._state === "closed") return;
    this.clearTimers();
    this.generation++;
    const error = new ConnectionError("CLOSED", "connection closed", { server: this.server.key });
    this.queue.detach(error);
    this.socket?.terminate();
    this.socket = null;
    this._state = "closed";
    const first = this.firstConnect;
    this.firstConnect = null;
    first?.reject(error);
    this.emit({ type: "closed", server: this.server.key });
    this.closing?.resolve();
  }
}

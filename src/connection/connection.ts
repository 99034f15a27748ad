/**
 * One connection to one job server over `Bun.connect`, with explicit state:
 *
 *   idle → connecting → ready → reconnecting → connecting → ready … → closed
 *
 * Every transition is reported as a typed event, in this order, through `handlers.event`:
 * - `connecting` (attempt n) when a dial starts; n counts dials since the last `ready` (from 1);
 * - `ready` once the socket is open (and, with `handshake`, the server echoed our probe);
 * - `disconnected` (error, wasReady) when a dial fails or a ready socket is lost;
 * - `reconnecting` (attempt, delay) when the reconnect policy schedules the next dial; attempt
 *   is the retry number since the last `ready` (1 for the first), the number the policy gets;
 * - `closed` once, after `close()` or when the policy gives up.
 *
 * So a lost connection reads: disconnected, reconnecting#1, connecting#1, [disconnected,
 * reconnecting#2, connecting#2, …] ready; a failed first dial: connecting#1, disconnected,
 * reconnecting#1, connecting#2 …
 *
 * One dial is in flight at most. Writes go through a WriteQueue (coalesced, partial-write safe).
 *
 * Liveness is checked by the application, not by TCP: keepalive probes only start after the idle
 * time, repeat for minutes, and never run while sent data is unacknowledged, so a server behind a
 * partition, a dead host or a frozen VM would hold the connection for a quarter of an hour. After
 * `heartbeatInterval` ms without a byte from the server, an ECHO_REQ goes through the write queue
 * (never inside another packet); if nothing at all arrives within `heartbeatTimeout` ms of it, the
 * socket is destroyed and `disconnected` reports a ConnectionError HEARTBEAT_TIMEOUT, then the
 * reconnect policy redials. Any received byte counts as life, so a busy connection never pings.
 * One timer per connection serves the connect timeout and the heartbeat; it is a Deadline, so a
 * busy event loop on our side is never taken for a silent server.
 *
 * Over TLS (a server marked `tls`), the socket counts as open once the TLS handshake has ended
 * and the server's certificate passed; a failed handshake is a ConnectionError TLS_FAILED whose
 * message says why in words (tls.ts).
 */
import type { Socket } from "bun";
import { ConnectionError, type GearmanError, ProtocolError } from "../errors.ts";
import { PacketDecoder } from "../protocol/decode.ts";
import { encodedLength, encodeInto, encodePacket, type Arg } from "../protocol/encode.ts";
import { MAX_PACKET_TYPE, PacketType, RES_MAGIC, type Packet } from "../protocol/packets.ts";
import type { ReconnectPolicy } from "./reconnect.ts";
import type { ServerAddress } from "./servers.ts";
import { Deadline } from "../util/deadline.ts";
import { connectTlsOptions, SYSTEM_TLS, type TlsSettings, tlsClosedAfterHandshake, tlsFailed } from "./tls.ts";
import { WriteQueue } from "../util/write-queue.ts";

export type ConnectionState = "idle" | "connecting" | "ready" | "reconnecting" | "closed";

export type ConnectionEvent =
  | { readonly type: "connecting"; readonly server: string; readonly attempt: number }
  | { readonly type: "ready"; readonly server: string }
  | {
      readonly type: "disconnected";
      readonly server: string;
      readonly error: GearmanError;
      /** True when the connection was ready (a lost connection), false for a failed dial. */
      readonly wasReady: boolean;
    }
  | { readonly type: "reconnecting"; readonly server: string; readonly attempt: number; readonly delay: number }
  | { readonly type: "closed"; readonly server: string };

export interface ConnectionHandlers {
  /** A packet from the server (argument views; copy what you keep). */
  packet(packet: Packet): void;
  /** An admin text line, with `allowText`. */
  text?(line: string): void;
  /** State transitions. On `ready` the owner sends its handshake (CAN_DO, OPTION_REQ…). */
  event?(event: ConnectionEvent): void;
}

/** Resolved connection settings (see options.ts for defaults). */
export interface ConnectionConfig {
  readonly connectTimeout: number;
  readonly keepAlive: boolean;
  readonly keepAliveDelay: number;
  /** Idle ms before a heartbeat ECHO_REQ is sent; 0: no heartbeat. */
  readonly heartbeatInterval: number;
  /** Ms a heartbeat may go unanswered (nothing received at all) before the connection is dropped. */
  readonly heartbeatTimeout: number;
  readonly reconnect: ReconnectPolicy;
  readonly maxPacketSize: number;
  readonly highWaterMark: number;
  /** Wait for an ECHO round trip before `ready`: proves a live Gearman server answers. */
  readonly handshake: boolean;
  readonly allowText?: boolean;
  /** TLS settings for servers marked `tls` (default: Bun's trust store, verified). */
  readonly tls?: TlsSettings | null;
}

const HANDSHAKE_PAYLOAD = "gearbun-hello";
const HANDSHAKE_PACKET = encodePacket(PacketType.ECHO_REQ, [HANDSHAKE_PAYLOAD]);
const HEARTBEAT_PAYLOAD = "gearbun-heartbeat";
const HEARTBEAT_PACKET = encodePacket(PacketType.ECHO_REQ, [HEARTBEAT_PAYLOAD]);
const utf8 = new TextDecoder();

/** What the connection's one timer is waiting for. */
type TimerPhase = "connect" | "idle" | "ping";

type Sock = Socket<undefined>;

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
  /** The connect timeout while connecting; the heartbeat while ready. */
  private readonly timer: Deadline;
  private phase: TimerPhase = "connect";
  /** `performance.now()` times: the last data chunk, the last socket open, the last `ready`, the outstanding ping. */
  private dataAt = 0;
  private openedAt = 0;
  private readyAt = 0;
  private pingAt = 0;
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
    this.timer = new Deadline(
      () => Math.max(this.dataAt, this.openedAt),
      (arrivedLate) => this.onTimer(arrivedLate),
    );
    this.decoder = new PacketDecoder(
      {
        packet: (p) => this.onPacket(p),
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
    this.phase = "connect";
    this.timer.start(this.config.connectTimeout);

    const self = this;
    const tls = this.server.tls === true ? (this.config.tls ?? SYSTEM_TLS) : null;
    this.tlsSecured = false;
    Bun.connect({
      hostname: this.server.host,
      port: this.server.port,
      ...(tls === null ? {} : { tls: connectTlsOptions(tls, this.server.host) }),
      socket: {
        binaryType: "uint8array",
        open(socket) {
          if (generation !== self.generation) {
            socket.terminate();
            return;
          }
          // Over TLS, bytes written before the handshake ends are lost: wait for it.
          if (tls === null) self.socketOpened(socket);
        },
        handshake(socket, _authorized, error) {
          if (generation !== self.generation || tls === null) return;
          if (error !== null && tls.rejectUnauthorized) {
            self.dialFailed(generation, tlsFailed(self.server.key, tls.servername ?? self.server.host, error));
            socket.terminate(); // after: its close event must find this dial already failed
            return;
          }
          self.tlsSecured = true;
          self.socketOpened(socket);
        },
        data(_socket, data) {
          if (generation !== self.generation) return;
          self.dataAt = performance.now();
          self.decoder.push(data);
        },
        drain() {
          if (generation === self.generation) self.queue.flush();
        },
        close(_socket, error) {
          if (generation !== self.generation) return;
          self.socketClosed(generation, error);
        },
        error(_socket, error) {
          if (generation !== self.generation) return;
          self.pendingError ??=
            tls !== null && self._state === "connecting"
              ? tlsFailed(self.server.key, tls.servername ?? self.server.host, error)
              : new ConnectionError("CONNECTION_LOST", `socket error: ${error.message}`, {
                  server: self.server.key,
                  cause: error,
                });
        },
        connectError(_socket, error) {
          if (generation !== self.generation) return;
          self.dialFailed(
            generation,
            new ConnectionError("CONNECT_FAILED", `cannot connect: ${error.message}`, {
              server: self.server.key,
              cause: error,
            }),
          );
        },
      },
    }).catch((error: unknown) => {
      if (generation !== this.generation) return;
      const message = error instanceof Error ? error.message : String(error);
      this.dialFailed(
        generation,
        new ConnectionError("CONNECT_FAILED", `cannot connect: ${message}`, { server: this.server.key, cause: error }),
      );
    });
  }

  private socketOpened(socket: Sock): void {
    this.socket = socket;
    this.openedAt = performance.now(); // progress too: a connect deadline must not overlook it
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
    this.timer.stop();
    this._state = "ready";
    this.attempt = 0;
    this.retries = 0;
    this.connects++;
    this.readyAt = performance.now();
    if (this.config.heartbeatInterval > 0) {
      this.phase = "idle";
      this.timer.start(this.config.heartbeatInterval);
    }
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

  /** The one timer ran out: a connect that took too long, an idle connection, or an unanswered ping. */
  private onTimer(arrivedLate: boolean): void {
    if (this.phase === "connect") {
      if (this._state !== "connecting") return;
      // The socket opened or answered while our own loop was busy: the server was on time.
      if (arrivedLate) this.timer.start(this.config.connectTimeout);
      else {
        this.dialFailed(
          this.generation,
          new ConnectionError("CONNECT_TIMEOUT", `connect timed out after ${this.config.connectTimeout} ms`, {
            server: this.server.key,
          }),
        );
      }
      return;
    }
    if (this._state !== "ready") return;
    const { heartbeatInterval: interval, heartbeatTimeout: timeout } = this.config;
    const now = performance.now();
    if (this.phase === "ping") {
      if (this.dataAt > this.pingAt) {
        this.phase = "idle"; // answered (or anything else arrived): count the interval from then
      } else if (now - this.pingAt < timeout) {
        this.timer.start(Math.max(1, timeout - (now - this.pingAt)));
        return;
      } else {
        const silent = Math.round(now - Math.max(this.dataAt, this.readyAt));
        this.pendingError = new ConnectionError(
          "HEARTBEAT_TIMEOUT",
          `server silent for ${silent} ms: nothing received within ${timeout} ms (heartbeatTimeout) of a heartbeat ECHO_REQ sent after ${interval} ms (heartbeatInterval) of silence`,
          { server: this.server.key },
        );
        this.socket?.terminate();
        return;
      }
    }
    const quiet = now - Math.max(this.dataAt, this.readyAt);
    if (quiet < interval) {
      this.timer.start(Math.max(1, interval - quiet));
      return;
    }
    this.phase = "ping";
    this.pingAt = now;
    this.heartbeats++;
    this.packetsSent[PacketType.ECHO_REQ]!++;
    this.queue.push(HEARTBEAT_PACKET);
    // Checked again after one interval as well, so an answered ping is followed by the next one
    // an interval later even when the timeout is longer.
    this.timer.start(Math.min(interval, timeout));
  }

  /** A garbled stream cannot be resynchronised: drop the socket and reconnect. */
  private onProtocolError(error: ProtocolError): void {
    this.pendingError = error;
    this.socket?.terminate();
  }

  private dialFailed(generation: number, error: GearmanError): void {
    if (generation !== this.generation || this._state === "closed") return;
    this.generation++; // ignore anything more from this dial
    this.timer.stop();
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
      this.dialFailed(generation, this.pendingError ?? this.closedDuringConnect(cause));
      this.pendingError = null;
      return;
    }
    this.generation++;
    this.socket = null;
    this.timer.stop();
    const error =
      this.pendingError ??
      new ConnectionError("CONNECTION_LOST", "connection lost", { server: this.server.key, cause });
    this.pendingError = null;
    this.queue.detach(error);
    this.emit({ type: "disconnected", server: this.server.key, error, wasReady: this._state === "ready" });
    this.scheduleRetry();
  }

  private closedDuringConnect(cause: Error | undefined): GearmanError {
    if (this.server.tls === true) {
      return this.tlsSecured
        ? tlsClosedAfterHandshake(this.server.key, (this.config.tls ?? SYSTEM_TLS).cert !== undefined)
        : tlsFailed(this.server.key, this.config.tls?.servername ?? this.server.host, cause);
    }
    return new ConnectionError("CONNECT_FAILED", "server closed the connection during connect", {
      server: this.server.key,
      cause,
    });
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
    this.timer.stop();
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

const HEARTBEAT_BYTES = new TextEncoder().encode(HEARTBEAT_PAYLOAD);

/** True for the payload of our own heartbeat's ECHO_RES (not handed to the owner). */
function isHeartbeat(payload: Uint8Array): boolean {
  if (payload.byteLength !== HEARTBEAT_BYTES.byteLength) return false;
  for (let i = 0; i < payload.byteLength; i++) if (payload[i] !== HEARTBEAT_BYTES[i]) return false;
  return true;
}

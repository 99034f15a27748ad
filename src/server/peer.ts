/**
 * One connection to the embedded server — a client, a worker, an admin session, or all three —
 * and its output: replies go through a WriteQueue, coalesced per tick.
 *
 * Backpressure: a peer whose replies pile up unread (it does not read) has its further requests
 * held undecoded; they are replayed once its output drains. Once its unread replies or its held
 * requests pass `maxPendingOutput`, it is dropped rather than grow without bound. Reading goes on
 * meanwhile, so a peer that hangs up is still noticed (Bun's socket.pause() would hide its FIN).
 */
import type { Socket } from "bun";
import { ConnectionError, type ProtocolError } from "../errors.ts";
import type { ResolvedServerOptions } from "../options.ts";
import { PacketDecoder } from "../protocol/decode.ts";
import { CONSTANT_PACKETS, encodePacket } from "../protocol/encode.ts";
import { type Packet, PacketType, REQ_MAGIC, RES_MAGIC } from "../protocol/packets.ts";
import { WriteQueue } from "../util/write-queue.ts";
import type { FunctionRecord, Job, QueuePeer } from "./records.ts";

/** Unread reply bytes above which a connection's further requests are held until it reads. */
const HOLD_AT = 1024 * 1024;
/** Milliseconds a closed connection may take to acknowledge before it is cut. */
const CLOSE_GRACE = 1000;

/** Where a peer's decoded input goes (the packet handlers). */
export interface PeerInput {
  /** A packet's body before it is split (see DecoderHandlers.body); true when handled. */
  body(peer: Peer, type: number, buf: Uint8Array, from: number, to: number): boolean;
  packet(peer: Peer, packet: Packet): void;
  text(peer: Peer, line: string): void;
  decoderError(peer: Peer, error: ProtocolError): void;
}

/** What a peer needs from its server. */
export interface PeerHost {
  readonly options: ResolvedServerOptions;
  /** "host:port", named in the decoder's and the write queue's errors. */
  readonly address: string;
  readonly input: PeerInput;
  /** The connection is gone: clean up its jobs and abilities. Called after the loop that cut it. */
  closed(peer: Peer): void;
}

export class Peer implements QueuePeer {
  sleeping = false;
  noopSent = false;
  readonly abilities = new Map<FunctionRecord, number>();
  readonly jobsInHand = new Set<Job>();
  readonly attached = new Set<Job>();
  /** Sent OPTION_REQ "exceptions". */
  exceptions = false;
  clientId = "-";
  /** No more input is processed and no more output queued. */
  closed = false;
  readonly ip: string;
  /** Requests received while its replies pile up, not yet decoded. */
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  private holding = false;
  /** The server has cleaned up after it (see `release`). */
  private released = false;
  private readonly out = new WriteQueue(HOLD_AT);
  private readonly decoder: PacketDecoder;

  constructor(
    readonly id: number,
    readonly socket: Socket<Peer>,
    private readonly host: PeerHost,
  ) {
    this.ip = socket.remoteAddress;
    const input = host.input;
    this.decoder = new PacketDecoder(
      {
        body: (type, buf, from, to) => input.body(this, type, buf, from, to),
        packet: (p) => input.packet(this, p),
        text: (line) => input.text(this, line),
        error: (e) => input.decoderError(this, e),
      },
      { magic: REQ_MAGIC, allowText: true, maxPacketSize: host.options.maxPacketSize, server: host.address },
    );
    this.out.attach(socket);
  }

  /** Reply bytes queued and not yet taken by the kernel. */
  get pendingOutput(): number {
    return this.out.pending;
  }

  // --- output ----------------------------------------------------------------------------------

  send(bytes: Uint8Array): void {
    if (this.closed) return;
    if (this.out.pending > this.host.options.maxPendingOutput) {
      // It does not read what it is sent: drop it rather than grow without bound.
      this.drop();
      return;
    }
    this.out.push(bytes);
  }

  reply(type: number, ...args: (Uint8Array | string)[]): void {
    this.send(encodePacket(type, args, RES_MAGIC));
  }

  error(code: string, message: string): void {
    this.reply(PacketType.ERROR, code, message);
  }

  /** A NOOP, unless the test switch withholds it (the caller's flags change all the same). */
  wake(): void {
    if (!this.host.options.faults.withholdNoop) this.send(CONSTANT_PACKETS.NOOP);
  }

  /** The socket can take more: write what is queued. */
  flush(): void {
    this.out.flush();
  }

  // --- input -----------------------------------------------------------------------------------

  /** At most half the drop limit: a peer that stops reading is held well before it is dropped. */
  private get holdAt(): number {
    return Math.min(HOLD_AT, this.host.options.maxPendingOutput / 2);
  }

  /** Decodes a chunk, or holds it while the peer's replies pile up unread. */
  receive(chunk: Uint8Array): void {
    if (this.closed) return;
    if (this.holding || this.out.pending > this.holdAt) {
      this.held.push(chunk);
      this.heldBytes += chunk.byteLength;
      if (this.heldBytes > this.host.options.maxPendingOutput) {
        this.drop();
        return;
      }
      if (!this.holding) this.hold();
      return;
    }
    this.decoder.push(chunk);
  }

  private hold(): void {
    this.holding = true;
    this.out.writable(this.holdAt / 2).then(
      () => {
        this.holding = false;
        // Replay what was held, until replies pile up again.
        while (this.held.length > 0 && !this.closed) {
          if (this.out.pending > this.holdAt) {
            this.hold();
            return;
          }
          const chunk = this.held.shift()!;
          this.heldBytes -= chunk.byteLength;
          this.decoder.push(chunk);
        }
      },
      // Rejected by `release`: the peer is gone and its held input with it.
      () => {},
    );
  }

  // --- closing ---------------------------------------------------------------------------------

  /** The socket closed (either side): the server cleans up once the current loop is done. */
  lost(): void {
    this.closed = true;
    // Bun closes sockets synchronously inside terminate() and end(): clean up after whatever
    // loop caused it (a fan-out of NOOPs or results) is done.
    queueMicrotask(() => this.host.closed(this));
  }

  /** Cuts the connection; its jobs and abilities are cleaned up once the current loop is done. */
  drop(): void {
    this.closed = true;
    this.socket.terminate();
    queueMicrotask(() => this.host.closed(this));
  }

  /** Sends what is queued, then closes (after an ERROR); a peer that does not close its side goes anyway. */
  closeAfterFlush(): void {
    this.out.flush();
    this.closed = true;
    this.socket.end();
    setTimeout(() => {
      if (!this.released) this.drop();
    }, CLOSE_GRACE).unref();
  }

  /** The server's cleanup: held input and queued output are discarded. */
  release(): void {
    this.closed = true;
    this.released = true;
    this.held = [];
    this.heldBytes = 0;
    this.out.detach(new ConnectionError("CLOSED", "connection closed", { server: this.host.address }));
  }
}

/**
 * Streaming packet decoder. Pure: it is fed byte chunks and calls back with packets; it never
 * sees a socket.
 *
 * Zero-copy: a packet whose body lies whole inside one pushed chunk is emitted with arguments
 * that are `subarray` views of that chunk. Only a body that spans chunks is assembled, by one
 * copy into a buffer of its exact size once its last byte has arrived; until then the decoder
 * holds views of the pieces, so memory follows the bytes received, not the size a header
 * announces. The header is never read before its 12 bytes have arrived.
 *
 * Bad input produces one ProtocolError (code, packet type, stream offset) through `error`; the
 * decoder then refuses input until `reset()`. It throws nothing itself.
 */
import { ProtocolError } from "../errors.ts";
import { HEADER_SIZE, PACKETS, PacketType, REQ_MAGIC, RES_MAGIC, packetName, type Packet } from "./packets.ts";
import { findNul } from "./read.ts";

export interface DecoderHandlers {
  /** A whole packet. Its argument views are valid as long as the caller keeps them. */
  packet(packet: Packet): void;
  /**
   * Optional, tried first for every packet that has arguments: its body is `buf[from, to)` (valid
   * only during the call). Returning true means the packet was handled from the bytes and no
   * `packet` call follows; false hands it to `packet` as usual (and malformed bodies to `error`).
   * For a hot path that reads its few arguments without a view per argument.
   */
  body?(type: number, buf: Uint8Array, from: number, to: number): boolean;
  /** An admin text line (without its line end); only with `allowText`. */
  text?(line: string): void;
  /** The first protocol error; no more callbacks follow until `reset()`. */
  error(error: ProtocolError): void;
}

export interface DecoderOptions {
  /** Magic the peer must send: REQ_MAGIC on a server, RES_MAGIC on a client or worker. */
  magic: number;
  /**
   * Largest packet body accepted, in bytes.
   * @default 64 MiB
   */
  maxPacketSize?: number;
  /** Accept admin text lines (a first byte that is not NUL). @default false */
  allowText?: boolean;
  /** Longest admin text line, in bytes. @default 8192 */
  maxLineLength?: number;
  /** `host:port` of the peer, for error messages. */
  server?: string;
}

export const DEFAULT_MAX_PACKET_SIZE = 64 * 1024 * 1024;
export const DEFAULT_MAX_LINE_LENGTH = 8192;

const NUL = 0;
const LF = 10;
const utf8 = new TextDecoder("utf-8");
/** The arguments of every packet without any (shared, frozen). */
const NO_ARGS: Uint8Array[] = Object.freeze([]) as unknown as Uint8Array[];
/** One frozen packet per argument-less type (NOOP, NO_JOB…), shared: nothing to allocate per packet. */
const BARE: (Packet | undefined)[] = [];
function barePacket(type: number): Packet {
  let p = BARE[type];
  if (p === undefined) {
    p = Object.freeze({ type, args: NO_ARGS });
    BARE[type] = p;
  }
  return p;
}

function readU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

const magicName = (m: number): string =>
  m === REQ_MAGIC ? "\\0REQ" : m === RES_MAGIC ? "\\0RES" : `0x${m.toString(16).padStart(8, "0")}`;

export class PacketDecoder {
  private readonly handlers: DecoderHandlers;
  private readonly magic: number;
  private readonly maxPacketSize: number;
  private readonly allowText: boolean;
  private readonly maxLineLength: number;
  private readonly server: string | undefined;

  /** Header bytes of a packet whose header spans chunks. */
  private readonly headerBuf = new Uint8Array(HEADER_SIZE);
  /** Bytes of the spanning packet received so far, header included (0: none pending). */
  private have = 0;
  /** Type and body size of the spanning packet; spanSize is -1 while its header is incomplete. */
  private spanType = 0;
  private spanSize = -1;
  /** Views of the spanning packet's body pieces (received chunks are not reused by Bun). */
  private pieces: Uint8Array[] = [];
  private spanStart = 0;
  /** Pieces of an admin line that spans chunks. */
  private lineParts: Uint8Array[] = [];
  private lineLength = 0;
  private inLine = false;
  /** Stream offset of the next chunk's first byte. */
  private position = 0;
  private failed = false;

  constructor(handlers: DecoderHandlers, options: DecoderOptions) {
    this.handlers = handlers;
    this.magic = options.magic;
    this.maxPacketSize = options.maxPacketSize ?? DEFAULT_MAX_PACKET_SIZE;
    this.allowText = options.allowText ?? false;
    this.maxLineLength = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    this.server = options.server;
  }

  /** True once a protocol error was reported; push() refuses input until reset(). */
  get isFailed(): boolean {
    return this.failed;
  }

  /** Bytes held for a packet or line that has not arrived whole. */
  get buffered(): number {
    return this.have + this.lineLength;
  }

  /** Forgets any partial packet and a previous failure (for a new connection). */
  reset(): void {
    this.clearSpan();
    this.lineParts = [];
    this.lineLength = 0;
    this.inLine = false;
    this.position = 0;
    this.failed = false;
  }

  /**
   * Feeds received bytes. Returns false when the decoder has failed (now or before).
   * The decoder keeps and emits views of `chunk`: never overwrite a chunk after pushing it.
   */
  push(chunk: Uint8Array): boolean {
    if (this.failed) return false;
    const len = chunk.length;
    let off = 0;

    if (this.inLine) {
      off = this.continueLine(chunk);
      if (off < 0) return this.finishChunk(len);
    } else if (this.have > 0) {
      off = this.continuePacket(chunk);
      if (off < 0) return this.finishChunk(len);
    }

    while (off < len && !this.failed) {
      if (chunk[off] !== NUL) {
        if (!this.allowText) {
          this.fail(
            "BAD_MAGIC",
            `expected ${magicName(this.magic)} magic, got byte 0x${chunk[off]!.toString(16)}`,
            off,
          );
          break;
        }
        const nl = chunk.indexOf(LF, off);
        if (nl < 0) {
          this.startLine(chunk.subarray(off), this.position + off);
          break;
        }
        if (nl - off > this.maxLineLength) {
          this.fail("LINE_TOO_LONG", `admin line longer than ${this.maxLineLength} bytes`, off);
          break;
        }
        this.emitLine(chunk.subarray(off, nl));
        off = nl + 1;
        continue;
      }
      if (len - off < HEADER_SIZE) {
        this.headerBuf.set(chunk.subarray(off), 0);
        this.have = len - off;
        this.spanStart = this.position + off;
        break;
      }
      const size = this.checkHeader(chunk, off, this.position + off);
      if (size < 0) break;
      const type = readU32(chunk, off + 4);
      const start = off;
      const end = off + HEADER_SIZE + size;
      if (end <= len) {
        off = end;
        this.emit(type, chunk, start + HEADER_SIZE, end, this.position + start);
      } else {
        this.have = len - start;
        this.spanType = type;
        this.spanSize = size;
        if (len > start + HEADER_SIZE) this.pieces.push(chunk.subarray(start + HEADER_SIZE));
        this.spanStart = this.position + start;
        break;
      }
    }
    return this.finishChunk(len);
  }

  private finishChunk(len: number): boolean {
    this.position += len;
    return !this.failed;
  }

  /** Continues a packet that spans chunks; returns the offset after it, or -1 if more is needed. */
  private continuePacket(chunk: Uint8Array): number {
    let off = 0;
    if (this.spanSize < 0) {
      const n = Math.min(HEADER_SIZE - this.have, chunk.length);
      this.headerBuf.set(chunk.subarray(0, n), this.have);
      this.have += n;
      off = n;
      if (this.have < HEADER_SIZE) return -1;
      const size = this.checkHeader(this.headerBuf, 0, this.spanStart);
      if (size < 0) return -1;
      this.spanType = readU32(this.headerBuf, 4);
      this.spanSize = size;
    }
    const total = HEADER_SIZE + this.spanSize;
    const n = Math.min(total - this.have, chunk.length - off);
    if (n > 0) this.pieces.push(chunk.subarray(off, off + n));
    this.have += n;
    off += n;
    if (this.have < total) return -1;
    const body = this.assemble();
    const type = this.spanType;
    this.clearSpan();
    this.emit(type, body, 0, body.length, this.spanStart);
    return this.failed ? -1 : off;
  }

  /** The spanning body: a view when it arrived in one piece, else one copy of the pieces. */
  private assemble(): Uint8Array {
    const pieces = this.pieces;
    if (pieces.length === 1) return pieces[0]!;
    const body = new Uint8Array(this.spanSize);
    let at = 0;
    for (const p of pieces) {
      body.set(p, at);
      at += p.length;
    }
    return body;
  }

  private clearSpan(): void {
    this.have = 0;
    this.spanSize = -1;
    this.pieces = [];
  }

  /** Checks magic, type and size; returns the body size or -1 after reporting the error. */
  private checkHeader(buf: Uint8Array, off: number, streamOffset: number): number {
    const magic = readU32(buf, off);
    const type = readU32(buf, off + 4);
    const size = readU32(buf, off + 8);
    if (magic !== this.magic) {
      this.failAt("BAD_MAGIC", `expected ${magicName(this.magic)} magic, got ${magicName(magic)}`, streamOffset, type);
      return -1;
    }
    if (PACKETS[type] === undefined) {
      this.failAt("UNKNOWN_PACKET", `unknown packet type ${type}`, streamOffset, type);
      return -1;
    }
    if (size > this.maxPacketSize) {
      this.failAt(
        "PACKET_TOO_LARGE",
        `${packetName(type)} body of ${size} bytes exceeds maxPacketSize ${this.maxPacketSize}`,
        streamOffset,
        type,
      );
      return -1;
    }
    return size;
  }

  /**
   * Splits a checked packet's body, `buf[from, to)`, into argument views and hands it on. The
   * arguments are cut straight from `buf`: no view of the whole body is made.
   */
  private emit(type: number, buf: Uint8Array, from: number, to: number, streamOffset: number): void {
    const spec = PACKETS[type]!;
    const count = spec.args;
    if (count === 0) {
      if (to !== from) {
        this.failAt(
          "BAD_ARGUMENTS",
          `${spec.name} takes no arguments but has a ${to - from}-byte body`,
          streamOffset,
          type,
        );
        return;
      }
      this.handlers.packet(barePacket(type));
      return;
    }
    // gearmand sends an exception to a client without the `exceptions` option as WORK_FAIL
    // with a trailing NUL after the handle: accept it as a plain WORK_FAIL.
    if (type === PacketType.WORK_FAIL && to > from && buf[to - 1] === NUL) to--;
    if (this.handlers.body?.(type, buf, from, to)) return;
    const args: Uint8Array[] = new Array(count);
    let start = from;
    for (let i = 0; i < count - 1; i++) {
      const nul = findNul(buf, start, to);
      if (nul < 0) {
        this.failAt("BAD_ARGUMENTS", `${spec.name} needs ${count} arguments, body has ${i + 1}`, streamOffset, type);
        return;
      }
      args[i] = buf.subarray(start, nul);
      start = nul + 1;
    }
    args[count - 1] = buf.subarray(start, to);
    this.handlers.packet({ type, args });
  }

  private startLine(piece: Uint8Array, streamOffset: number): void {
    if (piece.length > this.maxLineLength) {
      this.failAt("LINE_TOO_LONG", `admin line longer than ${this.maxLineLength} bytes`, streamOffset, undefined);
      return;
    }
    this.inLine = true;
    this.spanStart = streamOffset;
    this.lineParts = [piece.slice()];
    this.lineLength = piece.length;
  }

  /** Continues an admin line that spans chunks; returns the offset after it, or -1. */
  private continueLine(chunk: Uint8Array): number {
    const nl = chunk.indexOf(LF);
    const piece = nl < 0 ? chunk : chunk.subarray(0, nl);
    if (this.lineLength + piece.length > this.maxLineLength) {
      this.failAt("LINE_TOO_LONG", `admin line longer than ${this.maxLineLength} bytes`, this.spanStart, undefined);
      return -1;
    }
    this.lineParts.push(nl < 0 ? piece.slice() : piece);
    this.lineLength += piece.length;
    if (nl < 0) return -1;
    const line = new Uint8Array(this.lineLength);
    let at = 0;
    for (const p of this.lineParts) {
      line.set(p, at);
      at += p.length;
    }
    this.inLine = false;
    this.lineParts = [];
    this.lineLength = 0;
    this.emitLine(line);
    return nl + 1;
  }

  private emitLine(bytes: Uint8Array): void {
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === 13) end--; // CR LF
    this.handlers.text?.(utf8.decode(bytes.subarray(0, end)));
  }

  private fail(code: "BAD_MAGIC" | "LINE_TOO_LONG", message: string, off: number): void {
    this.failAt(code, message, this.position + off, undefined);
  }

  private failAt(
    code: "BAD_MAGIC" | "UNKNOWN_PACKET" | "BAD_ARGUMENTS" | "PACKET_TOO_LARGE" | "LINE_TOO_LONG",
    message: string,
    offset: number,
    packetType: number | undefined,
  ): void {
    this.failed = true;
    this.clearSpan();
    this.lineParts = [];
    this.lineLength = 0;
    this.inLine = false;
    const where = packetType === undefined ? `at byte ${offset}` : `in ${packetName(packetType)} at byte ${offset}`;
    this.handlers.error(new ProtocolError(code, `${message} ${where}`, { packetType, offset, server: this.server }));
  }
}

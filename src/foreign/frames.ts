/**
 * The handler protocol's frames (docs/handler-protocol.md): what gearbun and a handler process
 * say to each other over the process's stdin and stdout. Pure: fed byte chunks, it calls back
 * with frames; it never sees a process.
 *
 *   frame = length:u32 big-endian · type:u8 · body      (length counts the type byte and the body)
 *   body  = arguments separated by NUL; the last one is raw bytes and may hold NUL
 *
 * Length-prefixed, so payloads are binary-safe and a reader never scans them. A frame whose
 * bytes lie whole in one pushed chunk is emitted as views of that chunk; only a frame that
 * spans chunks is copied, once, into a buffer of its exact size.
 */
import { HandlerError } from "../errors.ts";

/** The protocol version a handler announces in its HELLO. */
export const PROTOCOL_VERSION = "1";

/** Frame types: one ASCII letter each, so a hex dump reads. */
export const FrameType = {
  /** gearbun → handler: run a job. function, handle, unique, attempt, payload. */
  JOB: 0x4a,
  /** handler → gearbun, once, first: loaded. version, then one argument per function name. */
  HELLO: 0x48,
  /** handler → gearbun, instead of HELLO: the handlers file did not load. text. The process exits. */
  LOAD_FAILED: 0x4c,
  /** handler → gearbun, during a job: progress. numerator, denominator. */
  STATUS: 0x53,
  /** handler → gearbun, during a job: a partial result. bytes. */
  DATA: 0x44,
  /** handler → gearbun, during a job: a warning. bytes. */
  WARNING: 0x57,
  /** handler → gearbun, ends the job: its result. bytes. */
  COMPLETE: 0x43,
  /** handler → gearbun, ends the job: a failure. text (logged; the caller sees WORK_FAIL). */
  FAIL: 0x46,
  /** handler → gearbun, ends the job: an exception. text (the caller sees it). */
  EXCEPTION: 0x45,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** Who sends a frame type, and how many arguments it has (-2: at least two, every NUL splits). */
const SPECS: ReadonlyMap<number, { name: string; from: "gearbun" | "handler"; args: number }> = new Map([
  [FrameType.JOB, { name: "JOB", from: "gearbun", args: 5 }],
  [FrameType.HELLO, { name: "HELLO", from: "handler", args: -2 }],
  [FrameType.LOAD_FAILED, { name: "LOAD_FAILED", from: "handler", args: 1 }],
  [FrameType.STATUS, { name: "STATUS", from: "handler", args: 2 }],
  [FrameType.DATA, { name: "DATA", from: "handler", args: 1 }],
  [FrameType.WARNING, { name: "WARNING", from: "handler", args: 1 }],
  [FrameType.COMPLETE, { name: "COMPLETE", from: "handler", args: 1 }],
  [FrameType.FAIL, { name: "FAIL", from: "handler", args: 1 }],
  [FrameType.EXCEPTION, { name: "EXCEPTION", from: "handler", args: 1 }],
]);

export const frameName = (type: number): string => SPECS.get(type)?.name ?? `0x${type.toString(16).padStart(2, "0")}`;

/** Length and type bytes before a body. */
export const FRAME_HEADER = 5;
/** Largest body accepted: the job server's own packet limit. */
export const MAX_FRAME_BODY = 64 * 1024 * 1024;

export type FrameArg = string | Uint8Array;

const encoder = new TextEncoder();

/** One frame, in one allocation. */
export function encodeFrame(type: FrameType, args: readonly FrameArg[]): Uint8Array {
  const bytes = args.map((a) => (typeof a === "string" ? encoder.encode(a) : a));
  let body = Math.max(0, bytes.length - 1);
  for (const b of bytes) body += b.byteLength;
  const out = new Uint8Array(FRAME_HEADER + body);
  new DataView(out.buffer).setUint32(0, body + 1);
  out[4] = type;
  let at = FRAME_HEADER;
  for (let i = 0; i < bytes.length; i++) {
    if (i > 0) out[at++] = 0;
    out.set(bytes[i]!, at);
    at += bytes[i]!.byteLength;
  }
  return out;
}

export interface FrameHandlers {
  /** A whole frame. Its argument views are valid as long as the caller keeps them. */
  frame(type: FrameType, args: Uint8Array[]): void;
  /** The first bad frame; nothing more is decoded. */
  error(error: HandlerError): void;
}

/** Frames from one side: "handler" decodes what a handler process writes, "gearbun" what it reads. */
export class FrameDecoder {
  private readonly handlers: FrameHandlers;
  private readonly from: "gearbun" | "handler";
  private readonly maxBody: number;
  private readonly head = new Uint8Array(FRAME_HEADER);
  private headHave = 0;
  /** The body of a frame that spans chunks, and how much of it has arrived. */
  private span: Uint8Array | null = null;
  private spanHave = 0;
  private spanType = 0;
  private spanAt = 0;
  private position = 0;
  private failed = false;

  constructor(handlers: FrameHandlers, options: { from: "gearbun" | "handler"; maxBody?: number }) {
    this.handlers = handlers;
    this.from = options.from;
    this.maxBody = options.maxBody ?? MAX_FRAME_BODY;
  }

  get isFailed(): boolean {
    return this.failed;
  }

  /** Bytes held for a frame that has not arrived whole. */
  get buffered(): number {
    return this.headHave + this.spanHave;
  }

  /** Feeds bytes; false once the decoder has failed. Never overwrite a chunk after pushing it. */
  push(chunk: Uint8Array): boolean {
    let off = 0;
    const len = chunk.length;
    while (off < len && !this.failed) {
      if (this.span !== null) {
        const take = Math.min(len - off, this.span.length - this.spanHave);
        this.span.set(chunk.subarray(off, off + take), this.spanHave);
        this.spanHave += take;
        off += take;
        if (this.spanHave === this.span.length) {
          const body = this.span;
          this.span = null;
          this.spanHave = 0;
          this.emit(this.spanType, body, 0, body.length, this.spanAt);
        }
        continue;
      }
      if (this.headHave > 0 || len - off < FRAME_HEADER) {
        const take = Math.min(len - off, FRAME_HEADER - this.headHave);
        this.head.set(chunk.subarray(off, off + take), this.headHave);
        this.headHave += take;
        off += take;
        if (this.headHave < FRAME_HEADER) break;
        this.headHave = 0;
        const at = this.position + off - FRAME_HEADER;
        const size = this.checkHeader(this.head, 0, at);
        if (size < 0) break;
        this.startSpan(this.head[4]!, size, at);
        continue;
      }
      const at = this.position + off;
      const size = this.checkHeader(chunk, off, at);
      if (size < 0) break;
      const type = chunk[off + 4]!;
      const start = off + FRAME_HEADER;
      if (start + size <= len) {
        off = start + size;
        this.emit(type, chunk, start, off, at);
      } else {
        off = start;
        this.startSpan(type, size, at);
      }
    }
    this.position += len;
    return !this.failed;
  }

  private startSpan(type: number, size: number, at: number): void {
    if (size === 0) {
      this.emit(type, this.head, 0, 0, at);
      return;
    }
    this.span = new Uint8Array(size);
    this.spanHave = 0;
    this.spanType = type;
    this.spanAt = at;
  }

  /** The body size of the frame whose header is at `b[o]`, or -1 after reporting it. */
  private checkHeader(b: Uint8Array, o: number, at: number): number {
    const length = ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
    const type = b[o + 4]!;
    const spec = SPECS.get(type);
    if (length === 0) return this.fail(`a frame of length 0 (it counts its type byte) at byte ${at}`);
    if (spec === undefined) return this.fail(`unknown frame type ${frameName(type)} at byte ${at}`);
    if (spec.from !== this.from) return this.fail(`${spec.name} frame sent by the wrong side at byte ${at}`);
    if (length - 1 > this.maxBody) {
      return this.fail(`${spec.name} frame of ${length - 1} bytes at byte ${at}, over the ${this.maxBody}-byte limit`);
    }
    return length - 1;
  }

  private emit(type: number, b: Uint8Array, from: number, to: number, at: number): void {
    const spec = SPECS.get(type)!;
    const args: Uint8Array[] = [];
    let start = from;
    const fixed = spec.args > 0;
    while (!fixed || args.length < spec.args - 1) {
      const nul = b.indexOf(0, start);
      if (nul < 0 || nul >= to) break;
      args.push(b.subarray(start, nul));
      start = nul + 1;
    }
    args.push(b.subarray(start, to));
    const want = fixed ? spec.args : -spec.args;
    if (fixed ? args.length !== want : args.length < want) {
      this.fail(
        `${spec.name} frame at byte ${at} has ${args.length} arguments, expected ${fixed ? "" : "at least "}${want}`,
      );
      return;
    }
    this.handlers.frame(type as FrameType, args);
  }

  private fail(message: string): -1 {
    if (!this.failed) {
      this.failed = true;
      this.span = null;
      this.handlers.error(new HandlerError("HANDLER_PROTOCOL", `bad frame from the ${this.from}: ${message}`));
    }
    return -1;
  }
}

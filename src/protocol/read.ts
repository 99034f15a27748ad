/**
 * Packet arguments read straight from the received bytes, for the hot paths that take a body
 * from the decoder's `body` hook instead of a packet object (no view per argument). Every
 * reader of received bytes outside the decoder uses these: one separator search, one string
 * rule per role, one name cache and one rule for keeping bytes past the call.
 *
 * String rules. The client and the worker read text as UTF-8 (what their users write); the
 * embedded server keeps names, uniques and handles as latin1 strings, one char per byte, so any
 * bytes round-trip and a string's length is its byte count.
 *
 * Keeping bytes (`keepAt`). Received bytes live in the socket's chunk (Bun hands every read a
 * fresh buffer, so a view stays valid). A part of up to `KEEP_COPY_MAX` bytes is copied: a copy
 * costs less than a view's first use (it makes the chunk's ArrayBuffer), and keeps no chunk
 * alive. A larger part is a view, unless it is less than 1/`PIN_RATIO` of its chunk: then it is
 * copied too, so one kept result does not pin a chunk many times its size.
 *
 * Bytes here are Uint8Arrays as the connections receive them (`binaryType: "uint8array"`); a
 * Buffer would not do, its `slice` is a view.
 */
import { PacketType } from "./packets.ts";

/** The bytes of every empty part (shared: it has nothing to write into). */
export const EMPTY: Uint8Array = new Uint8Array(0);

/** Parts up to this size are copied by `keepAt`; larger ones are views (see above). */
export const KEEP_COPY_MAX = 1024;
/** A larger part is copied when its chunk is more than this many times its size. */
export const PIN_RATIO = 8;
/**
 * Up to this many bytes a JS loop beats a native call (measured in Bun on 16–64 byte names):
 * for finding a NUL, copying, and comparing.
 */
const SHORT = 64;
const NUL = 0;

/** The first NUL in `b[from, to)`, or -1. */
export function findNul(b: Uint8Array, from: number, to: number): number {
  const stop = Math.min(to, from + SHORT);
  for (let i = from; i < stop; i++) if (b[i] === NUL) return i;
  if (stop === to) return -1;
  const i = b.indexOf(NUL, stop);
  return i >= 0 && i < to ? i : -1;
}

/** A copy of `b[from, to)` that owns its memory (EMPTY when empty). */
export function copyAt(b: Uint8Array, from: number, to: number): Uint8Array {
  const n = to - from;
  if (n === 0) return EMPTY;
  if (n > SHORT) return b.slice(from, to);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = b[from + i]!;
  return out;
}

/** `b[from, to)` to keep past the call: a copy when small or when a view would pin a much larger chunk, else a view. */
export function keepAt(b: Uint8Array, from: number, to: number): Uint8Array {
  const n = to - from;
  if (n <= KEEP_COPY_MAX || n * PIN_RATIO < b.buffer.byteLength) return copyAt(b, from, to);
  return from === 0 && to === b.byteLength ? b : b.subarray(from, to);
}

/** A received argument (a view) to keep past the call, by the same rule. */
export const keep = (view: Uint8Array): Uint8Array => keepAt(view, 0, view.byteLength);

// --- strings ----------------------------------------------------------------------------------

const utf8 = new TextDecoder();

type Latin1Slice = (this: Uint8Array, start: number, end: number) => string;
const isLatin1Slice = (f: unknown): f is Latin1Slice => typeof f === "function";

/**
 * Bun's native latin1 decoder on Buffer.prototype (Node's too), which works on any Uint8Array
 * range without a Buffer wrapper. It is not in the type declarations: reached by a check, with
 * `Buffer#toString("latin1")` on a wrapper as the fallback should a runtime lack it.
 */
function nativeLatin1Slice(): Latin1Slice | null {
  const proto: object = Buffer.prototype;
  if (!("latin1Slice" in proto)) return null;
  const f = proto.latin1Slice;
  return isLatin1Slice(f) ? f : null;
}
const latin1Slice = nativeLatin1Slice();

/**
 * Client and worker: the UTF-8 text of `b[from, to)`. Short ASCII text (handles, names, numbers)
 * is read by the native latin1 reader, which is the same text for ASCII: one string and no
 * copy (a reply burst of 300,000 JOB_CREATED made a ~80-byte copy per handle; bench/burst.ts).
 * Other text is decoded from a copy rather than a view of part of a chunk.
 */
export function utf8At(b: Uint8Array, from = 0, to = b.byteLength): string {
  if (to === from) return "";
  if (latin1Slice !== null && to - from <= SHORT && isAscii(b, from, to)) return latin1Slice.call(b, from, to);
  return utf8.decode(from === 0 && to === b.byteLength ? b : copyAt(b, from, to));
}

function isAscii(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i]! >= 0x80) return false;
  return true;
}

/** Server: the latin1 string of `b[from, to)` (one char per byte). */
export function latin1At(b: Uint8Array, from = 0, to = b.byteLength): string {
  if (to === from) return "";
  if (latin1Slice !== null) return latin1Slice.call(b, from, to);
  return Buffer.from(b.buffer, b.byteOffset + from, to - from).toString("latin1");
}

/** Server: the bytes of a latin1 string (chars above 255 keep their low byte, as Buffer's latin1 does). */
export function latin1Bytes(s: string): Uint8Array {
  const n = s.length;
  if (n === 0) return EMPTY;
  if (n > SHORT) return Buffer.from(s, "latin1");
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/**
 * The last string read (or remembered), returned again while the same bytes come: a worker runs
 * one function or few, a server takes submits in runs for one function, a client at one job in
 * flight gets results for the handle it was just given. A UTF-8 cache matches ASCII bytes only
 * (a byte above 0x7f is part of a multi-byte char, not a char of the string).
 */
export class NameCache {
  private last = "";
  private readonly latin1: boolean;

  constructor(rule: "utf8" | "latin1") {
    this.latin1 = rule === "latin1";
  }

  /** The string of `b[from, to)` by the cache's rule. */
  get(b: Uint8Array, from: number, to: number): string {
    const last = this.last;
    const n = to - from;
    if (n === last.length) {
      let i = 0;
      if (this.latin1) {
        while (i < n && b[from + i] === last.charCodeAt(i)) i++;
      } else {
        for (; i < n; i++) {
          const c = b[from + i]!;
          if (c >= 0x80 || c !== last.charCodeAt(i)) break;
        }
      }
      if (i === n) return last;
    }
    this.last = this.latin1 ? latin1At(b, from, to) : utf8At(b, from, to);
    return this.last;
  }

  /** Makes `s` the string to match next (a handle just created). */
  remember(s: string): void {
    this.last = s;
  }
}

// --- JOB_ASSIGN* ------------------------------------------------------------------------------

/**
 * One reused record: the last JOB_ASSIGN, JOB_ASSIGN_UNIQ or JOB_ASSIGN_ALL read (worker side,
 * UTF-8). Its parts are kept by `keepAt`.
 */
export class JobAssignment {
  handle = "";
  /** The handle as received, reused for every packet about the job. */
  handleBytes: Uint8Array = EMPTY;
  function = "";
  unique: Uint8Array = EMPTY;
  reducer: Uint8Array = EMPTY;
  payload: Uint8Array = EMPTY;
  private readonly names = new NameCache("utf8");

  /**
   * Reads the body `buf[from, to)` of a packet of `type`. False when it is not a JOB_ASSIGN*, or
   * lacks an argument (the decoder then reports it).
   */
  read(type: number, buf: Uint8Array, from: number, to: number): boolean {
    let extra: number;
    if (type === PacketType.JOB_ASSIGN_UNIQ) extra = 1;
    else if (type === PacketType.JOB_ASSIGN) extra = 0;
    else if (type === PacketType.JOB_ASSIGN_ALL) extra = 2;
    else return false;
    const h = findNul(buf, from, to);
    if (h < 0) return false;
    const n = findNul(buf, h + 1, to);
    if (n < 0) return false;
    let unique = EMPTY;
    let reducer = EMPTY;
    let at = n + 1;
    if (extra > 0) {
      const u = findNul(buf, at, to);
      if (u < 0) return false;
      unique = keepAt(buf, at, u);
      at = u + 1;
      if (extra > 1) {
        const r = findNul(buf, at, to);
        if (r < 0) return false;
        reducer = keepAt(buf, at, r);
        at = r + 1;
      }
    }
    this.handleBytes = keepAt(buf, from, h);
    this.handle = utf8At(this.handleBytes);
    this.function = this.names.get(buf, h + 1, n);
    this.unique = unique;
    this.reducer = reducer;
    this.payload = keepAt(buf, at, to);
    return true;
  }

  /** Drops the references to the last job's bytes. */
  clear(): void {
    this.handleBytes = EMPTY;
    this.unique = EMPTY;
    this.reducer = EMPTY;
    this.payload = EMPTY;
  }
}

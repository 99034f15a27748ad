/**
 * A JOB_ASSIGN, JOB_ASSIGN_UNIQ or JOB_ASSIGN_ALL read straight from the received bytes (the
 * connection's `body` hook): no packet object and no view per argument. The small parts are
 * copied out: a copy costs less than the first view of a received chunk (which makes the chunk's
 * ArrayBuffer), and it keeps no chunk alive.
 */
import { findNul } from "../protocol/decode.ts";
import { PacketType } from "../protocol/packets.ts";

const utf8 = new TextDecoder();
const EMPTY: Uint8Array = new Uint8Array(0);

/** Payloads up to this size are copied out of the received bytes; larger ones are views. */
const COPY_PAYLOAD = 1024;

/** `buf[from, to)` as its own bytes: EMPTY when empty, else a copy. */
function copyAt(buf: Uint8Array, from: number, to: number): Uint8Array {
  return to === from ? EMPTY : buf.slice(from, to);
}

/** One reused record: the last assignment read. */
export class Assignment {
  handle = "";
  /** The handle as received, reused for every packet about the job. */
  handleBytes: Uint8Array = EMPTY;
  function = "";
  unique: Uint8Array = EMPTY;
  reducer: Uint8Array = EMPTY;
  payload: Uint8Array = EMPTY;

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
      unique = copyAt(buf, at, u);
      at = u + 1;
      if (extra > 1) {
        const r = findNul(buf, at, to);
        if (r < 0) return false;
        reducer = copyAt(buf, at, r);
        at = r + 1;
      }
    }
    this.handleBytes = buf.slice(from, h);
    this.handle = utf8.decode(this.handleBytes);
    this.function = this.nameAt(buf, h + 1, n);
    this.unique = unique;
    this.reducer = reducer;
    this.payload = to - at <= COPY_PAYLOAD ? copyAt(buf, at, to) : buf.subarray(at, to);
    return true;
  }

  /** Drops the references to the last job's bytes. */
  clear(): void {
    this.handleBytes = EMPTY;
    this.unique = EMPTY;
    this.reducer = EMPTY;
    this.payload = EMPTY;
  }

  /**
   * The function name in `buf[from, to)`: the last one read when the bytes are the same ASCII (a
   * worker mostly runs one function, or few), so most jobs decode nothing.
   */
  private nameAt(buf: Uint8Array, from: number, to: number): string {
    const last = this.function;
    const len = to - from;
    if (len === last.length) {
      let i = 0;
      for (; i < len; i++) {
        const b = buf[from + i]!;
        if (b >= 0x80 || b !== last.charCodeAt(i)) break;
      }
      if (i === len) return last;
    }
    return utf8.decode(buf.slice(from, to));
  }
}

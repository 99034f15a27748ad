/**
 * Bytes ↔ latin1 strings on the server's per-job path. Names, uniques and handles are kept as
 * latin1 ("binary") strings, one char per byte, so they round-trip; these helpers convert a range
 * of a received chunk without a view or a Buffer wrapper per call (each is a native call and an
 * object).
 */

const EMPTY = new Uint8Array(0);
/** Up to this many bytes a JS loop beats a native call (measured in Bun, 16–64 byte strings). */
const SHORT = 64;
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(this: Uint8Array, s: number, e: number): string })
  .latin1Slice;

/** The latin1 string of `b[from, to)` (one char per byte). */
export function latin1(b: Uint8Array, from = 0, to = b.byteLength): string {
  return to === from ? "" : latin1Slice.call(b, from, to);
}

/** The bytes of a latin1 string (chars above 255 keep their low byte, as Buffer's latin1 does). */
export function latin1Bytes(s: string): Uint8Array {
  const n = s.length;
  if (n === 0) return EMPTY;
  if (n > SHORT) return Buffer.from(s, "latin1");
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/** Writes a latin1 string at `pos`; returns the position after it. */
export function putLatin1(out: Uint8Array, pos: number, s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) out[pos + i] = s.charCodeAt(i) & 0xff;
  return pos + n;
}

/** Writes `b[from, to)` at `pos`; returns the position after it. */
export function putBytes(out: Uint8Array, pos: number, b: Uint8Array, from = 0, to = b.byteLength): number {
  const n = to - from;
  if (n > SHORT) out.set(b.subarray(from, to), pos);
  else for (let i = 0; i < n; i++) out[pos + i] = b[from + i]!;
  return pos + n;
}

/** A copy of `b[from, to)` that owns its memory (a view would keep the whole received chunk alive). */
export function copyBytes(b: Uint8Array, from = 0, to = b.byteLength): Uint8Array {
  const n = to - from;
  if (n === 0) return EMPTY;
  if (n > SHORT) return b.slice(from, to);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = b[from + i]!;
  return out;
}

/**
 * latin1 strings of names that repeat (function names): the last one is kept with its bytes, so
 * a stream of submits for one function decodes its name once.
 */
export class NameCache {
  private bytes: Uint8Array = EMPTY;
  private name = "";

  get(b: Uint8Array, from = 0, to = b.byteLength): string {
    const last = this.bytes;
    const n = to - from;
    if (n === last.byteLength && n <= SHORT) {
      let same = true;
      for (let i = 0; i < n; i++) {
        if (b[from + i] !== last[i]) {
          same = false;
          break;
        }
      }
      if (same) return this.name;
    }
    this.name = latin1(b, from, to);
    this.bytes = copyBytes(b, from, to);
    return this.name;
  }
}

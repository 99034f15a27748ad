/**
 * Bytes ↔ latin1 strings on the server's per-job path. Names, uniques and handles are kept as
 * latin1 ("binary") strings, one char per byte, so they round-trip; these helpers do the
 * conversions without a Buffer wrapper per call (each wrapper is a native call and an object).
 */

const EMPTY = new Uint8Array(0);
/** Up to this many bytes a JS loop beats a native call (measured in Bun, 16–64 byte strings). */
const SHORT = 64;
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(this: Uint8Array, s: number, e: number): string })
  .latin1Slice;

/** The latin1 string of `b` (one char per byte). */
export function latin1(b: Uint8Array): string {
  return b.byteLength === 0 ? "" : latin1Slice.call(b, 0, b.byteLength);
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

/** A copy of `b` that owns its memory (a view would keep the whole received chunk alive). */
export function copyBytes(b: Uint8Array): Uint8Array {
  const n = b.byteLength;
  if (n === 0) return EMPTY;
  if (n > SHORT) return b.slice();
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = b[i]!;
  return out;
}

/**
 * latin1 strings of names that repeat (function names): the last one is kept with its bytes, so
 * a stream of submits for one function decodes its name once.
 */
export class NameCache {
  private bytes: Uint8Array = EMPTY;
  private name = "";

  get(b: Uint8Array): string {
    const last = this.bytes;
    const n = b.byteLength;
    if (n === last.byteLength && n <= SHORT) {
      let same = true;
      for (let i = 0; i < n; i++) {
        if (b[i] !== last[i]) {
          same = false;
          break;
        }
      }
      if (same) return this.name;
    }
    this.name = latin1(b);
    this.bytes = copyBytes(b);
    return this.name;
  }
}

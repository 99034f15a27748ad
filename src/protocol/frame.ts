/**
 * The embedded server's replies on the per-job path, framed straight from the job's fields:
 * JOB_CREATED, JOB_ASSIGN / JOB_ASSIGN_UNIQ, and a worker's result passed on with its body as it
 * came. Each is one array, written once (no argument list, no per-argument copies); the other
 * packets go through encodePacket. Strings are the server's latin1 strings (read.ts). Handles,
 * names and uniques never hold a NUL (they were NUL-separated arguments, or are the server's
 * own), so no check is needed here.
 */
import { allocPacket, writeHeader } from "./encode.ts";
import { HEADER_SIZE, PacketType, RES_MAGIC } from "./packets.ts";

/** Up to this many bytes a JS loop beats a native call (measured in Bun, 16–64 byte parts). */
const SHORT = 64;

/** Writes a latin1 string at `pos`; returns the position after it. */
function putLatin1(out: Uint8Array, pos: number, s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) out[pos + i] = s.charCodeAt(i) & 0xff;
  return pos + n;
}

/** Writes `b[from, to)` at `pos`; returns the position after it. */
function putBytes(out: Uint8Array, pos: number, b: Uint8Array, from = 0, to = b.byteLength): number {
  const n = to - from;
  if (n > SHORT) out.set(b.subarray(from, to), pos);
  else for (let i = 0; i < n; i++) out[pos + i] = b[from + i]!;
  return pos + n;
}

/** JOB_CREATED: the handle. */
export function frameJobCreated(handle: string): Uint8Array {
  const out = allocPacket(HEADER_SIZE + handle.length);
  writeHeader(out, 0, RES_MAGIC, PacketType.JOB_CREATED, handle.length);
  putLatin1(out, HEADER_SIZE, handle);
  return out;
}

/** JOB_ASSIGN (`unique` null) or JOB_ASSIGN_UNIQ: handle, function, [unique,] data. */
export function frameJobAssign(handle: string, fn: Uint8Array, unique: string | null, data: Uint8Array): Uint8Array {
  const body = handle.length + 1 + fn.byteLength + 1 + (unique === null ? 0 : unique.length + 1) + data.byteLength;
  const out = allocPacket(HEADER_SIZE + body);
  writeHeader(out, 0, RES_MAGIC, unique === null ? PacketType.JOB_ASSIGN : PacketType.JOB_ASSIGN_UNIQ, body);
  let pos = putLatin1(out, HEADER_SIZE, handle);
  out[pos++] = 0;
  pos = putBytes(out, pos, fn);
  out[pos++] = 0;
  if (unique !== null) {
    pos = putLatin1(out, pos, unique);
    out[pos++] = 0;
  }
  putBytes(out, pos, data);
  return out;
}

/** A request's body `buf[from, to)` as the response of the same type (a worker's result to its clients). */
export function frameRelay(type: number, buf: Uint8Array, from: number, to: number): Uint8Array {
  const out = allocPacket(HEADER_SIZE + to - from);
  writeHeader(out, 0, RES_MAGIC, type, to - from);
  putBytes(out, HEADER_SIZE, buf, from, to);
  return out;
}

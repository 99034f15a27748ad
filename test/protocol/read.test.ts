/**
 * The readers of received bytes (read.ts) and the hand-framed replies (frame.ts): the JOB_ASSIGN*
 * reader, the keep-bytes rule, the string rules of each role, the name cache, and every reader fed
 * through the decoder's `body` hook whole, byte by byte and split at every boundary.
 */
import { describe, expect, test } from "bun:test";
import { PacketDecoder } from "../../src/protocol/decode.ts";
import { encodePacket } from "../../src/protocol/encode.ts";
import { frameJobAssign, frameJobCreated, frameRelay } from "../../src/protocol/frame.ts";
import { HEADER_SIZE, RES_MAGIC, PacketType as T } from "../../src/protocol/packets.ts";
import {
  EMPTY,
  findNul,
  JobAssignment,
  KEEP_COPY_MAX,
  keep,
  keepAt,
  latin1At,
  latin1Bytes,
  NameCache,
  PIN_RATIO,
  utf8At,
} from "../../src/protocol/read.ts";
import { concat } from "./feed.ts";

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);

/** The packet's bytes inside a larger chunk, as a socket read hands them over; returns [chunk, from, to]. */
function body(type: number, ...args: (string | Uint8Array)[]): [Uint8Array, number, number] {
  const p = encodePacket(type, args, RES_MAGIC);
  const chunk = new Uint8Array(p.length + 8);
  chunk.set(p, 4);
  return [chunk, 4 + 12, 4 + p.length];
}

describe("protocol read", () => {
  test("protocol read - JOB_ASSIGN, JOB_ASSIGN_UNIQ and JOB_ASSIGN_ALL", () => {
    const a = new JobAssignment();
    expect(a.read(T.JOB_ASSIGN, ...body(T.JOB_ASSIGN, "H:x:1", "f", "data"))).toBe(true);
    expect([a.handle, text(a.handleBytes), a.function, a.unique.length, a.reducer.length, text(a.payload)]).toEqual([
      "H:x:1",
      "H:x:1",
      "f",
      0,
      0,
      "data",
    ]);
    expect(a.read(T.JOB_ASSIGN_UNIQ, ...body(T.JOB_ASSIGN_UNIQ, "H:x:2", "f", "u-2", "a\0b"))).toBe(true);
    expect([a.handle, a.function, text(a.unique), a.reducer.length, text(a.payload)]).toEqual([
      "H:x:2",
      "f",
      "u-2",
      0,
      "a\0b",
    ]);
    expect(a.read(T.JOB_ASSIGN_ALL, ...body(T.JOB_ASSIGN_ALL, "H:x:3", "gé", "u", "r", ""))).toBe(true);
    expect([a.handle, a.function, text(a.unique), text(a.reducer), a.payload.length]).toEqual([
      "H:x:3",
      "gé",
      "u",
      "r",
      0,
    ]);
  });

  test("protocol read - the function name is decoded again when it changes, with the same length", () => {
    const a = new JobAssignment();
    a.read(T.JOB_ASSIGN, ...body(T.JOB_ASSIGN, "H:x:1", "ab", "x"));
    const first = a.function;
    a.read(T.JOB_ASSIGN, ...body(T.JOB_ASSIGN, "H:x:2", "ab", "x"));
    expect(a.function).toBe(first);
    a.read(T.JOB_ASSIGN, ...body(T.JOB_ASSIGN, "H:x:3", "ac", "x"));
    expect(a.function).toBe("ac");
  });

  test("protocol read - small parts are copies; a payload over 1 KiB is a view of the received bytes", () => {
    const a = new JobAssignment();
    const [small, sf, st] = body(T.JOB_ASSIGN_UNIQ, "H:x:1", "f", "u", "tiny");
    a.read(T.JOB_ASSIGN_UNIQ, small, sf, st);
    for (const part of [a.handleBytes, a.unique, a.payload]) expect(part.buffer).not.toBe(small.buffer);
    const big = "z".repeat(1025);
    const [large, lf, lt] = body(T.JOB_ASSIGN_UNIQ, "H:x:2", "f", "u", big);
    a.read(T.JOB_ASSIGN_UNIQ, large, lf, lt);
    expect(a.payload.buffer).toBe(large.buffer);
    expect(text(a.payload)).toBe(big);
    a.clear();
    expect([a.handleBytes.length, a.unique.length, a.payload.length]).toEqual([0, 0, 0]);
  });

  test("protocol read - other packet types and a body missing an argument are not read", () => {
    const a = new JobAssignment();
    expect(a.read(T.WORK_COMPLETE, ...body(T.WORK_COMPLETE, "H:x:1", "d"))).toBe(false);
    const [chunk, from, to] = body(T.JOB_ASSIGN, "H:x:1", "f", "x");
    // Cut after the handle's NUL: no NUL after the function name.
    expect(a.read(T.JOB_ASSIGN_UNIQ, chunk, from, to)).toBe(false);
    expect(a.read(T.JOB_ASSIGN, chunk, from, from + 6)).toBe(false);
  });

  test("protocol read - findNul finds the first NUL inside the range only, past a short scan too", () => {
    const b = new Uint8Array(300).fill(1);
    b[10] = 0;
    b[200] = 0;
    expect(findNul(b, 0, 300)).toBe(10);
    expect(findNul(b, 0, 10)).toBe(-1);
    expect(findNul(b, 11, 300)).toBe(200);
    expect(findNul(b, 11, 200)).toBe(-1);
    expect(findNul(b, 11, 201)).toBe(200);
    expect(findNul(b, 5, 5)).toBe(-1);
  });

  test("protocol read - keep: empty is EMPTY, up to 1 KiB a copy, larger a view unless its chunk is 8× its size", () => {
    const chunk = new Uint8Array(16 * 1024).map((_, i) => i & 0xff);
    expect(keepAt(chunk, 7, 7)).toBe(EMPTY);
    for (const n of [1, 64, 65, KEEP_COPY_MAX]) {
      const kept = keepAt(chunk, 3, 3 + n);
      expect(kept.buffer).not.toBe(chunk.buffer);
      expect(Array.from(kept)).toEqual(Array.from(chunk.subarray(3, 3 + n)));
    }
    // 1/8 of the chunk or more: a view.
    const share = chunk.byteLength / PIN_RATIO;
    const view = keepAt(chunk, 100, 100 + share);
    expect(view.buffer).toBe(chunk.buffer);
    expect(view.byteOffset).toBe(100);
    expect(view.byteLength).toBe(share);
    // Over 1 KiB but under 1/8 of its chunk: a copy, so it does not pin the chunk.
    const pinned = keepAt(chunk, 100, 100 + share - 1);
    expect(pinned.buffer).not.toBe(chunk.buffer);
    expect(Array.from(pinned)).toEqual(Array.from(chunk.subarray(100, 100 + share - 1)));
    // keep() of a whole argument view: the same rule; a view of most of its chunk is returned as it is.
    const arg = chunk.subarray(12, chunk.byteLength);
    expect(keep(arg)).toBe(arg);
    expect(keep(chunk.subarray(0, 10)).buffer).not.toBe(chunk.buffer);
    // A kept copy does not change with the chunk.
    const copy = keepAt(chunk, 0, 10);
    chunk[0] = 0xee;
    expect(copy[0]).toBe(0);
  });

  test("protocol read - latin1 round-trips every byte; utf8 decodes a range of a chunk", () => {
    const chunk = concat(new Uint8Array([9, 9]), ALL_BYTES, new Uint8Array([9]));
    const s = latin1At(chunk, 2, 258);
    expect(s.length).toBe(256);
    expect(s).toBe(Buffer.from(ALL_BYTES).toString("latin1"));
    expect(Array.from(latin1Bytes(s))).toEqual(Array.from(ALL_BYTES));
    expect(latin1At(chunk, 5, 5)).toBe("");
    expect(latin1Bytes("")).toBe(EMPTY);
    const long = "é".repeat(100);
    expect(latin1At(latin1Bytes(long))).toBe(long);
    const u = new TextEncoder().encode("xx→é€yy");
    expect(utf8At(u, 2, u.length - 2)).toBe("→é€");
    expect(utf8At(u)).toBe("xx→é€yy");
    expect(utf8At(u, 3, 3)).toBe("");
  });

  test("protocol read - utf8 text reads as TextDecoder reads it, a byte over 0x7f at any place of a short or long range", () => {
    const decoder = new TextDecoder();
    for (const length of [1, 2, 20, 63, 64, 65, 200]) {
      const ascii = Array.from({ length }, (_, i) => 0x21 + (i % 90));
      const chunk = new Uint8Array([0xc3, ...ascii, 0xa9]); // a split "é" on both sides of the range
      expect(utf8At(chunk, 1, 1 + length)).toBe(decoder.decode(new Uint8Array(ascii)));
      for (const at of new Set([0, Math.floor(length / 2), length - 1])) {
        for (const odd of [[0x80], [0xff], [0xc3, 0xa9]]) {
          const bytes = new Uint8Array([...ascii.slice(0, at), ...odd, ...ascii.slice(at)]);
          const framed = new Uint8Array([7, ...bytes, 7]);
          expect(utf8At(framed, 1, 1 + bytes.length)).toBe(decoder.decode(bytes));
        }
      }
    }
  });

  test("protocol read - the name cache returns the last string for the same bytes and decodes any other", () => {
    const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
    const utf8 = new NameCache("utf8");
    expect(utf8.get(enc("reverse"), 0, 7)).toBe("reverse");
    expect(utf8.get(enc("reverse"), 0, 7)).toBe("reverse");
    expect(utf8.get(enc("reversf"), 0, 7)).toBe("reversf");
    // "é" as UTF-8 is C3 A9: two bytes equal to the chars of "Ã©", which must not be taken for it.
    utf8.remember("Ã©");
    expect(utf8.get(enc("é"), 0, 2)).toBe("é");
    utf8.remember("H:1");
    expect(utf8.get(enc("xH:1"), 1, 4)).toBe("H:1");
    expect(utf8.get(enc("H:2"), 0, 3)).toBe("H:2");
    expect(utf8.get(EMPTY, 0, 0)).toBe("");
    // latin1: every byte is its char, non-ASCII included.
    const latin1 = new NameCache("latin1");
    const high = new Uint8Array([0xc3, 0xa9, 0xff]);
    expect(latin1.get(high, 0, 3)).toBe("Ã©ÿ");
    expect(latin1.get(high, 0, 3)).toBe("Ã©ÿ");
    expect(latin1.get(new Uint8Array([0xc3, 0xa9, 0xfe]), 0, 3)).toBe("Ã©þ");
  });

  test("protocol read - framed replies equal the encoder's packets", () => {
    const handle = "H:host:é1"; // a latin1 string: é is one byte
    const hb = latin1Bytes(handle);
    const fn = latin1Bytes("reverse");
    const data = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
    expect(Array.from(frameJobCreated(handle))).toEqual(Array.from(encodePacket(T.JOB_CREATED, [hb], RES_MAGIC)));
    expect(Array.from(frameJobAssign(handle, fn, null, data))).toEqual(
      Array.from(encodePacket(T.JOB_ASSIGN, [hb, fn, data], RES_MAGIC)),
    );
    expect(Array.from(frameJobAssign(handle, fn, "u-1", new Uint8Array([1, 0, 2])))).toEqual(
      Array.from(encodePacket(T.JOB_ASSIGN_UNIQ, [hb, fn, latin1Bytes("u-1"), new Uint8Array([1, 0, 2])], RES_MAGIC)),
    );
    const request = encodePacket(T.WORK_COMPLETE, [hb, data]);
    expect(Array.from(frameRelay(T.WORK_COMPLETE, request, HEADER_SIZE, request.length))).toEqual(
      Array.from(encodePacket(T.WORK_COMPLETE, [hb, data], RES_MAGIC)),
    );
  });
});

/** What the `body` hook read from a stream, in a form `toEqual` can compare. */
type Read = (string | number | number[])[];

/** Feeds `chunks` to a decoder whose `body` hook reads JOB_ASSIGN* and WORK_COMPLETE with the readers. */
function readAll(chunks: readonly Uint8Array[]): Read[] {
  const out: Read[] = [];
  const assignment = new JobAssignment();
  const handles = new NameCache("utf8");
  const names = new NameCache("latin1");
  const decoder = new PacketDecoder(
    {
      packet: (p) => out.push(["packet", p.type]),
      body(type, buf, from, to) {
        if (assignment.read(type, buf, from, to)) {
          const a = assignment;
          out.push([a.handle, a.function, Array.from(a.unique), Array.from(a.reducer), Array.from(a.payload)]);
          a.clear();
          return true;
        }
        if (type !== T.WORK_COMPLETE) return false;
        const nul = findNul(buf, from, to);
        if (nul < 0) return false;
        out.push([handles.get(buf, from, nul), names.get(buf, from, nul), Array.from(keepAt(buf, nul + 1, to))]);
        return true;
      },
      error: (e) => out.push(["error", e.code]),
    },
    { magic: RES_MAGIC },
  );
  for (const c of chunks) decoder.push(c);
  return out;
}

test("protocol read - the same reads whole, byte by byte and split at every boundary", () => {
  const big = Uint8Array.from({ length: 1500 }, (_, i) => (i * 7) & 0xff);
  const stream = concat(
    encodePacket(T.JOB_ASSIGN, ["H:x:1", "f", "data"], RES_MAGIC),
    encodePacket(T.JOB_ASSIGN_UNIQ, ["H:x:2", "f", "u", new Uint8Array([0, 1, 0])], RES_MAGIC),
    encodePacket(T.JOB_ASSIGN_ALL, ["H:x:3", "gé", "u", "r", big], RES_MAGIC),
    encodePacket(T.WORK_COMPLETE, ["H:é:4", new Uint8Array([0xff, 0])], RES_MAGIC),
    encodePacket(T.WORK_COMPLETE, ["H:é:4", big], RES_MAGIC),
    encodePacket(T.NOOP, [], RES_MAGIC),
  );
  const whole = readAll([stream]);
  expect(whole).toEqual([
    ["H:x:1", "f", [], [], Array.from(new TextEncoder().encode("data"))],
    ["H:x:2", "f", [117], [], [0, 1, 0]],
    ["H:x:3", "gé", [117], [114], Array.from(big)],
    ["H:é:4", "H:Ã©:4", [0xff, 0]],
    ["H:é:4", "H:Ã©:4", Array.from(big)],
    ["packet", T.NOOP],
  ]);
  expect(readAll(Array.from({ length: stream.length }, (_, i) => stream.slice(i, i + 1)))).toEqual(whole);
  for (let i = 1; i < stream.length; i++) {
    const split = readAll([stream.slice(0, i), stream.slice(i)]);
    if (!Bun.deepEquals(split, whole)) expect({ splitAt: i, split }).toEqual({ splitAt: i, split: whole });
  }
});

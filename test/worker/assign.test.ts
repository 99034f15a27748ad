/**
 * Reading JOB_ASSIGN* bodies straight from the received bytes (assign.ts): every variant, the
 * name cache, copies for small parts and a view for a large payload, and a body missing an
 * argument handed back to the decoder.
 */
import { describe, expect, test } from "bun:test";
import { RES_MAGIC, PacketType as T } from "../../src/protocol/packets.ts";
import { encodePacket } from "../../src/protocol/encode.ts";
import { Assignment } from "../../src/worker/assign.ts";

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** The packet's bytes inside a larger chunk, as a socket read hands them over; returns [chunk, from, to]. */
function body(type: number, ...args: (string | Uint8Array)[]): [Uint8Array, number, number] {
  const p = encodePacket(type, args, RES_MAGIC);
  const chunk = new Uint8Array(p.length + 8);
  chunk.set(p, 4);
  return [chunk, 4 + 12, 4 + p.length];
}

describe("worker assign", () => {
  test("worker assign - reads JOB_ASSIGN, JOB_ASSIGN_UNIQ and JOB_ASSIGN_ALL", () => {
    const a = new Assignment();
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

  test("worker assign - the function name is decoded again when it changes, with the same length", () => {
    const a = new Assignment();
    a.read(T.JOB_ASSIGN, ...body(T.JOB_ASSIGN, "H:x:1", "ab", "x"));
    const first = a.function;
    a.read(T.JOB_ASSIGN, ...body(T.JOB_ASSIGN, "H:x:2", "ab", "x"));
    expect(a.function).toBe(first);
    a.read(T.JOB_ASSIGN, ...body(T.JOB_ASSIGN, "H:x:3", "ac", "x"));
    expect(a.function).toBe("ac");
  });

  test("worker assign - small parts are copies; a payload over 1 KiB is a view of the received bytes", () => {
    const a = new Assignment();
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

  test("worker assign - other packet types and a body missing an argument are not read", () => {
    const a = new Assignment();
    expect(a.read(T.WORK_COMPLETE, ...body(T.WORK_COMPLETE, "H:x:1", "d"))).toBe(false);
    const [chunk, from, to] = body(T.JOB_ASSIGN, "H:x:1", "f", "x");
    // Cut after the handle's NUL: no NUL after the function name.
    expect(a.read(T.JOB_ASSIGN_UNIQ, chunk, from, to)).toBe(false);
    expect(a.read(T.JOB_ASSIGN, chunk, from, from + 6)).toBe(false);
  });
});

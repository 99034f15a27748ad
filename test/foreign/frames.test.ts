/**
 * Handler protocol - frames: every frame type decoded whole, byte by byte and split at every
 * boundary; binary payloads with NUL; bad frames reported once with what and where.
 */
import { describe, expect, test } from "bun:test";
import type { HandlerError } from "../../src/errors.ts";
import {
  encodeFrame,
  type FrameArg,
  FrameDecoder,
  FrameType,
  frameName,
  MAX_FRAME_BODY,
} from "../../src/foreign/frames.ts";

const utf8 = new TextDecoder();

function decodeAll(from: "gearbun" | "handler", chunks: Uint8Array[], maxBody?: number) {
  const frames: string[] = [];
  const errors: HandlerError[] = [];
  const decoder = new FrameDecoder(
    {
      frame: (type, args) =>
        frames.push(`${frameName(type)} ${args.map((a) => JSON.stringify(utf8.decode(a))).join(" ")}`),
      error: (e) => errors.push(e),
    },
    { from, maxBody },
  );
  for (const c of chunks) decoder.push(c);
  return { frames, errors, buffered: decoder.buffered };
}

const concat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

const BINARY = new Uint8Array([0, 1, 0, 255, 0]);

const HANDLER_CASES: [string, FrameType, FrameArg[], string][] = [
  ["HELLO", FrameType.HELLO, ["1", "echo", "reverse"], 'HELLO "1" "echo" "reverse"'],
  ["LOAD_FAILED", FrameType.LOAD_FAILED, ["SyntaxError: x\0y"], 'LOAD_FAILED "SyntaxError: x\\u0000y"'],
  ["STATUS", FrameType.STATUS, ["1", "3"], 'STATUS "1" "3"'],
  ["DATA (binary)", FrameType.DATA, [BINARY], `DATA ${JSON.stringify(utf8.decode(BINARY))}`],
  ["WARNING", FrameType.WARNING, ["careful"], 'WARNING "careful"'],
  ["COMPLETE (empty)", FrameType.COMPLETE, [""], 'COMPLETE ""'],
  ["FAIL", FrameType.FAIL, ["refused"], 'FAIL "refused"'],
  ["EXCEPTION", FrameType.EXCEPTION, ["boom"], 'EXCEPTION "boom"'],
];

describe("handler protocol - frames", () => {
  for (const [name, type, args, want] of HANDLER_CASES) {
    test(`frames - ${name} whole, byte by byte, and split at every boundary`, () => {
      const bytes = encodeFrame(type, args);
      expect(decodeAll("handler", [bytes])).toEqual({ frames: [want], errors: [], buffered: 0 });
      const bytewise = Array.from(bytes, (b) => new Uint8Array([b]));
      expect(decodeAll("handler", bytewise).frames).toEqual([want]);
      for (let cut = 1; cut < bytes.length; cut++) {
        const r = decodeAll("handler", [bytes.slice(0, cut), bytes.slice(cut)]);
        expect(r.frames).toEqual([want]);
        expect(r.errors).toEqual([]);
      }
    });
  }

  test("frames - JOB keeps NUL inside its payload (the last argument) and decodes on the handler's side", () => {
    const bytes = encodeFrame(FrameType.JOB, ["resize", "H:host:1", "u-1", "2", BINARY]);
    const r = decodeAll("gearbun", [bytes]);
    expect(r.frames).toEqual([`JOB "resize" "H:host:1" "u-1" "2" ${JSON.stringify(utf8.decode(BINARY))}`]);
    // Its layout, byte for byte: length (type + body), type, NUL-separated arguments.
    expect([...bytes.subarray(0, 5)]).toEqual([0, 0, 0, bytes.length - 4, 0x4a]);
  });

  test("frames - several frames in one chunk, split at every boundary, in order", () => {
    const stream = concat(HANDLER_CASES.map(([, type, args]) => encodeFrame(type, args)));
    const want = HANDLER_CASES.map(([, , , w]) => w);
    expect(decodeAll("handler", [stream]).frames).toEqual(want);
    for (let cut = 1; cut < stream.length; cut += 3) {
      expect(decodeAll("handler", [stream.slice(0, cut), stream.slice(cut)]).frames).toEqual(want);
    }
  });

  test("frames - a frame whole in its chunk is emitted as views of that chunk; a spanning one is copied", () => {
    const bytes = encodeFrame(FrameType.COMPLETE, ["result"]);
    const seen: Uint8Array[] = [];
    const d = new FrameDecoder({ frame: (_t, args) => seen.push(args[0]!), error: () => {} }, { from: "handler" });
    d.push(bytes);
    expect(seen[0]!.buffer).toBe(bytes.buffer);
    d.push(bytes.slice(0, 7));
    const tail = bytes.slice(7);
    d.push(tail);
    expect(utf8.decode(seen[1]!)).toBe("result");
    expect(seen[1]!.buffer).not.toBe(tail.buffer);
  });

  const BAD: [string, "gearbun" | "handler", Uint8Array, RegExp][] = [
    ["an unknown type", "handler", new Uint8Array([0, 0, 0, 1, 0x5a]), /unknown frame type 0x5a at byte 0/],
    [
      "a frame from the wrong side",
      "handler",
      encodeFrame(FrameType.JOB, ["f", "h", "u", "1", "p"]),
      /JOB frame sent by the wrong side/,
    ],
    ["length 0", "handler", new Uint8Array([0, 0, 0, 0, 0x43]), /length 0/],
    [
      "too few arguments",
      "handler",
      encodeFrame(FrameType.STATUS, ["1"]),
      /STATUS frame at byte 0 has 1 arguments, expected 2/,
    ],
    ["a HELLO without names", "handler", encodeFrame(FrameType.HELLO, ["1"]), /HELLO .* expected at least 2/],
    [
      "a JOB with four arguments",
      "gearbun",
      encodeFrame(FrameType.JOB, ["f", "h", "u", "p"]),
      /JOB .* has 4 arguments, expected 5/,
    ],
  ];
  for (const [name, from, bytes, message] of BAD) {
    test(`frames - ${name} is one HANDLER_PROTOCOL error, then nothing more`, () => {
      const good = encodeFrame(
        from === "handler" ? FrameType.DATA : FrameType.JOB,
        ["a", "b", "c", "d", "e"].slice(0, from === "handler" ? 1 : 5),
      );
      const r = decodeAll(from, [bytes, good]);
      expect(r.frames).toEqual([]);
      expect(r.errors.length).toBe(1);
      expect(r.errors[0]!.code).toBe("HANDLER_PROTOCOL");
      expect(r.errors[0]!.message).toMatch(message);
    });
  }

  test("frames - a body over the limit is refused from its header, before its bytes arrive", () => {
    const header = new Uint8Array([0, 0, 0x10, 2, FrameType.COMPLETE]);
    const r = decodeAll("handler", [header], 4096);
    expect(r.errors.map((e) => e.message)).toEqual([
      "bad frame from the handler: COMPLETE frame of 4097 bytes at byte 0, over the 4096-byte limit",
    ]);
    expect(r.buffered).toBe(0);
    expect(MAX_FRAME_BODY).toBe(64 * 1024 * 1024);
  });
});

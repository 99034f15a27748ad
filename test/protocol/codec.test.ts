/**
 * The wire codec: every packet type round-trips, every decoder case gives the same result fed
 * whole, byte by byte and split at every boundary, and bad input gives typed ProtocolErrors.
 */
import { describe, expect, test } from "bun:test";
import { ConfigError, ProtocolError } from "../../src/errors.ts";
import { PacketDecoder } from "../../src/protocol/decode.ts";
import {
  CONSTANT_PACKETS,
  encodedLength,
  utf8Length,
  encodeInto,
  encodePacket,
  encodeRequest,
  encodeResponse,
  type Arg,
} from "../../src/protocol/encode.ts";
import {
  HEADER_SIZE,
  MAX_PACKET_TYPE,
  PACKETS,
  PacketType,
  REQ_MAGIC,
  RES_MAGIC,
  packetName,
  type PacketSpec,
} from "../../src/protocol/packets.ts";
import { bytes, concat, feedAllWays, feedChunks, nums, type Decoded } from "./feed.ts";

const SPECS: PacketSpec[] = PACKETS.filter((s): s is PacketSpec => s !== undefined);
const REQ = { magic: REQ_MAGIC };
const RES = { magic: RES_MAGIC };

/** A raw packet with any magic, type and body (for malformed input). */
function raw(magic: number, type: number, body: Uint8Array | string = new Uint8Array(0), size?: number): Uint8Array {
  const b = typeof body === "string" ? bytes(body) : body;
  const out = new Uint8Array(HEADER_SIZE + b.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, magic);
  view.setUint32(4, type);
  view.setUint32(8, size ?? b.length);
  out.set(b, HEADER_SIZE);
  return out;
}

/** Sample arguments for a type: distinct short strings, a data tail with NULs when it has one. */
function sampleArgs(spec: PacketSpec): Arg[] {
  const args: Arg[] = [];
  for (let i = 0; i < spec.args; i++) {
    const last = i === spec.args - 1;
    if (last && spec.data) args.push(new Uint8Array([0, 1, 0, 255, 0x41, 0]));
    else args.push(`${spec.name.toLowerCase()}-${i}-é`);
  }
  return args;
}

const argBytes = (a: Arg): number[] => (typeof a === "string" ? nums(a) : Array.from(a));
const packetEvent = (type: number, args: readonly Arg[]): Decoded => ({
  kind: "packet",
  type,
  args: args.map(argBytes),
});

describe("codec - packet table", () => {
  test("codec - the table holds types 1-42 except 5, each under its own number", () => {
    expect(SPECS.map((s): number => s.type)).toEqual(
      Array.from({ length: MAX_PACKET_TYPE }, (_, i) => i + 1).filter((n) => n !== 5),
    );
    for (const s of SPECS) expect(PacketType[s.name]).toBe(s.type);
    expect(PACKETS[0]).toBeUndefined();
    expect(PACKETS[5]).toBeUndefined();
    expect(PACKETS[43]).toBeUndefined();
    expect(packetName(43)).toBe("UNKNOWN(43)");
    expect(packetName(PacketType.JOB_ASSIGN_UNIQ)).toBe("JOB_ASSIGN_UNIQ");
  });
});

describe("codec - round trip", () => {
  for (const spec of SPECS) {
    test(`codec - ${spec.name} (${spec.type}) round-trips with REQ and RES magic, three ways`, () => {
      const args = sampleArgs(spec);
      for (const [magic, options] of [
        [REQ_MAGIC, REQ],
        [RES_MAGIC, RES],
      ] as const) {
        const packet = encodePacket(spec.type, args, magic);
        expect(packet.length).toBe(encodedLength(args));
        const view = new DataView(packet.buffer, packet.byteOffset);
        expect(view.getUint32(0)).toBe(magic);
        expect(view.getUint32(4)).toBe(spec.type);
        expect(view.getUint32(8)).toBe(packet.length - HEADER_SIZE);
        expect(feedAllWays(packet, options)).toEqual([packetEvent(spec.type, args)]);
      }
    });
  }

  test("codec - every type with empty arguments round-trips (0-length payloads)", () => {
    for (const spec of SPECS) {
      const args: Arg[] = Array.from({ length: spec.args }, () => "");
      const packet = encodeRequest(spec.type, ...args);
      expect(packet.length).toBe(HEADER_SIZE + Math.max(0, spec.args - 1));
      // WORK_FAIL's body is one empty handle: nothing to strip.
      expect(feedAllWays(packet, REQ)).toEqual([packetEvent(spec.type, args)]);
    }
  });

  test("codec - all 41 types in one stream decode in order, three ways", () => {
    const stream = concat(...SPECS.map((s) => encodeResponse(s.type, ...sampleArgs(s))));
    expect(feedAllWays(stream, RES)).toEqual(SPECS.map((s) => packetEvent(s.type, sampleArgs(s))));
  });

  test("codec - encodeInto writes packets back to back into a caller's buffer", () => {
    const a: Arg[] = ["H:1", new Uint8Array([1, 0, 2])];
    const b: Arg[] = ["fn"];
    const out = new Uint8Array(encodedLength(a) + encodedLength(b) + 3);
    let at = encodeInto(out, 3, PacketType.WORK_COMPLETE, a, RES_MAGIC);
    expect(at).toBe(3 + encodedLength(a));
    at = encodeInto(out, at, PacketType.CAN_DO, b, RES_MAGIC);
    expect(at).toBe(out.length);
    expect(Array.from(out.subarray(3))).toEqual(
      Array.from(concat(encodeResponse(PacketType.WORK_COMPLETE, ...a), encodeResponse(PacketType.CAN_DO, ...b))),
    );
  });

  test("codec - multi-byte UTF-8 strings are measured and written in bytes", () => {
    const fn = "fünf-€-𝄞";
    const packet = encodeRequest(PacketType.CAN_DO, fn);
    expect(packet.length).toBe(HEADER_SIZE + Buffer.byteLength(fn));
    expect(feedAllWays(packet, REQ)).toEqual([packetEvent(PacketType.CAN_DO, [fn])]);
  });

  test("codec - strings around the short-string length are measured in UTF-8 bytes, ASCII or not", () => {
    for (const n of [0, 1, 63, 64, 65, 200]) {
      for (const s of ["a".repeat(n), `${"a".repeat(Math.max(0, n - 1))}é`]) {
        expect(utf8Length(s)).toBe(Buffer.byteLength(s, "utf8"));
        expect(encodedLength(["fn", s])).toBe(HEADER_SIZE + 3 + Buffer.byteLength(s, "utf8"));
      }
    }
  });

  test("codec - lone surrogates are measured as the 3-byte replacement they are written as", () => {
    for (const s of ["\uD800", "a\uDC00b", "x\uD83D"]) {
      const packet = encodeRequest(PacketType.CAN_DO, s);
      expect(packet.length).toBe(encodedLength([s]));
      expect(new DataView(packet.buffer).getUint32(8)).toBe(packet.length - HEADER_SIZE);
      expect(feedAllWays(packet, REQ)).toEqual([
        packetEvent(PacketType.CAN_DO, [s.replace(/[\uD800-\uDFFF]/g, "\uFFFD")]),
      ]);
    }
  });

  test("codec - a wrong argument count or unknown type is refused by the encoder", () => {
    expect(() => encodeRequest(PacketType.SUBMIT_JOB, "f", "u")).toThrow(ConfigError);
    expect(() => encodeRequest(PacketType.NOOP, "x")).toThrow("NOOP takes 0 argument(s), got 1");
    expect(() => encodePacket(5, [])).toThrow("unknown packet type 5");
    expect(() => encodePacket(43, [])).toThrow(ConfigError);
  });

  test("codec - constant packets equal freshly encoded ones", () => {
    expect(CONSTANT_PACKETS.GRAB_JOB).toEqual(encodeRequest(PacketType.GRAB_JOB));
    expect(CONSTANT_PACKETS.GRAB_JOB_UNIQ).toEqual(encodeRequest(PacketType.GRAB_JOB_UNIQ));
    expect(CONSTANT_PACKETS.GRAB_JOB_ALL).toEqual(encodeRequest(PacketType.GRAB_JOB_ALL));
    expect(CONSTANT_PACKETS.PRE_SLEEP).toEqual(encodeRequest(PacketType.PRE_SLEEP));
    expect(CONSTANT_PACKETS.RESET_ABILITIES).toEqual(encodeRequest(PacketType.RESET_ABILITIES));
    expect(CONSTANT_PACKETS.NOOP).toEqual(encodeResponse(PacketType.NOOP));
    expect(CONSTANT_PACKETS.NO_JOB).toEqual(encodeResponse(PacketType.NO_JOB));
    expect(Object.keys(CONSTANT_PACKETS).sort()).toEqual([
      "GRAB_JOB",
      "GRAB_JOB_ALL",
      "GRAB_JOB_UNIQ",
      "NOOP",
      "NO_JOB",
      "PRE_SLEEP",
      "RESET_ABILITIES",
    ]);
  });
});

describe("codec - decoder cases", () => {
  test("codec - WORK_FAIL with a trailing NUL (gearmand's exception-as-fail) decodes as the handle", () => {
    const withNul = raw(RES_MAGIC, PacketType.WORK_FAIL, "H:host:42\0");
    expect(feedAllWays(withNul, RES)).toEqual([packetEvent(PacketType.WORK_FAIL, ["H:host:42"])]);
    const plain = encodeResponse(PacketType.WORK_FAIL, "H:host:42");
    expect(feedAllWays(concat(withNul, plain), RES)).toEqual([
      packetEvent(PacketType.WORK_FAIL, ["H:host:42"]),
      packetEvent(PacketType.WORK_FAIL, ["H:host:42"]),
    ]);
  });

  test("codec - NULs in the data tail stay in the last argument", () => {
    const data = new Uint8Array([0, 0, 7, 0, 0]);
    const packet = encodeResponse(PacketType.JOB_ASSIGN_ALL, "H:1", "fn", "uniq", "red", data);
    expect(feedAllWays(packet, RES)).toEqual([
      packetEvent(PacketType.JOB_ASSIGN_ALL, ["H:1", "fn", "uniq", "red", data]),
    ]);
    const echo = encodeRequest(PacketType.ECHO_REQ, new Uint8Array([0]));
    expect(feedAllWays(echo, REQ)).toEqual([packetEvent(PacketType.ECHO_REQ, [new Uint8Array([0])])]);
  });

  test("codec - zero-argument packets and zero-length bodies", () => {
    const stream = concat(
      CONSTANT_PACKETS.NOOP,
      encodeResponse(PacketType.ECHO_RES, ""),
      CONSTANT_PACKETS.NO_JOB,
      encodeResponse(PacketType.JOB_CREATED, ""),
      encodeResponse(PacketType.WORK_COMPLETE, "H", ""),
    );
    expect(feedAllWays(stream, RES)).toEqual([
      packetEvent(PacketType.NOOP, []),
      packetEvent(PacketType.ECHO_RES, [""]),
      packetEvent(PacketType.NO_JOB, []),
      packetEvent(PacketType.JOB_CREATED, [""]),
      packetEvent(PacketType.WORK_COMPLETE, ["H", ""]),
    ]);
  });

  test("codec - a 64 KiB payload decodes whole, byte by byte and in uneven chunks", () => {
    const payload = new Uint8Array(64 * 1024).map((_, i) => (i * 31) & 0xff);
    const packet = encodeResponse(PacketType.WORK_DATA, "H:1", payload);
    const events = feedAllWays(packet, RES, false);
    expect(events).toEqual([packetEvent(PacketType.WORK_DATA, ["H:1", payload])]);
    for (const size of [1, 5, 11, 12, 13, 4096, 65_000]) {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < packet.length; i += size) chunks.push(packet.subarray(i, i + size));
      expect(feedChunks(chunks, RES).events).toEqual(events);
    }
  });

  test("codec - admin text lines mixed with binary packets when allowText", () => {
    const options = { magic: REQ_MAGIC, allowText: true };
    const stream = concat(
      bytes("status\n"),
      encodeRequest(PacketType.ECHO_REQ, "ping"),
      bytes("workers\r\n"),
      bytes("\n"),
      CONSTANT_PACKETS.GRAB_JOB,
      bytes("show unique jobs\n"),
      encodeRequest(PacketType.SUBMIT_JOB, "f", "u", new Uint8Array([10, 0, 10])),
      bytes("ver"), // an unfinished line is held, not reported
    );
    const events = feedAllWays(stream, options);
    expect(events).toEqual([
      { kind: "text", line: "status" },
      packetEvent(PacketType.ECHO_REQ, ["ping"]),
      { kind: "text", line: "workers" },
      { kind: "text", line: "" },
      packetEvent(PacketType.GRAB_JOB, []),
      { kind: "text", line: "show unique jobs" },
      packetEvent(PacketType.SUBMIT_JOB, ["f", "u", new Uint8Array([10, 0, 10])]),
    ]);
    const held = feedChunks([stream], options);
    expect(held.decoder.buffered).toBe(3);
    held.decoder.push(bytes("sion\n"));
    expect(held.events.at(-1)).toEqual({ kind: "text", line: "version" });
    expect(held.decoder.buffered).toBe(0);
  });

  test("codec - a text line of exactly maxLineLength bytes is accepted", () => {
    const options = { magic: REQ_MAGIC, allowText: true, maxLineLength: 16 };
    expect(feedAllWays(bytes(`${"x".repeat(16)}\n`), options)).toEqual([{ kind: "text", line: "x".repeat(16) }]);
  });

  test("codec - empty chunks anywhere in the stream change nothing", () => {
    const stream = concat(encodeResponse(PacketType.WORK_DATA, "H", new Uint8Array([0, 1])), CONSTANT_PACKETS.NOOP);
    const expected = feedChunks([stream], RES).events;
    const empty = new Uint8Array(0);
    for (let i = 0; i <= stream.length; i++) {
      const { events } = feedChunks([empty, stream.subarray(0, i), empty, empty, stream.subarray(i), empty], RES);
      expect(events).toEqual(expected);
    }
    const text = { magic: REQ_MAGIC, allowText: true };
    expect(feedChunks([bytes("sta"), empty, bytes("tus\n")], text).events).toEqual([{ kind: "text", line: "status" }]);
  });

  test("codec - buffered counts the bytes held for a packet that has not arrived whole", () => {
    const packet = encodeResponse(PacketType.WORK_DATA, "H", new Uint8Array(100));
    const { decoder, events } = feedChunks([packet.subarray(0, 5)], RES);
    expect(decoder.buffered).toBe(5);
    decoder.push(packet.subarray(5, 50));
    expect(decoder.buffered).toBe(50);
    decoder.push(packet.subarray(50));
    expect(decoder.buffered).toBe(0);
    expect(events.length).toBe(1);
  });
});

describe("codec - errors", () => {
  const prefix = encodeResponse(PacketType.ECHO_RES, "ok"); // a good packet first, so offsets are not 0
  const okEvent = packetEvent(PacketType.ECHO_RES, ["ok"]);
  const off = prefix.length;

  /** Feeds prefix + bad bytes + a good packet all three ways; expects one error then nothing. */
  function expectError(
    bad: Uint8Array,
    options: Parameters<typeof feedAllWays>[1],
    error: { code: string; packetType: number | undefined; offset: number },
  ): void {
    const stream = concat(prefix, bad, prefix);
    expect(feedAllWays(stream, options)).toEqual([okEvent, { kind: "error", ...error }]);
  }

  test("codec - BAD_MAGIC: a REQ packet sent to a client, RES to a server, garbage first byte", () => {
    expectError(encodeRequest(PacketType.NOOP), RES, { code: "BAD_MAGIC", packetType: PacketType.NOOP, offset: off });
    const reqPrefix = encodeRequest(PacketType.ECHO_REQ, "ok");
    expect(feedAllWays(concat(reqPrefix, CONSTANT_PACKETS.NOOP), REQ)).toEqual([
      packetEvent(PacketType.ECHO_REQ, ["ok"]),
      { kind: "error", code: "BAD_MAGIC", packetType: PacketType.NOOP, offset: reqPrefix.length },
    ]);
    expectError(bytes("status\n"), RES, { code: "BAD_MAGIC", packetType: undefined, offset: off });
    expectError(raw(0x00524551 ^ 0x100, PacketType.NOOP), RES, {
      code: "BAD_MAGIC",
      packetType: PacketType.NOOP,
      offset: off,
    });
  });

  test("codec - UNKNOWN_PACKET for types 0, 5, 43 and 2^32-1", () => {
    for (const type of [0, 5, 43, 0xffffffff]) {
      expectError(raw(RES_MAGIC, type), RES, { code: "UNKNOWN_PACKET", packetType: type, offset: off });
    }
  });

  test("codec - BAD_ARGUMENTS: too few arguments, or a body on a no-argument packet", () => {
    expectError(raw(RES_MAGIC, PacketType.JOB_ASSIGN, "H:1\0fn"), RES, {
      code: "BAD_ARGUMENTS",
      packetType: PacketType.JOB_ASSIGN,
      offset: off,
    });
    expectError(raw(RES_MAGIC, PacketType.STATUS_RES_UNIQUE, "u\x001\x001\x003"), RES, {
      code: "BAD_ARGUMENTS",
      packetType: PacketType.STATUS_RES_UNIQUE,
      offset: off,
    });
    expectError(raw(RES_MAGIC, PacketType.SUBMIT_JOB), RES, {
      code: "BAD_ARGUMENTS",
      packetType: PacketType.SUBMIT_JOB,
      offset: off,
    });
    expectError(raw(RES_MAGIC, PacketType.NOOP, "x"), RES, {
      code: "BAD_ARGUMENTS",
      packetType: PacketType.NOOP,
      offset: off,
    });
  });

  test("codec - PACKET_TOO_LARGE is reported from the header, before the body arrives", () => {
    const options = { magic: RES_MAGIC, maxPacketSize: 16 };
    expect(feedAllWays(concat(prefix, encodeResponse(PacketType.ECHO_RES, "x".repeat(16))), options)).toEqual([
      okEvent,
      packetEvent(PacketType.ECHO_RES, ["x".repeat(16)]),
    ]);
    expectError(raw(RES_MAGIC, PacketType.ECHO_RES, "x".repeat(17)), options, {
      code: "PACKET_TOO_LARGE",
      packetType: PacketType.ECHO_RES,
      offset: off,
    });
    // A header announcing 4 GiB fails at once; nothing is allocated for it.
    const { events, decoder } = feedChunks([raw(RES_MAGIC, PacketType.ECHO_RES, "", 0xffffffff)], RES);
    expect(events).toEqual([{ kind: "error", code: "PACKET_TOO_LARGE", packetType: PacketType.ECHO_RES, offset: 0 }]);
    expect(decoder.buffered).toBe(0);
  });

  test("codec - LINE_TOO_LONG for an admin line over maxLineLength, with or without its line end", () => {
    const options = { magic: REQ_MAGIC, allowText: true, maxLineLength: 8 };
    const reqPrefix = encodeRequest(PacketType.ECHO_REQ, "ok");
    const reqOk = packetEvent(PacketType.ECHO_REQ, ["ok"]);
    const at = reqPrefix.length;
    const error: Decoded = { kind: "error", code: "LINE_TOO_LONG", packetType: undefined, offset: at };
    expect(feedAllWays(concat(reqPrefix, bytes("123456789\n"), reqPrefix), options)).toEqual([reqOk, error]);
    expect(feedAllWays(concat(reqPrefix, bytes("123456789")), options)).toEqual([reqOk, error]);
    expect(feedAllWays(concat(reqPrefix, bytes("12345678\n")), options)).toEqual([
      reqOk,
      { kind: "text", line: "12345678" },
    ]);
  });

  test("codec - errors are ProtocolErrors naming the packet, offset and server", () => {
    const errors: ProtocolError[] = [];
    const decoder = new PacketDecoder(
      { packet: () => {}, error: (e) => errors.push(e) },
      { magic: RES_MAGIC, server: "gm.example:4730" },
    );
    decoder.push(concat(prefix, raw(RES_MAGIC, PacketType.JOB_ASSIGN, "H")));
    expect(errors.length).toBe(1);
    const e = errors[0]!;
    expect(e).toBeInstanceOf(ProtocolError);
    expect(e.code).toBe("BAD_ARGUMENTS");
    expect(e.packetType).toBe(PacketType.JOB_ASSIGN);
    expect(e.offset).toBe(off);
    expect(e.server).toBe("gm.example:4730");
    expect(e.message).toContain("JOB_ASSIGN");
    expect(e.message).toContain(`byte ${off}`);
    expect(e.message).toContain("gm.example:4730");
  });

  test("codec - after an error the decoder refuses input until reset()", () => {
    const events: Decoded[] = [];
    let errorCount = 0;
    const decoder = new PacketDecoder(
      {
        packet: (p) => events.push({ kind: "packet", type: p.type, args: p.args.map((a) => Array.from(a)) }),
        error: () => errorCount++,
      },
      RES,
    );
    expect(decoder.push(raw(RES_MAGIC, 43))).toBe(false);
    expect(decoder.isFailed).toBe(true);
    expect(decoder.push(prefix)).toBe(false);
    expect(decoder.push(raw(RES_MAGIC, 43))).toBe(false);
    expect(events).toEqual([]);
    expect(errorCount).toBe(1);
    expect(decoder.buffered).toBe(0);
    decoder.reset();
    expect(decoder.isFailed).toBe(false);
    expect(decoder.push(prefix)).toBe(true);
    expect(events).toEqual([okEvent]);
    // Offsets count again from the reset.
    const errors: ProtocolError[] = [];
    const d2 = new PacketDecoder({ packet: () => {}, error: (e) => errors.push(e) }, RES);
    d2.push(prefix.subarray(0, 7));
    d2.reset();
    d2.push(raw(RES_MAGIC, 5));
    expect(errors[0]?.offset).toBe(0);
  });

  test("codec - a partial packet is dropped by reset()", () => {
    const { decoder, events } = feedChunks([prefix.subarray(0, 13)], RES);
    expect(decoder.buffered).toBe(13);
    decoder.reset();
    expect(decoder.buffered).toBe(0);
    decoder.push(prefix);
    expect(events).toEqual([okEvent]);
  });
});

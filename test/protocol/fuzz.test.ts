/**
 * Decoder fuzzing with a seeded PRNG: random garbage and random mutations of valid packet
 * streams must produce only ProtocolErrors (never another exception, never a hang), the same
 * events however the bytes are chunked, and bounded buffering.
 *
 * The seed is printed; rerun a failure with GEARBUN_FUZZ_SEED=<seed> bun test test/protocol/fuzz.test.ts
 */
import { expect, test } from "bun:test";
import { ProtocolError } from "../../src/errors.ts";
import { DEFAULT_MAX_PACKET_SIZE, PacketDecoder, type DecoderOptions } from "../../src/protocol/decode.ts";
import { encodePacket, type Arg } from "../../src/protocol/encode.ts";
import {
  HEADER_SIZE,
  MAX_PACKET_TYPE,
  PACKETS,
  REQ_MAGIC,
  RES_MAGIC,
  type PacketSpec,
} from "../../src/protocol/packets.ts";
import { concat } from "./feed.ts";
import { prng } from "../support/prng.ts";

const GARBAGE_CASES = 100_000;
const MUTATION_CASES = 20_000;

const SEED = Number(process.env.GEARBUN_FUZZ_SEED ?? (Date.now() ^ (Math.random() * 0x100000000)) >>> 0);
console.log(`fuzz seed ${SEED} (rerun: GEARBUN_FUZZ_SEED=${SEED} bun test test/protocol/fuzz.test.ts)`);

const rand = prng(SEED);
const int = (n: number): number => Math.floor(rand() * n); // 0 … n-1
const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
const chance = (p: number): boolean => rand() < p;
const randomBytes = (n: number): Uint8Array => {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = int(256);
  return out;
};
const SPECS = PACKETS.filter((s): s is PacketSpec => s !== undefined);

function randomOptions(): DecoderOptions {
  return {
    magic: chance(0.5) ? REQ_MAGIC : RES_MAGIC,
    allowText: chance(0.4),
    maxPacketSize: pick([DEFAULT_MAX_PACKET_SIZE, 0, 16, 1024, 70_000]),
    maxLineLength: pick([8192, 4, 64]),
  };
}

function header(magic: number, type: number, size: number): Uint8Array {
  const h = new Uint8Array(HEADER_SIZE);
  const v = new DataView(h.buffer);
  v.setUint32(0, magic);
  v.setUint32(4, type);
  v.setUint32(8, size);
  return h;
}

/** Random bytes, often shaped like a header so the decoder gets past its first checks. */
function garbage(options: DecoderOptions): Uint8Array {
  const tail = randomBytes(chance(0.1) ? int(2048) : int(48));
  if (chance(0.4)) return tail;
  const magic = chance(0.8) ? options.magic : pick([REQ_MAGIC, RES_MAGIC, int(0x1000000)]);
  const type = chance(0.8) ? int(MAX_PACKET_TYPE + 3) : int(0x100000000);
  const size = chance(0.6) ? int(tail.length + 1) : chance(0.5) ? int(0x100000000) : int(200_000);
  return concat(header(magic, type, size), tail);
}

function randomArg(data: boolean): Arg {
  if (data) return randomBytes(chance(0.05) ? int(5000) : int(40));
  // Non-data arguments hold no NUL (the encoder does not escape).
  const n = int(12);
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(0x21 + int(90));
  return s;
}

/** A valid stream: 1-8 packets (and, with allowText, admin lines) the decoder must accept. */
function validStream(options: DecoderOptions): Uint8Array {
  const parts: Uint8Array[] = [];
  const count = 1 + int(8);
  for (let i = 0; i < count; i++) {
    if (options.allowText && chance(0.2)) {
      parts.push(new TextEncoder().encode(`${pick(["status", "workers", "version", "show jobs"])}\n`));
      continue;
    }
    const spec = pick(SPECS);
    const args = Array.from({ length: spec.args }, (_, j) => randomArg(spec.data && j === spec.args - 1));
    parts.push(encodePacket(spec.type, args, options.magic));
  }
  return concat(...parts);
}

function mutate(input: Uint8Array): Uint8Array {
  let b = input;
  const count = 1 + int(3);
  for (let m = 0; m < count && b.length > 0; m++) {
    const at = int(b.length);
    switch (int(6)) {
      case 0: // flip a byte anywhere
        b = b.slice();
        b[at] = int(256);
        break;
      case 1: // hit a header-ish byte (type or size of the first packet)
        b = b.slice();
        b[Math.min(b.length - 1, 4 + int(8))] = pick([0, 0xff, int(256)]);
        break;
      case 2: // delete a range
        b = concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + int(16))));
        break;
      case 3: // insert random bytes
        b = concat(b.subarray(0, at), randomBytes(1 + int(16)), b.subarray(at));
        break;
      case 4: // duplicate a range
        b = concat(b.subarray(0, at), b.subarray(at, at + int(32)), b.subarray(at));
        break;
      default: // truncate
        b = b.subarray(0, at);
    }
  }
  return b;
}

/** Random chunking of `b` into 1…n pieces. */
function chunks(b: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < b.length) {
    const n = chance(0.3) ? 1 + int(3) : 1 + int(Math.max(1, b.length));
    out.push(b.subarray(at, at + n));
    at += n;
  }
  return out;
}

type Summary = string;

/**
 * Feeds the pieces; returns a summary of the events. Throws (with the case) on anything but a
 * ProtocolError, on events after the error, or on buffering beyond the bounds.
 */
function run(pieces: readonly Uint8Array[], options: DecoderOptions, what: string): Summary[] {
  const events: Summary[] = [];
  let failed = false;
  const complain = (why: string): never => {
    throw new Error(`fuzz seed ${SEED}, ${what}: ${why}`);
  };
  const decoder = new PacketDecoder(
    {
      packet(p) {
        if (failed) complain("packet after an error");
        events.push(`${p.type}:${p.args.map((a) => Buffer.from(a).toString("hex")).join(",")}`);
      },
      text(line) {
        if (failed) complain("text after an error");
        events.push(`text:${line}`);
      },
      error(e) {
        if (failed) complain("second error");
        if (!(e instanceof ProtocolError)) complain(`non-ProtocolError ${String(e)}`);
        if (e.offset === undefined) complain(`${e.code} without an offset`);
        failed = true;
        events.push(`error:${e.code}:${e.packetType}:${e.offset}`);
      },
    },
    options,
  );
  const bound = Math.max(
    HEADER_SIZE + (options.maxPacketSize ?? DEFAULT_MAX_PACKET_SIZE),
    options.maxLineLength ?? 8192,
  );
  for (const piece of pieces) {
    let ok: boolean;
    try {
      ok = decoder.push(piece);
    } catch (error) {
      return complain(`push threw ${String(error)}`);
    }
    if (ok === failed) complain(`push returned ${ok} with failed=${failed}`);
    if (decoder.buffered > bound) complain(`buffered ${decoder.buffered} > ${bound}`);
  }
  return events;
}

const hex = (b: Uint8Array): string => Buffer.from(b.subarray(0, 200)).toString("hex");

test("fuzz - random garbage gives only ProtocolErrors, chunking-independent, bounded", () => {
  const rssBefore = process.memoryUsage().rss;
  let errors = 0;
  for (let i = 0; i < GARBAGE_CASES; i++) {
    const options = randomOptions();
    const input = garbage(options);
    const what = `garbage case ${i} (${hex(input)}) options ${JSON.stringify(options)}`;
    const whole = run([input], options, what);
    const split = run(chunks(input), options, what);
    if (whole.join("|") !== split.join("|")) {
      throw new Error(
        `fuzz seed ${SEED}, ${what}: chunked feed differs:\n${whole.join("\n")}\n---\n${split.join("\n")}`,
      );
    }
    if (whole.at(-1)?.startsWith("error:")) errors++;
  }
  // Most garbage must be rejected; a fuzzer that never reaches the error paths proves nothing.
  expect(errors).toBeGreaterThan(GARBAGE_CASES / 2);
  Bun.gc(true);
  expect(process.memoryUsage().rss - rssBefore).toBeLessThan(256 * 1024 * 1024);
}, 60_000);

test("fuzz - valid streams decode to their packets; mutations give only ProtocolErrors", () => {
  const rssBefore = process.memoryUsage().rss;
  let mutatedErrors = 0;
  for (let i = 0; i < MUTATION_CASES; i++) {
    const options = { ...randomOptions(), maxPacketSize: DEFAULT_MAX_PACKET_SIZE, maxLineLength: 8192 };
    const valid = validStream(options);
    const what = `mutation case ${i}`;
    const clean = run(chunks(valid), options, `${what} (unmutated ${hex(valid)})`);
    if (clean.some((e) => e.startsWith("error:")))
      throw new Error(`fuzz seed ${SEED}, ${what}: valid stream rejected: ${clean.at(-1)}`);
    expect(clean.join("|")).toBe(run([valid], options, what).join("|"));
    const bad = mutate(valid);
    const badWhat = `${what} (mutated ${hex(bad)}) options ${JSON.stringify(options)}`;
    const whole = run([bad], options, badWhat);
    const split = run(chunks(bad), options, badWhat);
    if (whole.join("|") !== split.join("|")) {
      throw new Error(
        `fuzz seed ${SEED}, ${badWhat}: chunked feed differs:\n${whole.join("\n")}\n---\n${split.join("\n")}`,
      );
    }
    if (whole.at(-1)?.startsWith("error:")) mutatedErrors++;
  }
  expect(mutatedErrors).toBeGreaterThan(MUTATION_CASES / 10);
  Bun.gc(true);
  expect(process.memoryUsage().rss - rssBefore).toBeLessThan(256 * 1024 * 1024);
}, 60_000);

/**
 * Feeds a byte stream to a fresh PacketDecoder three ways — whole, byte by byte, and split in two
 * at every byte boundary — and checks that every way reports the same packets, lines and error.
 */
import { expect } from "bun:test";
import { ProtocolError } from "../../src/errors.ts";
import { PacketDecoder, type DecoderOptions } from "../../src/protocol/decode.ts";

/** What a decoder reported, in a form `toEqual` can compare. */
export type Decoded =
  | { kind: "packet"; type: number; args: number[][] }
  | { kind: "text"; line: string }
  | { kind: "error"; code: string; packetType: number | undefined; offset: number | undefined };

export interface FeedResult {
  events: Decoded[];
  /** What push() returned for the last chunk. */
  accepted: boolean;
  decoder: PacketDecoder;
}

/** Feeds `chunks` in order to a new decoder and records what it reports. */
export function feedChunks(chunks: readonly Uint8Array[], options: DecoderOptions): FeedResult {
  const events: Decoded[] = [];
  const decoder = new PacketDecoder(
    {
      packet: (p) => events.push({ kind: "packet", type: p.type, args: p.args.map((a) => Array.from(a)) }),
      text: (line) => events.push({ kind: "text", line }),
      error: (e) => {
        if (!(e instanceof ProtocolError)) throw new Error(`decoder reported a non-ProtocolError: ${String(e)}`);
        events.push({ kind: "error", code: e.code, packetType: e.packetType, offset: e.offset });
      },
    },
    options,
  );
  let accepted = true;
  for (const c of chunks) accepted = decoder.push(c);
  return { events, accepted, decoder };
}

/**
 * Feeds `bytes` whole, byte by byte and split at every boundary; asserts all agree and returns
 * the events of the whole feed. `everySplit: false` skips the quadratic split pass (big inputs).
 */
export function feedAllWays(bytes: Uint8Array, options: DecoderOptions, everySplit = true): Decoded[] {
  const whole = feedChunks([bytes], options);
  const bytewise = feedChunks(
    Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1)),
    options,
  );
  expect(bytewise.events).toEqual(whole.events);
  expect(bytewise.accepted).toBe(whole.accepted);
  if (everySplit) {
    for (let i = 1; i < bytes.length; i++) {
      const split = feedChunks([bytes.subarray(0, i), bytes.subarray(i)], options);
      if (!Bun.deepEquals(split.events, whole.events) || split.accepted !== whole.accepted) {
        // Let expect print a readable diff, naming the split point.
        expect({ splitAt: i, events: split.events, accepted: split.accepted }).toEqual({
          splitAt: i,
          events: whole.events,
          accepted: whole.accepted,
        });
      }
    }
  }
  return whole.events;
}

/** Concatenates byte arrays. */
export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const nums = (s: string): number[] => Array.from(bytes(s));

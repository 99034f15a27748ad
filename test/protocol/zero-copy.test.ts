/**
 * Zero-copy decoding: packet arguments are views of the received chunks, Bun does not reuse a
 * received buffer under them, and only a body that spans chunks is copied, once.
 */
import { expect, test } from "bun:test";
import type { Socket } from "bun";
import { PacketDecoder } from "../../src/protocol/decode.ts";
import { encodeResponse } from "../../src/protocol/encode.ts";
import { HEADER_SIZE, PacketType, RES_MAGIC, type Packet } from "../../src/protocol/packets.ts";
import { concat } from "./feed.ts";

const BURSTS = 6;
const PER_BURST = 8;
const PAYLOAD = 1500;

/** Burst n: PER_BURST ECHO_RES packets, packet i filled with byte (n * PER_BURST + i) & 0xff. */
const burst = (n: number): Uint8Array =>
  concat(
    ...Array.from({ length: PER_BURST }, (_, i) =>
      encodeResponse(PacketType.ECHO_RES, new Uint8Array(PAYLOAD).fill((n * PER_BURST + i) & 0xff)),
    ),
  );

test("zero-copy - packet views from early socket reads keep their bytes after later reads", async () => {
  // The server sends burst 0 on connect and burst n when the client writes the byte n.
  await using server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      binaryType: "uint8array",
      open(s) {
        s.write(burst(0));
      },
      data(s, data) {
        for (const n of data) s.write(burst(n));
      },
    },
  });

  const kept: { view: Uint8Array; copy: Uint8Array; fromChunk: boolean }[] = [];
  const wrong: number[] = [];
  let firstBurstChunks = 0;
  let packets = 0;
  const done = Promise.withResolvers<void>();
  let currentChunk: Uint8Array | null = null;
  const decoder = new PacketDecoder(
    {
      packet(p: Packet) {
        const view = p.args[0]!;
        const burstNo = Math.floor(packets / PER_BURST);
        if (burstNo === 0) {
          kept.push({
            view,
            copy: view.slice(),
            fromChunk: currentChunk !== null && view.buffer === currentChunk.buffer,
          });
        }
        if (view[0] !== (packets & 0xff)) wrong.push(packets);
        packets++;
        if (packets % PER_BURST === 0) {
          const next = packets / PER_BURST;
          if (next < BURSTS) client.write(new Uint8Array([next]));
          else done.resolve();
        }
      },
      error: (e) => done.reject(e),
    },
    { magic: RES_MAGIC },
  );
  const client = await Bun.connect({
    hostname: "127.0.0.1",
    port: server.port,
    socket: {
      binaryType: "uint8array",
      data(_s, chunk) {
        if (packets < PER_BURST) firstBurstChunks++;
        currentChunk = chunk;
        decoder.push(chunk);
        currentChunk = null;
      },
      close() {
        done.reject(new Error("socket closed early"));
      },
    },
  });
  await done.promise;
  client.end();

  expect(packets).toBe(BURSTS * PER_BURST);
  expect(wrong).toEqual([]);
  expect(firstBurstChunks).toBeGreaterThan(0);
  expect(kept.length).toBe(PER_BURST);
  // The views really are views of the received chunks (not copies), at least for packets that
  // lay whole in one read…
  expect(kept.some((k) => k.fromChunk)).toBe(true);
  // …and after five more rounds of reads, their bytes are unchanged.
  for (const [i, k] of kept.entries()) {
    expect(k.view.length).toBe(PAYLOAD);
    expect(k.view).toEqual(k.copy);
    expect(k.view.every((b) => b === i)).toBe(true);
  }
});

test("zero-copy - a 1 MiB payload arriving in one chunk is a view of that chunk, not a copy", () => {
  const payload = new Uint8Array(1024 * 1024).map((_, i) => i & 0xff);
  const chunk = concat(encodeResponse(PacketType.WORK_COMPLETE, "H:host:1", payload), encodeResponse(PacketType.NOOP));
  const got: Packet[] = [];
  const decoder = new PacketDecoder(
    {
      packet: (p) => got.push(p),
      error: (e) => {
        throw e;
      },
    },
    { magic: RES_MAGIC },
  );
  decoder.push(chunk);
  expect(got.length).toBe(2);
  const [handle, data] = got[0]!.args as [Uint8Array, Uint8Array];
  expect(data.buffer).toBe(chunk.buffer);
  expect(handle.buffer).toBe(chunk.buffer);
  expect(data.byteOffset).toBe(chunk.byteOffset + HEADER_SIZE + "H:host:1".length + 1);
  expect(data.byteOffset + data.byteLength).toBeLessThanOrEqual(chunk.byteOffset + chunk.byteLength);
  expect(data.byteLength).toBe(payload.length);
  // Same memory: a write through the chunk shows through the argument.
  chunk[data.byteOffset - chunk.byteOffset] = 0xee;
  expect(data[0]).toBe(0xee);
});

test("zero-copy - a body spanning chunks is assembled once into a buffer of its exact size", () => {
  const payload = new Uint8Array(1024 * 1024).map((_, i) => (i * 7) & 0xff);
  const packet = encodeResponse(PacketType.ECHO_RES, payload);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < packet.length; i += 65_536) chunks.push(packet.slice(i, i + 65_536));
  const got: Packet[] = [];
  const decoder = new PacketDecoder(
    {
      packet: (p) => got.push(p),
      error: (e) => {
        throw e;
      },
    },
    { magic: RES_MAGIC },
  );
  for (const c of chunks) {
    expect(got.length).toBe(0);
    decoder.push(c);
  }
  expect(got.length).toBe(1);
  const data = got[0]!.args[0]!;
  expect(data).toEqual(payload);
  // One assembly buffer holding exactly the body: no growth, no per-chunk copies kept.
  expect(data.buffer.byteLength).toBe(payload.length);
  expect(data.byteOffset).toBe(0);
  for (const c of chunks) expect(data.buffer).not.toBe(c.buffer);
});

test("zero-copy - a split header with its body whole in the next chunk needs no copy", () => {
  const packet = encodeResponse(PacketType.WORK_DATA, "H:1", new Uint8Array(4096).fill(9));
  const first = packet.slice(0, 5);
  const second = packet.slice(5, HEADER_SIZE);
  const body = packet.slice(HEADER_SIZE);
  const got: Packet[] = [];
  const decoder = new PacketDecoder(
    {
      packet: (p) => got.push(p),
      error: (e) => {
        throw e;
      },
    },
    { magic: RES_MAGIC },
  );
  decoder.push(first);
  decoder.push(second);
  decoder.push(body);
  expect(got.length).toBe(1);
  expect(got[0]!.args[1]!.buffer).toBe(body.buffer);
  expect(got[0]!.args[1]!.length).toBe(4096);
});

test("zero-copy - a 1 MiB packet over a real socket arrives in several reads and is assembled once", async () => {
  const payload = new Uint8Array(1024 * 1024).map((_, i) => (i * 13) & 0xff);
  // Bun's write may take part of the bytes: the rest goes out on drain.
  const pump = (s: Socket<{ rest: Uint8Array }>): void => {
    const n = s.write(s.data.rest);
    if (n > 0) s.data.rest = s.data.rest.subarray(n);
  };
  await using server = Bun.listen<{ rest: Uint8Array }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        s.data = { rest: encodeResponse(PacketType.ECHO_RES, payload) };
        pump(s);
      },
      drain: pump,
      data() {},
    },
  });
  const got: Packet[] = [];
  const buffers: ArrayBufferLike[] = [];
  const done = Promise.withResolvers<void>();
  const decoder = new PacketDecoder(
    {
      packet: (p) => {
        got.push(p);
        done.resolve();
      },
      error: (e) => done.reject(e),
    },
    { magic: RES_MAGIC },
  );
  const client = await Bun.connect({
    hostname: "127.0.0.1",
    port: server.port,
    socket: {
      binaryType: "uint8array",
      data(_s, chunk) {
        buffers.push(chunk.buffer);
        decoder.push(chunk);
      },
    },
  });
  await done.promise;
  client.end();
  const data = got[0]!.args[0]!;
  expect(data).toEqual(payload);
  expect(buffers.length).toBeGreaterThan(1);
  expect(data.buffer.byteLength).toBe(payload.length);
  expect(buffers).not.toContain(data.buffer);
});

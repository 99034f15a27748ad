/**
 * The write queue on its own, over a recording socket: what goes out, in what order, in how many
 * writes, and from which buffer.
 */
import { describe, expect, test } from "bun:test";
import { WriteQueue } from "../../src/util/write-queue.ts";

/**
 * A socket that takes up to `take` bytes per write (all by default) and records a copy of what it
 * took — Bun's write copies too, which is what lets the queue reuse its buffer — and the buffer
 * each write came from.
 */
function recordingSocket(take = Number.POSITIVE_INFINITY) {
  const writes: Uint8Array[] = [];
  const from: ArrayBufferLike[] = [];
  return {
    writes,
    from,
    write(data: Uint8Array, byteOffset = 0, byteLength = data.byteLength - byteOffset): number {
      const n = Math.min(take, byteLength);
      writes.push(data.slice(byteOffset, byteOffset + n));
      from.push(data.buffer);
      return n;
    },
    bytes: (): number[] => writes.flatMap((w) => [...w]),
  };
}

/** Reserves `bytes.length` bytes and writes them in place, as an encoder does. */
function reserveBytes(queue: WriteQueue, bytes: number[]): void {
  const at = queue.reserve(bytes.length);
  queue.reserved.set(bytes, at);
}

const settle = () => Promise.resolve();

describe("write queue", () => {
  test("write queue - what one turn queues goes out in one write, in order", async () => {
    const socket = recordingSocket();
    const queue = new WriteQueue(1 << 20);
    queue.attach(socket);
    reserveBytes(queue, [1, 2, 3]);
    queue.push(new Uint8Array([4, 5]));
    reserveBytes(queue, [6]);
    queue.push(new Uint8Array(100).fill(7)); // large: a part of its own
    reserveBytes(queue, [8, 9]);
    await settle();
    expect(socket.writes.length).toBe(1);
    expect(socket.bytes()).toEqual([1, 2, 3, 4, 5, 6, ...new Array(100).fill(7), 8, 9]);
    expect(queue.pending).toBe(0);
  });

  test("write queue - a small push between reservations keeps the reused buffer (no new one per turn)", async () => {
    const socket = recordingSocket();
    const queue = new WriteQueue(1 << 20);
    queue.attach(socket);
    for (let turn = 0; turn < 3; turn++) {
      reserveBytes(queue, [turn, 1]); // a result…
      queue.push(new Uint8Array([turn, 2])); // …and the constant packet after it
      await settle();
    }
    expect(socket.writes.length).toBe(3);
    expect(socket.bytes()).toEqual([0, 1, 0, 2, 1, 1, 1, 2, 2, 1, 2, 2]);
    // Every turn wrote from the same buffer: the one the queue keeps reusing.
    expect(new Set(socket.from).size).toBe(1);
  });

  /** Reserves `count` 35-byte packets in one synchronous stretch, packet i filled with i & 0xff. */
  const stretch = (queue: WriteQueue, count: number): void => {
    for (let i = 0; i < count; i++) {
      const at = queue.reserve(35);
      queue.reserved.fill(i & 0xff, at, at + 35);
    }
  };
  const expected = (count: number): number[] => Array.from({ length: count * 35 }, (_, b) => Math.floor(b / 35) & 0xff);

  test("write queue - a stretch that fills the buffer writes it at once and goes on in the same buffer", async () => {
    const socket = recordingSocket();
    const queue = new WriteQueue(1 << 30);
    queue.attach(socket);
    const count = 10_000; // 350,000 bytes: five buffers' worth
    stretch(queue, count);
    // Written while the stretch ran, not at its end, and all from one buffer.
    expect(socket.writes.length).toBeGreaterThanOrEqual(5);
    expect(queue.pending).toBeLessThan(64 * 1024);
    expect(new Set(socket.from).size).toBe(1);
    await settle();
    expect(socket.bytes()).toEqual(expected(count));
    expect(queue.pending).toBe(0);
  });

  test("write queue - a socket that took part of a write gets nothing more until drain; nothing is lost", async () => {
    const socket = recordingSocket(1000);
    const queue = new WriteQueue(1 << 30);
    queue.attach(socket);
    const count = 10_000;
    stretch(queue, count);
    expect(socket.writes.length).toBe(1); // the first full buffer; then blocked
    expect(queue.pending).toBe(count * 35 - 1000);
    await settle();
    while (queue.pending > 0) queue.flush(); // the socket's drains
    expect(socket.bytes()).toEqual(expected(count));
  });

  test("write queue - what the socket did not take goes out on flush, in order", async () => {
    const socket = recordingSocket(3);
    const queue = new WriteQueue(1 << 20);
    queue.attach(socket);
    reserveBytes(queue, [1, 2]);
    queue.push(new Uint8Array([3, 4]));
    reserveBytes(queue, [5]);
    await settle();
    expect(socket.bytes()).toEqual([1, 2, 3]);
    expect(queue.pending).toBe(2);
    queue.flush(); // the socket's drain
    queue.flush();
    expect(socket.bytes()).toEqual([1, 2, 3, 4, 5]);
    expect(queue.pending).toBe(0);
  });
});

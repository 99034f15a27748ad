/** QueuedIterator: pushes read in order by for-await, end with or without an error, break. */
import { expect, test } from "bun:test";
import { QueuedIterator } from "../../src/util/queued-iterator.ts";

test("queued iterator - values pushed before and while a loop waits arrive in order, then end", async () => {
  const it = new QueuedIterator<number>();
  it.push(1);
  it.push(2);
  const seen: number[] = [];
  const loop = (async () => {
    for await (const v of it) seen.push(v);
    seen.push(-1);
  })();
  await Bun.sleep(0);
  expect(seen).toEqual([1, 2]); // buffered values are read at once; now the loop waits
  it.push(3);
  it.end();
  it.push(4); // after end: dropped
  await loop;
  expect(seen).toEqual([1, 2, 3, -1]);
  expect(await it.next()).toEqual({ value: undefined, done: true });
});

test("queued iterator - end(error) throws the error once, after the buffered values", async () => {
  const it = new QueuedIterator<string>();
  const boom = new Error("boom");
  it.push("a");
  it.end(boom);
  expect(it.done).toBe(true);
  expect(await it.next()).toEqual({ value: "a", done: false });
  expect(await it.next().catch((e: unknown) => e)).toBe(boom);
  expect(await it.next()).toEqual({ value: undefined, done: true });
});

test("queued iterator - end(error) rejects a next() that is already waiting", async () => {
  const it = new QueuedIterator<string>();
  const waiting = it.next();
  const boom = new Error("boom");
  it.end(boom);
  expect(await waiting.catch((e: unknown) => e)).toBe(boom);
  expect((await it.next()).done).toBe(true);
});

test("queued iterator - several waiting next() calls are answered in call order", async () => {
  const it = new QueuedIterator<number>();
  const a = it.next();
  const b = it.next();
  const c = it.next();
  it.push(10);
  it.push(20);
  it.end();
  expect(await Promise.all([a, b, c])).toEqual([
    { value: 10, done: false },
    { value: 20, done: false },
    { value: undefined, done: true },
  ]);
});

test("queued iterator - break drops the buffer, ends waiting calls and runs onReturn once", async () => {
  let returned = 0;
  const it = new QueuedIterator<number>(() => returned++);
  it.push(1);
  it.push(2);
  for await (const v of it) {
    expect(v).toBe(1);
    break;
  }
  expect(returned).toBe(1);
  expect(it.length).toBe(0);
  it.push(3); // after return: dropped
  expect(await it.next()).toEqual({ value: undefined, done: true });

  const other = new QueuedIterator<number>(() => returned++);
  const waiting = other.next();
  await other.return();
  await other.return();
  expect(await waiting).toEqual({ value: undefined, done: true });
  expect(returned).toBe(2);
});

test("queued iterator - many values pass through without loss or reordering", async () => {
  const it = new QueuedIterator<number>();
  const n = 10_000;
  const reader = (async () => {
    let expected = 0;
    for await (const v of it) {
      if (v !== expected) throw new Error(`got ${v}, expected ${expected}`);
      expected++;
    }
    return expected;
  })();
  for (let i = 0; i < n; i++) {
    it.push(i);
    if (i % 1000 === 0) await Bun.sleep(0); // let the reader catch up and wait sometimes
  }
  it.end();
  expect(await reader).toBe(n);
});

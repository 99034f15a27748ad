import { describe, expect, test } from "bun:test";
import { Fifo } from "../../src/util/fifo.ts";
import { BackgroundSubmit } from "../../src/client/submission.ts";
import { Task, type TaskEvent } from "../../src/client/task.ts";
import { PacketType } from "../../src/protocol/packets.ts";
import { JobExceptionError, JobFailedError, TimeoutError } from "../../src/errors.ts";

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const task = (): Task => new Task(PacketType.SUBMIT_JOB, "fn", "", undefined, new Uint8Array(1), false);

async function collect(it: AsyncIterable<TaskEvent>): Promise<{ events: string[]; thrown: unknown }> {
  const events: string[] = [];
  try {
    for await (const e of it) events.push(e.type);
  } catch (error) {
    return { events, thrown: error };
  }
  return { events, thrown: undefined };
}

describe("task - result", () => {
  test("task - resolves with WORK_COMPLETE data; text() and json()", async () => {
    const t = task();
    t.created("H:1", "h:1");
    t.complete(bytes('{"a":1}'));
    expect(new TextDecoder().decode(await t)).toBe('{"a":1}');
    expect(await t.text()).toBe('{"a":1}');
    expect(await t.json<{ a: number }>()).toEqual({ a: 1 });
    expect(await t.handle).toBe("H:1");
    expect(t.server).toBe("h:1");
    expect(t.state).toBe("complete");
  });

  test("task - a failure nobody awaits is not an unhandled rejection", async () => {
    let unhandled = 0;
    const onUnhandled = (): void => {
      unhandled++;
    };
    process.on("unhandledRejection", onUnhandled);
    try {
      const t = task();
      void t.handle; // looked at, never awaited
      t.reject(new TimeoutError("late"));
      await Bun.sleep(10);
      expect(unhandled).toBe(0);
      expect(await t.catch((e: unknown) => e)).toBeInstanceOf(TimeoutError);
      expect(await t.handle.catch((e: unknown) => e)).toBeInstanceOf(TimeoutError);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  test("task - a background submit is done when created, and settles once", async () => {
    const { promise, resolve } = Promise.withResolvers<string>();
    const t = new BackgroundSubmit(PacketType.SUBMIT_JOB_BG, "fn", "", undefined, "x", false, resolve);
    t.created("H:9");
    t.reject(new TimeoutError("late"));
    expect(t.state).toBe("complete");
    expect(await promise).toBe("H:9");
    expect(t.sendable).toBe(false); // the payload is dropped once it ended
  });

  test("task - the first settlement wins", async () => {
    const t = task();
    t.created("H:1", "h:1");
    t.complete(bytes("x"));
    t.reject(new TimeoutError("late"));
    t.failWith({ type: "fail", error: new JobFailedError("H:1") });
    expect(await t.text()).toBe("x");
  });
});

describe("task - events", () => {
  test("task - events arrive in order and end with the terminal event", async () => {
    const t = task();
    const it = t.events();
    t.created("H:1", "h:1");
    t.event({ type: "data", data: bytes("a") });
    t.event({ type: "status", numerator: 1, denominator: 2 });
    t.event({ type: "warning", data: bytes("w") });
    t.complete(bytes("done"));
    expect(await collect(it)).toEqual({ events: ["data", "status", "warning", "complete"], thrown: undefined });
  });

  test("task - a waiting iterator is woken by each event", async () => {
    const t = task();
    const seen = collect(t.events());
    await Bun.sleep(1);
    t.event({ type: "data", data: bytes("a") });
    await Bun.sleep(1);
    t.failWith({ type: "exception", error: new JobExceptionError("H:1", "boom") });
    expect(await seen).toEqual({ events: ["data", "exception"], thrown: undefined });
    expect(await t.catch((e: unknown) => e)).toBeInstanceOf(JobExceptionError);
  });

  test("task - a timeout or lost connection is thrown by the iterator after earlier events", async () => {
    const t = task();
    const it = t.events();
    t.event({ type: "data", data: bytes("a") });
    t.reject(new TimeoutError("too slow"));
    const { events, thrown } = await collect(it);
    expect(events).toEqual(["data"]);
    expect(thrown).toBeInstanceOf(TimeoutError);
  });

  test("task - events() after the end yields the terminal event", async () => {
    const t = task();
    t.created("H:1", "h:1");
    t.failWith({ type: "fail", error: new JobFailedError("H:1") });
    expect(await collect(t.events())).toEqual({ events: ["fail"], thrown: undefined });
    await t.catch(() => {});
  });

  test("task - nothing is kept for a task nobody iterates, and break stops keeping", async () => {
    const t = task();
    for (let i = 0; i < 1000; i++) t.event({ type: "data", data: bytes("x") });
    const it = t.events();
    t.event({ type: "data", data: bytes("kept") });
    const first = await it.next();
    expect(first.value).toEqual({ type: "data", data: bytes("kept") });
    await it.return!();
    t.event({ type: "data", data: bytes("dropped") });
    expect(await it.next()).toEqual({ value: undefined, done: true });
    // The iterator is detached from the task: the task holds no streams any more.
    expect(Reflect.get(t, "streams")).toEqual([]);
  });
});

describe("task - fifo", () => {
  test("fifo - keeps order across wrap-around and growth", () => {
    const q = new Fifo<number>(4);
    const out: number[] = [];
    let next = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < round % 7; i++) q.push(next++);
      for (let i = 0; i < round % 5 && q.length > 0; i++) out.push(q.shift()!);
    }
    out.push(...q.drain());
    expect(out).toEqual(Array.from({ length: next }, (_, i) => i));
    expect(q.length).toBe(0);
    expect(q.shift()).toBeUndefined();
    expect(q.peek()).toBeUndefined();
  });

  test("fifo - a million push/shift pairs stay O(1) and release their slots", () => {
    const q = new Fifo<object>();
    for (let i = 0; i < 1000; i++) q.push({});
    for (let i = 0; i < 1_000_000; i++) {
      q.push({ i });
      q.shift();
    }
    expect(q.length).toBe(1000);
    q.drain();
    const slots = Reflect.get(q, "items") as unknown[];
    expect(slots.every((s) => s === undefined)).toBe(true);
  });
});

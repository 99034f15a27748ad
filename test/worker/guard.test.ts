/**
 * The worker's guard timer (src/worker/guard.ts) driven directly on Link state machines: it
 * dozes while nothing can be judged, still wakes a sleeper at its re-grab time, and judges a GRAB
 * written during a doze as it judges any other.
 */
import { describe, expect, test } from "bun:test";
import { resolveWorkerOptions } from "../../src/options/worker.ts";
import { GrabGuard } from "../../src/worker/guard.ts";
import { Link, NoJobAnswer } from "../../src/worker/link.ts";

/** A ready link that went to sleep now, due for its re-grab `regrabIn` ms from now. */
function asleep(regrabIn: number): Link {
  const link = new Link(0, "127.0.0.1:4730", 1);
  link.becameReady();
  link.grabSent(Date.now());
  expect(link.noJob(Date.now())).toBe(NoJobAnswer.Sleep);
  link.sleep(Date.now() + regrabIn);
  expect(link.mode).toBe("asleep");
  return link;
}

function guardOf(link: Link, idleRegrabInterval: number) {
  const seen = { runs: 0, woke: [] as number[], stalled: [] as number[] };
  const guard = new GrabGuard([link], resolveWorkerOptions({ idleRegrabInterval }), {
    active: () => true,
    woke: () => seen.woke.push(Date.now()),
    stalled: (_l, grabs) => seen.stalled.push(grabs),
    silent: () => {},
    changed: () => {
      // What the scheduler does: a link owed a GRAB gets one, and the guard watches it.
      if (link.wantsGrab()) {
        link.grabSent(Date.now());
        guard.watch();
      }
    },
    after: () => {
      seen.runs++;
      expect(link.violation(false)).toBeNull();
    },
  });
  return { guard, seen };
}

describe("guard", () => {
  test("guard - with every link asleep it dozes, and still wakes the sleeper at its re-grab time", async () => {
    // idleRegrabInterval 1500: the interval runs every 100 ms while awake.
    const link = asleep(1500);
    const start = Date.now();
    const { guard, seen } = guardOf(link, 1500);
    guard.start();
    try {
      await Bun.sleep(250);
      expect(guard.isDozing).toBe(true);
      const runsWhileDozing = seen.runs;
      expect(runsWhileDozing).toBeGreaterThanOrEqual(1);
      await Bun.sleep(300); // still well before the re-grab time: no run at all
      expect(seen.runs).toBe(runsWhileDozing);
      expect(seen.woke).toEqual([]);
      for (let i = 0; i < 250 && seen.woke.length === 0; i++) await Bun.sleep(20);
      expect(seen.woke.length).toBe(1);
      expect(seen.woke[0]! - start).toBeGreaterThanOrEqual(1490);
      // The re-grab wrote a GRAB: the guard is awake again to judge its answer.
      expect(link.mode).toBe("grabbing");
      expect(guard.isDozing).toBe(false);
    } finally {
      guard.stop();
    }
  });

  test("guard - a GRAB written while it dozes is judged overdue and written off as before", async () => {
    const link = asleep(60_000);
    const { guard, seen } = guardOf(link, 60_000);
    guard.start();
    try {
      for (let i = 0; i < 50 && !guard.isDozing; i++) await Bun.sleep(20);
      expect(guard.isDozing).toBe(true);
      // A NOOP arrives; the GRAB it owes is never answered (a silent server).
      expect(link.woken()).toBe(true);
      link.grabSent(Date.now());
      guard.watch();
      expect(guard.isDozing).toBe(false);
      for (let i = 0; i < 150 && seen.stalled.length === 0; i++) await Bun.sleep(20);
      expect(seen.stalled).toEqual([1]);
      expect(link.mode).toBe("stalled");
      // A stalled link is still watched (its silence is reported at grabTimeout): no doze.
      await Bun.sleep(250);
      expect(guard.isDozing).toBe(false);
    } finally {
      guard.stop();
    }
  });

  test("guard - the answer that leaves no GRAB in flight stops the interval at once, with no run", async () => {
    const link = asleep(60_000);
    const { guard, seen } = guardOf(link, 60_000);
    guard.start();
    try {
      expect(guard.isDozing).toBe(false);
      // A NOOP: the GRAB it owes goes out and the guard watches it; settling now changes nothing.
      expect(link.woken()).toBe(true);
      link.grabSent(Date.now());
      guard.watch();
      guard.settle();
      expect(guard.isDozing).toBe(false);
      // NO_JOB: the link sleeps again, nothing is in flight — the guard dozes before its first run.
      expect(link.noJob(Date.now())).toBe(NoJobAnswer.Sleep);
      link.sleep(Date.now() + 60_000);
      guard.settle();
      expect(guard.isDozing).toBe(true);
      await Bun.sleep(300); // three periods of the interval: it does not run
      expect(seen.runs).toBe(0);
      expect(seen.woke).toEqual([]);
    } finally {
      guard.stop();
    }
  });
});

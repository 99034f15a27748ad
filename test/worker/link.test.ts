/**
 * The per-connection state machine (src/worker/link.ts) driven directly, with its invariants
 * checked after every transition: the named transitions one by one, then long random walks
 * that apply what a server and the scheduler can do in any order.
 */
import { describe, expect, test } from "bun:test";
import { Link, NoJobAnswer } from "../../src/worker/link.ts";
import { prng } from "../support/prng.ts";

const CONCURRENCY = 4;

function fresh(): Link {
  const link = new Link(0, "127.0.0.1:4730");
  expect(link.mode).toBe("down");
  return link;
}

function ok(link: Link, stopping = false): void {
  expect(link.violation(stopping)).toBeNull();
}

describe("link transitions", () => {
  test("link - ready owes a GRAB; grabSent moves it to grabbing", () => {
    const link = fresh();
    link.becameReady();
    ok(link);
    expect(link.mode).toBe("owed");
    expect(link.wantsGrab()).toBe(true);
    link.grabSent(1);
    ok(link);
    expect(link.mode).toBe("grabbing");
    expect(link.wantsGrab()).toBe(false); // depth 1 until a job arrives
  });

  test("link - NO_JOB for the last grab with no wake since: sleep; with a wake since: owed", () => {
    const link = fresh();
    link.becameReady();
    link.grabSent(1);
    expect(link.noJob(2)).toBe(NoJobAnswer.Sleep);
    link.sleep(1000);
    ok(link);
    expect(link.mode).toBe("asleep");
    expect(link.woken()).toBe(true);
    ok(link);
    link.grabSent(3);
    expect(link.woken()).toBe(true); // a NOOP while the GRAB is in flight is remembered
    expect(link.noJob(4)).toBe(NoJobAnswer.Owed);
    ok(link);
    expect(link.mode).toBe("owed");
  });

  test("link - a job doubles the pipelining depth up to the concurrency; an early NO_JOB is not the last", () => {
    const link = fresh();
    link.becameReady();
    link.grabSent(1);
    expect(link.assigned(2, CONCURRENCY)).toBe(true);
    link.grabSent(3);
    link.grabSent(3);
    expect(link.wantsGrab()).toBe(false); // depth 2
    expect(link.noJob(4)).toBe(NoJobAnswer.Grabbing);
    ok(link);
    expect(link.mode).toBe("grabbing");
  });

  test("link - an unanswered GRAB past grabTimeout stalls the link until it speaks", () => {
    const link = fresh();
    link.becameReady();
    link.grabSent(1000);
    expect(link.stall(1500, 1000)).toBe(0);
    expect(link.stall(2001, 1000)).toBe(1);
    ok(link);
    expect(link.mode).toBe("stalled");
    expect(link.wantsGrab()).toBe(false);
    expect(link.woken()).toBe(false); // a stalled link is woken only by speaking
    expect(link.noJob(2100)).toBe(NoJobAnswer.Ignored); // the written-off grab's late answer
    expect(link.spoke()).toBe(true);
    ok(link);
    expect(link.wantsGrab()).toBe(true);
  });

  test("link - the idle guard wakes a link asleep past its re-grab time, not before", () => {
    const link = fresh();
    link.becameReady();
    link.grabSent(1);
    link.noJob(2);
    link.sleep(500);
    expect(link.regrabDue(499)).toBe(false);
    expect(link.regrabDue(500)).toBe(true);
    ok(link);
    expect(link.mode).toBe("owed");
  });

  test("link - lost gives back its grabs and forgets everything; a job assigned while asleep wakes it", () => {
    const link = fresh();
    link.becameReady();
    const session = link.session;
    link.grabSent(1);
    link.assigned(2, CONCURRENCY);
    link.grabSent(3);
    link.grabSent(3);
    expect(link.lost()).toBe(2);
    ok(link);
    expect(link.mode).toBe("down");
    expect(link.session).toBeGreaterThan(session);
    link.becameReady();
    link.grabSent(4);
    link.noJob(5);
    link.sleep(100);
    expect(link.assigned(6, CONCURRENCY)).toBe(false); // a re-queued job handed to a sleeping connection
    ok(link);
    expect(link.mode).toBe("owed");
  });
});

describe("link random walks", () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    test(`link - invariants hold after every step of 5,000 random events (seed ${seed})`, () => {
      const rnd = prng(seed);
      const link = fresh();
      let now = 0;
      let free = CONCURRENCY; // slots not used by grabs in flight (jobs finish at once here)
      const modes = new Set<string>();
      for (let i = 0; i < 5000; i++) {
        now += Math.floor(rnd() * 50);
        const r = rnd();
        if (r < 0.05) {
          free += link.lost();
        } else if (r < 0.15) {
          if (!link.ready) link.becameReady();
        } else if (r < 0.3) {
          link.woken();
        } else if (r < 0.5) {
          // The scheduler's fill(): grab while the link wants one and a slot is free.
          while (free > 0 && link.wantsGrab()) {
            link.grabSent(now);
            free--;
          }
        } else if (r < 0.65) {
          if (link.ready && link.grabsInFlight > 0 && link.assigned(now, CONCURRENCY)) free++;
        } else if (r < 0.85) {
          if (link.ready && link.grabsInFlight > 0) {
            const answer = link.noJob(now);
            if (answer !== NoJobAnswer.Ignored) free++;
            if (answer === NoJobAnswer.Sleep) link.sleep(now + 300);
          }
        } else if (r < 0.9) {
          link.regrabDue(now);
        } else if (r < 0.95) {
          free += link.stall(now, 60);
        } else {
          link.spoke();
        }
        const problem = link.violation(false);
        if (problem !== null) throw new Error(`step ${i}: ${problem}`);
        expect(link.grabsInFlight).toBeLessThanOrEqual(CONCURRENCY);
        expect(free + link.grabsInFlight).toBe(CONCURRENCY);
        modes.add(link.mode);
      }
      // The walk visited every state, so every transition was exercised.
      expect([...modes].sort()).toEqual(["asleep", "down", "grabbing", "owed", "stalled"]);
    });
  }
});

/**
 * The per-connection state machine (src/worker/link.ts) driven directly, with its invariants
 * checked after every transition: the named transitions one by one, then long random walks
 * that apply what a server and the scheduler can do in any order.
 */
import { describe, expect, test } from "bun:test";
import { Link, NoJobAnswer, OVERDUE_CEILING_MS, OVERDUE_FLOOR_MS } from "../../src/worker/link.ts";
import { prng } from "../support/prng.ts";

const CONCURRENCY = 4;

function fresh(): Link {
  const link = new Link(0, "127.0.0.1:4730", CONCURRENCY);
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
    expect(link.stall(1200, 250)).toBe(0);
    expect(link.stall(1251, 250)).toBe(1);
    ok(link);
    expect(link.mode).toBe("stalled");
    expect(link.writtenOff).toBe(1);
    expect(link.wantsGrab()).toBe(false);
    expect(link.woken()).toBe(false); // a stalled link is woken only by speaking
    expect(link.silentPast(1249, 250)).toBe(false);
    expect(link.silentPast(1251, 250)).toBe(true);
    expect(link.silentPast(1300, 250)).toBe(false); // reported once per stall
    expect(link.spoke()).toBe(true); // its late answer: any packet ends the stall...
    expect(link.noJob(2100)).toBe(NoJobAnswer.Ignored); // ...and it answers the written-off grab
    expect(link.writtenOff).toBe(0);
    ok(link);
    expect(link.wantsGrab()).toBe(true);
  });

  test("link - overdue after 4× its slowest recent answer, between the floor and the ceiling, never past grabTimeout", () => {
    const link = fresh();
    link.becameReady();
    expect(link.overdueAfter(0, 10_000)).toBe(OVERDUE_FLOOR_MS); // nothing measured yet
    link.grabSent(0);
    link.assigned(300, CONCURRENCY); // a slow server: 300 ms per answer
    expect(link.slowestAnswer(300)).toBe(300);
    expect(link.overdueAfter(300, 10_000)).toBe(1200);
    expect(link.overdueAfter(300, 1000)).toBe(1000); // grabTimeout caps it
    expect(link.overdueAfter(10_300, 10_000)).toBe(600); // half-life 10 s
    link.grabSent(400);
    link.noJob(5400); // a 5 s gap counts as the cap: the bound stays at the ceiling
    expect(link.overdueAfter(5400, 10_000)).toBe(OVERDUE_CEILING_MS);
    expect(link.overdueAfter(100_000, 10_000)).toBe(OVERDUE_FLOOR_MS); // decayed
  });

  test("link - a slow server answering within its bound is never overdue; a silent one is, at the floor", () => {
    const slow = fresh();
    slow.becameReady();
    let now = 0;
    for (let i = 0; i < 50; i++) {
      slow.grabSent(now);
      expect(slow.overdue(now + 299, 10_000)).toBe(false); // even the first answer: under the floor
      now += 299;
      slow.assigned(now, CONCURRENCY);
      now += 20; // the job runs
    }
    expect(slow.stalls).toBe(0);
    slow.grabSent(now);
    expect(slow.overdue(now + 1000, 10_000)).toBe(false); // ~4× 299 ms, decayed a little
    expect(slow.overdue(now + 1300, 10_000)).toBe(true);
  });

  test("link - written-off answers come first: their job is not counted, the probe is; one probe at most while they are owed", () => {
    const link = fresh();
    link.becameReady();
    link.grabSent(0);
    link.assigned(1, CONCURRENCY); // depth 2
    link.grabSent(2);
    link.grabSent(2);
    expect(link.grabsInFlight).toBe(2);
    expect(link.stall(1000, 10_000)).toBe(2);
    expect(link.writtenOff).toBe(2);
    ok(link);
    link.spoke(); // e.g. a NOOP, before it answers anything
    expect(link.wantsGrab()).toBe(true);
    link.grabSent(1100); // the probe
    expect(link.wantsGrab()).toBe(false); // one at most while written-off answers are owed
    ok(link);
    expect(link.assigned(1200, CONCURRENCY)).toBe(false); // the first written-off GRAB's job: over budget
    expect(link.noJob(1201)).toBe(NoJobAnswer.Ignored); // the second's NO_JOB
    expect(link.writtenOff).toBe(0);
    expect(link.assigned(1202, CONCURRENCY)).toBe(true); // the probe's answer is counted
    ok(link);
    expect(link.wantsGrab()).toBe(true);
  });

  test("link - a probe that goes unanswered is written off in turn, up to the concurrency; then no more probes", () => {
    const link = fresh();
    link.becameReady();
    let now = 0;
    link.grabSent(now);
    for (let i = 1; i <= CONCURRENCY; i++) {
      now += OVERDUE_CEILING_MS + 1;
      expect(link.stall(now, 10_000)).toBe(1);
      expect(link.writtenOff).toBe(i);
      ok(link);
      link.spoke(); // it speaks (a NOOP) but never answers a GRAB
      if (i < CONCURRENCY) {
        expect(link.wantsGrab()).toBe(true);
        link.grabSent(now);
      }
    }
    expect(link.wantsGrab()).toBe(false);
    expect(link.mode).toBe("owed"); // owed, waiting for its answers (or the heartbeat)
    ok(link);
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
      // The worker's slots, modelled: counted jobs and grabs share CONCURRENCY; jobs brought by
      // written-off grabs run over budget. Jobs end at random.
      let counted = 0;
      let over = 0;
      let maxOver = 0;
      const free = (): number => CONCURRENCY - counted - over - link.grabsInFlight;
      const modes = new Set<string>();
      let stalls = 0;
      let probes = 0;
      for (let i = 0; i < 5000; i++) {
        now += Math.floor(rnd() * 50);
        const r = rnd();
        if (r < 0.04) {
          link.lost();
        } else if (r < 0.12) {
          if (!link.ready) link.becameReady();
        } else if (r < 0.25) {
          link.woken();
        } else if (r < 0.42) {
          // The scheduler's fill(): grab while the link wants one and a slot is free.
          while (free() > 0 && link.wantsGrab()) {
            if (link.writtenOff > 0) probes++;
            link.grabSent(now);
          }
        } else if (r < 0.55) {
          if (link.ready && link.grabsInFlight + link.writtenOff > 0) {
            link.spoke();
            if (link.assigned(now, CONCURRENCY)) counted++;
            else over++;
          }
        } else if (r < 0.7) {
          if (link.ready && link.grabsInFlight + link.writtenOff > 0) {
            link.spoke();
            const answer = link.noJob(now);
            if (answer === NoJobAnswer.Sleep) link.sleep(now + 300);
          }
        } else if (r < 0.8) {
          // A job ends.
          if (over > 0 && rnd() < 0.5) over--;
          else if (counted > 0) counted--;
        } else if (r < 0.85) {
          link.regrabDue(now);
        } else if (r < 0.93) {
          // Time passes past the bound (a silent server), then the guard's verdict.
          now += link.overdueAfter(now, 10_000) + 1;
          if (link.stall(now, 10_000) > 0) stalls++;
        } else {
          link.spoke();
        }
        const problem = link.violation(false);
        if (problem !== null) throw new Error(`step ${i}: ${problem}`);
        // The slot budget: counted jobs and grabs fit the concurrency. The bounded exception:
        // at most CONCURRENCY grabs written off at a time, and since no grab goes out while the
        // running jobs fill the concurrency, the over-budget jobs and the grabs still written off
        // stay within twice the concurrency.
        expect(counted + link.grabsInFlight).toBeLessThanOrEqual(CONCURRENCY);
        expect(link.writtenOff + over).toBeLessThanOrEqual(2 * CONCURRENCY);
        expect(link.writtenOff).toBeLessThanOrEqual(CONCURRENCY);
        if (link.writtenOff > 0) expect(link.grabsInFlight).toBeLessThanOrEqual(1);
        maxOver = Math.max(maxOver, over);
        modes.add(link.mode);
      }
      // The walk visited every state and the new transitions, so every one was exercised.
      expect([...modes].sort()).toEqual(["asleep", "down", "grabbing", "owed", "stalled"]);
      expect(stalls).toBeGreaterThan(10);
      expect(probes).toBeGreaterThan(0);
      expect(maxOver).toBeGreaterThan(0);
    });
  }
});

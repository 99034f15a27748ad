/**
 * GrabOrder on its own: which link gets the next GRAB, over stand-in links that always want one
 * (the scheduler tests cover it over real sockets).
 */
import { describe, expect, test } from "bun:test";
import { GrabOrder, STREAK, TURN_MS, turnGrabs } from "../../src/worker/grab-order.ts";
import type { Link } from "../../src/worker/link.ts";

/** Links that want a GRAB while `wants` says so; `wakePending` as the wake queue reads it. */
function links(n: number): (Link & { wants: boolean; wakePending: boolean })[] {
  return Array.from({ length: n }, (_, index) => {
    const link = {
      index,
      wants: true,
      wakePending: false,
      wantsGrab: () => link.wants,
    };
    return link as unknown as Link & { wants: boolean; wakePending: boolean };
  });
}

/** The index of each link `order` picks for `count` GRABs, all at time `now`. */
function picks(order: GrabOrder, count: number, now = 1000): number[] {
  return Array.from({ length: count }, () => order.next(now)?.index ?? -1);
}

/** Lengths of the runs of equal values. */
function turns(seq: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < seq.length; i++) {
    if (i > 0 && seq[i] === seq[i - 1]) out[out.length - 1]!++;
    else out.push(1);
  }
  return out;
}

describe("grab order", () => {
  test("grab order - a turn is 64 GRABs at concurrency 1, fewer as concurrency grows, never fewer than STREAK", () => {
    expect([1, 2, 3, 4, 8, 16, 100].map(turnGrabs)).toEqual([64, 32, 22, 16, 8, 8, 8]);
    expect(Math.min(...[1, 5, 9, 1000].map(turnGrabs))).toBeGreaterThanOrEqual(STREAK);
  });

  test("grab order - busy links take turns of turnGrabs(concurrency), round-robin", () => {
    for (const concurrency of [1, 4, 16]) {
      const order = new GrabOrder(links(3), concurrency);
      const seq = picks(order, 6 * turnGrabs(concurrency));
      expect(turns(seq)).toEqual(new Array(6).fill(turnGrabs(concurrency)));
      expect(seq.filter((_, at) => at % turnGrabs(concurrency) === 0)).toEqual([0, 1, 2, 0, 1, 2]);
    }
  });

  test(`grab order - a turn ends ${TURN_MS} ms after its first GRAB, however few GRABs it took`, () => {
    const order = new GrabOrder(links(2), 1);
    expect(picks(order, 3, 1000)).toEqual([0, 0, 0]);
    expect(order.next(1000 + TURN_MS - 1)?.index).toBe(0);
    expect(order.next(1000 + TURN_MS)?.index).toBe(1); // the turn of link 0 is over
    expect(order.next(1000 + TURN_MS + 5)?.index).toBe(1); // link 1's turn started at its first GRAB
    expect(order.next(1000 + 2 * TURN_MS)?.index).toBe(0);
  });

  test("grab order - a link that woke is served before the current turn, which then goes on", () => {
    const ls = links(3);
    const order = new GrabOrder(ls, 1);
    expect(picks(order, 2)).toEqual([0, 0]);
    ls[2]!.wakePending = true;
    order.woke(ls[2]!);
    expect(order.next(1000)?.index).toBe(2);
    ls[2]!.wakePending = false;
    expect(order.next(1000)?.index).toBe(0);
  });

  test("grab order - a link that stops wanting GRABs ends its turn; none wanting gives none", () => {
    const ls = links(2);
    const order = new GrabOrder(ls, 1);
    expect(picks(order, 2)).toEqual([0, 0]);
    ls[0]!.wants = false;
    expect(picks(order, 2)).toEqual([1, 1]);
    ls[1]!.wants = false;
    expect(order.next(1000)).toBeUndefined();
  });
});

/**
 * Which connection gets the next GRAB when a slot is free. In order:
 * 1. links that woke (NOOP, connect, idle guard, a stalled server speaking again, a new
 *    function), in the order they woke — so a server that keeps assigning cannot starve one
 *    that woke us;
 * 2. the link served last, while its server keeps assigning, up to STREAK grabs in a row (its
 *    results and next GRABs share segments, and a second busy server costs no wake-up per job);
 * 3. round-robin from the link after it, to the next link that owes a GRAB.
 * A link missing from the wake queue is still found by the round-robin scan: the queue only sets
 * priority, so a stale or missing entry can delay a GRAB by one turn, never lose it.
 */
import { Fifo } from "../util/fifo.ts";
import type { Link } from "./link.ts";

/**
 * GRABs in a row the link served last may take while its server keeps assigning, before the next
 * link with work gets its turn: fair over a window of this many jobs, not per job.
 */
export const STREAK = 8;

export class GrabOrder {
  private readonly links: readonly Link[];
  /** Links woken in the order they woke. Entries may be stale (answered already, or down). */
  private readonly wakes = new Fifo<Link>();
  /** Index of the link served last by the streak or the scan. */
  private cursor = -1;
  /** GRABs sent in a row to the link at `cursor`. */
  private streak = 0;

  constructor(links: readonly Link[]) {
    this.links = links;
  }

  /** `link` owes a GRAB because it woke: answer it before any streak. */
  woke(link: Link): void {
    this.wakes.push(link);
  }

  /** The link to send the next GRAB to, or undefined when none wants one. */
  next(): Link | undefined {
    const wakes = this.wakes;
    while (wakes.length > 0) {
      const link = wakes.shift()!;
      // Skipped when its wake was answered already, the link went down, or its GRABs in flight
      // fill its depth (a NO_JOB that leaves the wake owed queues it again).
      if (link.wakePending && link.wantsGrab()) return link;
    }
    const links = this.links;
    if (this.cursor >= 0 && this.streak < STREAK && links[this.cursor]!.wantsGrab()) {
      this.streak++;
      return links[this.cursor];
    }
    const n = links.length;
    let i = this.cursor;
    for (let tried = 0; tried < n; tried++) {
      i = i + 1 >= n ? 0 : i + 1;
      if (links[i]!.wantsGrab()) {
        this.cursor = i;
        this.streak = 1;
        return links[i];
      }
    }
    return undefined;
  }
}

/**
 * Which connection gets the next GRAB when a slot is free. In order:
 * 1. links that woke (NOOP, connect, idle guard, a stalled server speaking again, a new
 *    function), in the order they woke — so a server that keeps assigning cannot starve one
 *    that woke us;
 * 2. the link served last, while its server keeps assigning, for the rest of its turn (its
 *    results and next GRABs share segments, and a second busy server costs no wake-up per job);
 *    a turn is at most `turnGrabs(concurrency)` GRABs and at most TURN_MS long;
 * 3. round-robin from the link after it, to the next link that owes a GRAB.
 * A link missing from the wake queue is still found by the round-robin scan: the queue only sets
 * priority, so a stale or missing entry can delay a GRAB by one turn, never lose it.
 */
import { Fifo } from "../util/fifo.ts";
import type { Link } from "./link.ts";

/**
 * GRABs in a row the link served last may take while its server keeps assigning, before the next
 * link with work gets its turn, at concurrency 8 and above: fair over a window of this many jobs,
 * not per job. Longer turns there outrun a server's queue: the GRABs past its last job come back
 * NO_JOB and scatter the slots over other servers one by one (measured on 64 servers, each with
 * ~16 jobs queued: turns of 16 or 32 cost more syscalls per job than turns of 8).
 */
export const STREAK = 8;
/**
 * Jobs a turn may last at concurrency 1 (`turnGrabs`): one job at a time pays for each change of
 * server in latency — its next GRAB cannot share the segment of its last result — and measured on
 * 4 and 8 servers with queues, turns of 8 cost 4–13 % of the jobs per second that turns of 64 keep.
 */
export const TURN_JOBS = 64;
/**
 * A turn also ends once this long has passed since its first GRAB, so slow jobs hand the turn on
 * after each job (one GRAB segment more per job, nothing against a job that takes this long).
 */
export const TURN_MS = 10;

/** GRABs one turn may take: TURN_JOBS at concurrency 1, fewer as it grows, at least STREAK. */
export function turnGrabs(concurrency: number): number {
  return Math.max(STREAK, Math.ceil(TURN_JOBS / concurrency));
}

export class GrabOrder {
  private readonly links: readonly Link[];
  /** Links woken in the order they woke. Entries may be stale (answered already, or down). */
  private readonly wakes = new Fifo<Link>();
  private readonly turnGrabs: number;
  /** Index of the link served last by the streak or the scan. */
  private cursor = -1;
  /** GRABs sent in a row to the link at `cursor`. */
  private streak = 0;
  /** `Date.now()` of the first GRAB of the current turn. */
  private turnStart = 0;

  constructor(links: readonly Link[], concurrency: number) {
    this.links = links;
    this.turnGrabs = turnGrabs(concurrency);
  }

  /** `link` owes a GRAB because it woke: answer it before any streak. */
  woke(link: Link): void {
    this.wakes.push(link);
  }

  /** The link to send the next GRAB to at `now` (`Date.now()`), or undefined when none wants one. */
  next(now: number): Link | undefined {
    const wakes = this.wakes;
    while (wakes.length > 0) {
      const link = wakes.shift()!;
      // Skipped when its wake was answered already, the link went down, or its GRABs in flight
      // fill its depth (a NO_JOB that leaves the wake owed queues it again).
      if (link.wakePending && link.wantsGrab()) return link;
    }
    const links = this.links;
    if (
      this.cursor >= 0 &&
      this.streak < this.turnGrabs &&
      now - this.turnStart < TURN_MS &&
      links[this.cursor]!.wantsGrab()
    ) {
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
        this.turnStart = now;
        return links[i];
      }
    }
    return undefined;
  }
}

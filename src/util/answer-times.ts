/**
 * How long a peer may leave a request unanswered before it counts as silent, learnt from how
 * long its answers have taken. Shared by the worker (GRABs) and the client (submits): a silent
 * server should cost its healthy peers nothing long before a heartbeat declares it dead, and a
 * slow one, which answers, must not be taken for silent.
 *
 * The bound is OVERDUE_FACTOR × the slowest recent answer gap, kept between OVERDUE_FLOOR_MS
 * and OVERDUE_CEILING_MS. A gap is the time from the oldest unanswered request (or the previous
 * answer, whichever is later) to an answer. The slowest gap decays by half every
 * ANSWER_HALF_LIFE_MS, so one slow spell does not loosen the bound for good; a gap counts at
 * most OVERDUE_CEILING_MS / OVERDUE_FACTOR, so the answers after a long freeze raise the bound
 * to the ceiling, not past it.
 */

/**
 * The bound never goes below this. Answers on loopback take well under a millisecond; under
 * load (two cores shared by a test suite, job servers and several workers) the slowest gaps
 * measured were tens of milliseconds (docs/protocol.md, "Silent servers"), so 500 ms leaves a
 * wide margin — a server that answers every packet 300 ms late is never taken for silent, not
 * even before its first answer was measured — and a false verdict costs little: the server's
 * next answer ends it.
 */
export const OVERDUE_FLOOR_MS = 500;
/** The bound never goes above this: a silent server keeps new work waiting 2 s at most. */
export const OVERDUE_CEILING_MS = 2000;
/** The bound is this many times the slowest recent answer gap. */
export const OVERDUE_FACTOR = 4;
/** A measured gap counts half after this long. */
export const ANSWER_HALF_LIFE_MS = 10_000;

export class AnswerTimes {
  private slowestGap = 0;
  private measuredAt = 0;

  /** An answer came `gap` ms after the wait for it began, at `now` (ms, one clock throughout). */
  answered(gap: number, now: number): void {
    const g = Math.min(gap, OVERDUE_CEILING_MS / OVERDUE_FACTOR);
    if (g >= this.slowest(now)) {
      this.slowestGap = g;
      this.measuredAt = now;
    }
  }

  /** The slowest recent gap at `now`, decayed (ms; 0 before any answer). */
  slowest(now: number): number {
    if (this.slowestGap === 0) return 0;
    return this.slowestGap * 0.5 ** ((now - this.measuredAt) / ANSWER_HALF_LIFE_MS);
  }

  /** How long a wait may last at `now` before the peer is overdue (ms), at most `cap`. */
  overdueAfter(now: number, cap = OVERDUE_CEILING_MS): number {
    const bound = Math.min(OVERDUE_CEILING_MS, Math.max(OVERDUE_FLOOR_MS, OVERDUE_FACTOR * this.slowest(now)));
    return Math.min(cap, Math.ceil(bound));
  }

  /** Forget what was measured (a new connection may reach another host). */
  reset(): void {
    this.slowestGap = 0;
    this.measuredAt = 0;
  }
}

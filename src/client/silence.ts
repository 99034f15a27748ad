/**
 * The client's silence check: one timer over its server links. A connected server whose oldest
 * request (a submit's JOB_CREATED, a status) has waited past its overdue bound with nothing
 * heard — a few times its recent answer gaps, 500 ms to 2 s (util/answer-times.ts) — is marked
 * silent, and new submits go to the other servers until it sends anything again (the link
 * clears the mark). The heartbeat still decides when the connection is dead; this only decides
 * where new work goes, so a frozen server costs new submits at most its bound plus one period.
 *
 * A server is judged only on time it had to answer: a timer our own code held back for more
 * than half a link's bound gives that link a new wait, and the verdict waits until the I/O that
 * had already arrived was handled (util/deadline.ts).
 */
import { afterArrivedIo } from "../util/deadline.ts";
import { OVERDUE_FLOOR_MS } from "../util/answer-times.ts";
import type { ServerLink } from "./link.ts";

/** How often the check runs: a verdict comes at most this long after a bound passes. */
const PERIOD_MS = Math.floor(OVERDUE_FLOOR_MS / 3);

export class SilenceCheck {
  private timer: ReturnType<typeof setInterval> | null;
  private ranAt = performance.now();
  private verdictPending = false;

  constructor(
    private readonly links: readonly ServerLink[],
    private readonly changed: () => void,
  ) {
    this.timer = setInterval(() => this.run(), PERIOD_MS);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private run(): void {
    const now = performance.now();
    const late = now - this.ranAt - PERIOD_MS;
    this.ranAt = now;
    let overdue = false;
    for (const link of this.links) {
      if (link.silent || !link.isReady) continue;
      if (late > link.overdueAfter(now) / 2) link.excuse(now);
      else if (link.overdue(now)) overdue = true;
    }
    if (!overdue || this.verdictPending) return;
    this.verdictPending = true;
    afterArrivedIo(() => {
      this.verdictPending = false;
      if (this.timer === null) return;
      const at = performance.now();
      let marked = false;
      for (const link of this.links) {
        if (!link.silent && link.isReady && link.overdue(at)) {
          link.silent = true;
          marked = true;
        }
      }
      if (marked) this.changed();
    });
  }
}

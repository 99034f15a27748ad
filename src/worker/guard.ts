/**
 * The worker's one timer, over all its connections:
 * - idle re-grab: a link asleep past `idleRegrabInterval` (± jitter) is woken as if its NOOP had
 *   come — the stand-in for a lost wake-up;
 * - overdue GRABs: a link whose oldest GRAB went unanswered past its overdue bound (a few times
 *   its recent answer times, 500 ms to 2 s, at most `grabTimeout`: Link.overdueAfter) is stalled,
 *   its grabs written off so their slots go to the other servers at once, until it speaks again;
 *   one still silent at `grabTimeout` is reported (an `error` event).
 * A server is judged overdue only on time it had to answer: when our own code held the timer
 * back for more than half of a link's bound, its wait starts again; otherwise the verdict waits
 * until the I/O that had already arrived was handled (an answer there un-does the overdue state).
 * The timer runs every 10–100 ms so a verdict comes at most ~100 ms after the bound, while
 * there is something to judge: a GRAB in flight or a stalled link. With none (every link asleep,
 * down, or busy with no GRAB out) it dozes: the interval stops and one timeout wakes it at the
 * first sleeper's re-grab time; the next GRAB written (`watch`) starts the interval again, and
 * the answer that leaves nothing in flight (`settle`) stops it. An idle worker then costs a timer
 * per re-grab, not ten a second.
 */
import type { ResolvedWorkerOptions } from "../options.ts";
import { afterArrivedIo } from "../util/deadline.ts";
import { OVERDUE_FLOOR_MS } from "../util/answer-times.ts";
import type { Link } from "./link.ts";

export interface GuardHooks {
  /** False once the worker stops: no more re-grabs. */
  active(): boolean;
  /** The idle re-grab woke `link`. */
  woke(link: Link): void;
  /** `link` was stalled; `grabs` GRABs were written off. */
  stalled(link: Link, grabs: number): void;
  /** `link` is stalled and has been silent past `grabTimeout` (once per stall). */
  silent(link: Link): void;
  /** Some link woke or stalled: hand out slots again. */
  changed(): void;
  /** After every run (the invariant check). */
  after(): void;
}

export class GrabGuard {
  private readonly links: readonly Link[];
  private readonly grabTimeout: number;
  private readonly period: number;
  private readonly hooks: GuardHooks;
  private timer: ReturnType<typeof setInterval> | null = null;
  /** Nothing to judge: the interval is off; `dozeTimer` (if any) wakes the first sleeper due. */
  private dozing = false;
  private dozeTimer: ReturnType<typeof setTimeout> | null = null;
  /** When the guard last ran (or started): a long gap means our own code held the loop. */
  private ranAt = 0;
  /** A grab-timeout verdict is waiting for the I/O that had already arrived. */
  private verdictPending = false;

  constructor(links: readonly Link[], config: ResolvedWorkerOptions, hooks: GuardHooks) {
    this.links = links;
    this.grabTimeout = config.grabTimeout;
    const shortest = Math.min(config.idleRegrabInterval, config.grabTimeout, OVERDUE_FLOOR_MS);
    this.period = Math.max(10, Math.min(100, Math.floor(shortest / 3)));
    this.hooks = hooks;
  }

  start(): void {
    this.dozing = false;
    this.ranAt = Date.now();
    this.timer = setInterval(() => this.run(), this.period);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.wake();
  }

  /** True while the interval is off for want of anything to judge. */
  get isDozing(): boolean {
    return this.dozing;
  }

  /** A GRAB was written: it has an answer to be judged on, so a dozing guard runs again. */
  watch(): void {
    if (!this.dozing) return;
    this.wake();
    this.start();
  }

  /**
   * The scheduler handled an answer that left no GRAB in flight: doze now if nothing is left to
   * judge, instead of at the next run — so a worker woken for one job and asleep again after it
   * (the herd, an idle re-grab) costs no run of the interval at all.
   */
  settle(): void {
    if (this.timer !== null && this.quiet()) this.doze(Date.now());
  }

  private wake(): void {
    this.dozing = false;
    if (this.dozeTimer !== null) clearTimeout(this.dozeTimer);
    this.dozeTimer = null;
  }

  /** Nothing to judge: no link has a GRAB in flight or is stalled, and no verdict waits. */
  private quiet(): boolean {
    if (this.verdictPending) return false;
    for (const link of this.links) if (link.stalled || (link.ready && link.grabsInFlight > 0)) return false;
    return true;
  }

  /** Stops the interval until the next GRAB (`watch`), or the first sleeper's re-grab time. */
  private doze(now: number): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.wake();
    this.dozing = true;
    if (!this.hooks.active()) return;
    let due = Number.POSITIVE_INFINITY;
    for (const link of this.links) if (link.ready && link.asleep && link.regrabAt < due) due = link.regrabAt;
    if (due === Number.POSITIVE_INFINITY) return;
    this.dozeTimer = setTimeout(
      () => {
        this.dozeTimer = null;
        this.ranAt = Date.now() - this.period; // a doze is no delay of ours
        this.run();
      },
      Math.max(0, Math.ceil(due - now)),
    );
    this.dozeTimer.unref?.();
  }

  private run(): void {
    const now = Date.now();
    const late = now - this.ranAt - this.period;
    this.ranAt = now;
    const active = this.hooks.active();
    let changed = false;
    let overdue = false;
    for (const link of this.links) {
      if (active && link.regrabDue(now)) {
        this.hooks.woke(link);
        changed = true;
        continue;
      }
      if (late > link.overdueAfter(now, this.grabTimeout) / 2) link.excuse(now);
      else if (link.overdue(now, this.grabTimeout)) overdue = true;
      if (link.silentPast(now, this.grabTimeout)) this.hooks.silent(link);
    }
    if (overdue && !this.verdictPending) {
      this.verdictPending = true;
      afterArrivedIo(() => {
        this.verdictPending = false;
        if (this.timer !== null) this.stallOverdue();
      });
    }
    if (changed) this.hooks.changed();
    // A wake just above wrote a GRAB (and started the interval again) unless nothing was owed.
    if ((this.timer !== null || this.dozing) && this.quiet()) this.doze(now);
    this.hooks.after();
  }

  /** Writes off the grabs of links still overdue once the arrived I/O was handled. */
  private stallOverdue(): void {
    const now = Date.now();
    let changed = false;
    for (const link of this.links) {
      const written = link.stall(now, this.grabTimeout);
      if (written > 0) {
        this.hooks.stalled(link, written);
        changed = true;
      }
    }
    if (changed) this.hooks.changed();
    this.hooks.after();
  }
}

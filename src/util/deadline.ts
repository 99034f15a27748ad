/**
 * A timer that decides a peer is silent or slow, measured in what the peer did rather than in
 * how long our own code held the event loop. A synchronous stretch (a bulk submit loop, a
 * CPU-heavy job handler) delays every timer and every socket callback alike; when it ends, the
 * timer may run before the I/O that arrived meanwhile is handled, and would blame the peer for
 * our own delay. So before `expired` is called:
 *
 * - a timer that fired more than half its wait late is started again with the same wait: our
 *   own loop held it for most of the wait, and the peer gets a whole one from now;
 * - otherwise the verdict waits three `setImmediate` hops. Bun runs immediates queued by a timer
 *   before the next I/O poll and those queued by an immediate after it, so by the third hop two
 *   polls have run: every socket event that had already arrived has been handled, and a peer in
 *   this same process (the embedded server) has read what waited for it and its answer has been
 *   read too. `expired(arrivedLate)` then says whether the peer showed life (`activity()`, a
 *   `performance.now()` time) at or after the moment the wait was due: whatever our loop handled
 *   that late had been kept waiting by it, so the caller decides whether that answers the
 *   deadline or earns a new wait.
 *
 * One pending wait at most: `start` replaces it, `stop` cancels it (including a verdict still
 * waiting for its hops).
 */
export class Deadline {
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Bumped by start and stop: a timer or hop from an older wait sees a different value and quits. */
  private generation = 0;
  private waitMs = 0;
  private due = 0;
  private pending = false;

  /**
   * @param activity `performance.now()` of the peer's last sign of life (0: none yet)
   * @param expired called once per wait that ran out; `arrivedLate` as above
   * @param judging whether this wait ends in a verdict on the peer (default: always). A wait
   *   that only decides something harmless to get wrong (whether to send a ping) skips the
   *   hops: `expired` runs from the timer itself, so an idle connection costs one wake-up per
   *   wait rather than four.
   */
  constructor(
    private readonly activity: () => number,
    private readonly expired: (arrivedLate: boolean) => void,
    private readonly judging: () => boolean = () => true,
  ) {}

  /** True while a wait (or its verdict) is pending. */
  get armed(): boolean {
    return this.pending;
  }

  /** Starts a wait of `ms`, replacing any pending one. */
  start(ms: number): void {
    this.stop();
    this.pending = true;
    this.waitMs = ms;
    this.due = performance.now() + ms;
    const generation = this.generation;
    this.timer = setTimeout(() => this.fire(generation), ms);
  }

  /** Cancels the pending wait, if any. */
  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.pending = false;
    this.generation++;
  }

  private fire(generation: number): void {
    if (generation !== this.generation) return;
    this.timer = null;
    if (performance.now() - this.due > this.waitMs / 2) {
      this.start(this.waitMs);
      return;
    }
    if (!this.judging()) {
      this.pending = false;
      this.generation++;
      this.expired(this.activity() >= this.due);
      return;
    }
    afterArrivedIo(() => {
      if (generation !== this.generation) return;
      this.pending = false;
      this.generation++;
      this.expired(this.activity() >= this.due);
    });
  }
}

/**
 * Runs `fn` once the socket events that have already arrived were handled, including the answer
 * of a peer in this same process: three `setImmediate` hops, two I/O polls (see Deadline).
 * For a verdict taken outside a Deadline, such as a periodic check.
 */
export function afterArrivedIo(fn: () => void, hops = 3): void {
  setImmediate(() => (hops > 1 ? afterArrivedIo(fn, hops - 1) : fn()));
}

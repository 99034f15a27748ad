/**
 * One server connection as the worker's scheduler sees it: the state that makes a multi-server
 * worker never stall, written only by the named transitions below (docs/protocol.md, "Wake-ups").
 *
 *                 ready()                       grabSent()
 *   down ───────────────────────► owed ───────────────────────► grabbing
 *    ▲                             ▲  ▲                          │  │  │
 *    │ lost() from any state       │  └── assigned() (hasWork) ──┘  │  │ noJob(), last grab,
 *    │                             │                                │  │ no wake since
 *    │                 woken() / regrabDue()                        │  ▼
 *    │                             └───────────────── asleep ◄──── sleep()
 *    │                 spoke() (any packet)                         │
 *    │                             └───────────────── stalled ◄──── stall() (overdue)
 *
 * - owed: a GRAB is owed — a NOOP arrived (`wakePending`), the connection just became ready, or
 *   the last answer was a job so more may be queued (`hasWork`). It is never dropped: with no
 *   free slot it waits until one frees.
 * - grabbing: GRABs in flight, pipelined up to `depth` while `hasWork` (depth doubles per job up
 *   to the concurrency, back to 1 on NO_JOB). A NOOP that arrives meanwhile is remembered.
 * - asleep: PRE_SLEEP sent; only after the LAST grab in flight came back NO_JOB with no wake
 *   since (an earlier NO_JOB may be followed by a job). Woken by NOOP or by the idle guard.
 * - stalled: its oldest GRAB went unanswered past the link's overdue bound (`overdueAfter`: a few
 *   times its recent answer times, 500 ms to 2 s, never past `grabTimeout`; util/answer-times.ts); its GRABs were written off, their slots given to the other servers at once.
 *   Skipped until the server sends anything again.
 * - written off: GRABs sent and still owed an answer whose slots were given back (`writtenOff`).
 *   The server answers a connection's packets in order, so the next `writtenOff` answers are
 *   theirs: a job they bring runs over budget, a NO_JOB changes nothing. While any is owed the
 *   link holds at most one counted GRAB (the probe, after it spoke), and never more than
 *   `concurrency` are written off: the over-budget exception is bounded per server.
 * A ready link is in exactly one of owed, grabbing, asleep, stalled — never idle with nothing
 * that will make it grab again (the lost wake-up this design exists to prevent).
 */
import type { Connection } from "../connection/connection.ts";
import type { GearmanError } from "../errors.ts";
import { AnswerTimes } from "../util/answer-times.ts";
import type { Job } from "./job.ts";

export { OVERDUE_CEILING_MS, OVERDUE_FLOOR_MS } from "../util/answer-times.ts";

/** What `noJob()` leaves the link owing. */
export const NoJobAnswer = {
  /** Not an answer to a counted GRAB (e.g. after the grabs were written off): nothing changes. */
  Ignored: 0,
  /** Other grabs are still in flight. */
  Grabbing: 1,
  /** The last grab came back empty and no wake arrived since: send PRE_SLEEP (`sleep()`). */
  Sleep: 2,
  /** The last grab came back empty but a wake arrived since: grab again when a slot frees. */
  Owed: 3,
} as const;
export type NoJobAnswer = (typeof NoJobAnswer)[keyof typeof NoJobAnswer];

export type LinkMode = "down" | "owed" | "grabbing" | "asleep" | "stalled" | "stopped";

export class Link {
  readonly index: number;
  readonly key: string;
  connection!: Connection;

  // State: each field below is written only by the transitions of this class.
  private _ready = false;
  private _session = 0;
  private _grabsInFlight = 0;
  private _depth = 1;
  private _wakePending = false;
  private _hasWork = false;
  private _asleep = false;
  private _stalled = false;
  private _waitingSince = 0;
  private _regrabAt = 0;
  private _writtenOff = 0;
  /** How long its GRAB answers took lately: the overdue bound. */
  private readonly answers = new AnswerTimes();
  /** The stall was reported (once per stall, at `grabTimeout`). */
  private _reported = false;

  // Counters for stats(); written by the scheduler and the job runner.
  jobsRunning = 0;
  /** Times the link was found overdue and its GRABs written off. */
  stalls = 0;
  /** Results delivered (WORK_COMPLETE, WORK_FAIL, WORK_EXCEPTION written). */
  jobsDone = 0;
  jobsLost = 0;
  noops = 0;
  /** GRAB answers: JOB_ASSIGN* (a job) and NO_JOB, counting only answers to counted GRABs. */
  grabsAnsweredJob = 0;
  grabsAnsweredNoJob = 0;
  lastError: GearmanError | null = null;
  /** Jobs from the current session, by handle (to abort them on loss, and spot a re-assignment). */
  readonly jobs = new Map<string, Job>();

  /** The worker's concurrency: the most GRABs this link may have written off at a time. */
  readonly concurrency: number;

  constructor(index: number, key: string, concurrency: number) {
    this.index = index;
    this.key = key;
    this.concurrency = concurrency;
  }

  get ready(): boolean {
    return this._ready;
  }
  /** Incremented on every ready and every loss: a job delivers only on the session it came from. */
  get session(): number {
    return this._session;
  }
  get grabsInFlight(): number {
    return this._grabsInFlight;
  }
  get wakePending(): boolean {
    return this._wakePending;
  }
  get asleep(): boolean {
    return this._asleep;
  }
  get stalled(): boolean {
    return this._stalled;
  }
  /** When an asleep link is due for its idle re-grab, ms since epoch. */
  get regrabAt(): number {
    return this._regrabAt;
  }
  /** Since when the oldest GRAB in flight has waited for an answer, ms since epoch. */
  get waitingSince(): number {
    return this._waitingSince;
  }
  /** GRABs sent, still owed an answer, whose slots were given back (see the header). */
  get writtenOff(): number {
    return this._writtenOff;
  }

  /** The slowest recent answer gap at `now`, decayed (ms). */
  slowestAnswer(now: number): number {
    return this.answers.slowest(now);
  }

  /**
   * How long the oldest GRAB in flight may wait at `now` before the link is overdue: a few times
   * its slowest recent answer, within the floor and ceiling (util/answer-times.ts), at most
   * `grabTimeout`.
   */
  overdueAfter(now: number, grabTimeout: number): number {
    return this.answers.overdueAfter(now, grabTimeout);
  }

  /** Where the link is in its life (for stats and invariant messages). */
  get mode(): LinkMode {
    if (!this._ready) return "down";
    if (this._stalled) return "stalled";
    if (this._asleep) return "asleep";
    if (this._grabsInFlight > 0) return "grabbing";
    if (this._wakePending || this._hasWork) return "owed";
    return "stopped";
  }

  /** Should the scheduler send this link a GRAB now, if a slot is free? */
  wantsGrab(): boolean {
    if (!this._ready || this._stalled || !(this._wakePending || this._hasWork)) return false;
    // Owing written-off answers: one probe at a time, and none once `concurrency` are owed (a
    // probe that goes unanswered is written off in turn: this caps the over-budget exception).
    if (this._writtenOff > 0) return this._grabsInFlight === 0 && this._writtenOff < this.concurrency;
    return this._grabsInFlight < this._depth;
  }

  // ---------------------------------------------------------------------------------------
  // Transitions

  /** The connection is (again) ready: a new session that owes a GRAB (jobs may be queued already). */
  becameReady(): void {
    this._ready = true;
    this._session++;
    this._grabsInFlight = 0;
    this._depth = 1;
    this._hasWork = false;
    this._asleep = false;
    this._stalled = false;
    this._writtenOff = 0;
    this._reported = false;
    this._wakePending = true;
  }

  /** The connection was lost. Returns the grabs in flight it had, which the caller gives back. */
  lost(): number {
    const grabs = this._grabsInFlight;
    this._ready = false;
    this._session++;
    this._grabsInFlight = 0;
    this._depth = 1;
    this._wakePending = false;
    this._hasWork = false;
    this._asleep = false;
    this._stalled = false;
    this._writtenOff = 0;
    this._reported = false;
    return grabs;
  }

  /**
   * A NOOP (or a new function that may have jobs queued): owe a GRAB. False when down, or
   * stalled (a stalled link is woken by `spoke()` when its server sends anything).
   */
  woken(): boolean {
    if (!this._ready || this._stalled) return false;
    this._asleep = false;
    this._wakePending = true;
    return true;
  }

  /** A GRAB was written. */
  grabSent(now: number): void {
    if (this._grabsInFlight === 0) this._waitingSince = now;
    this._grabsInFlight++;
    this._wakePending = false;
    this._asleep = false;
  }

  /**
   * A JOB_ASSIGN arrived. Returns true when it answered a counted GRAB; false when it came
   * without one (its grabs were written off as stalled), so the job runs over the budget.
   */
  assigned(now: number, concurrency: number): boolean {
    const counted = this.answered(now);
    this._hasWork = true;
    this._asleep = false; // a job handed to a sleeping connection (a re-queue) wakes it
    if (this._depth < concurrency) this._depth = Math.min(concurrency, this._depth * 2);
    return counted;
  }

  /** A NO_JOB arrived: what the link now owes (see NoJobAnswer). */
  noJob(now: number): NoJobAnswer {
    if (!this.answered(now)) return NoJobAnswer.Ignored;
    this._hasWork = false;
    this._depth = 1;
    if (this._grabsInFlight > 0) return NoJobAnswer.Grabbing;
    return this._wakePending ? NoJobAnswer.Owed : NoJobAnswer.Sleep;
  }

  /** PRE_SLEEP was written; the idle guard wakes the link at `regrabAt` if no NOOP comes first. */
  sleep(regrabAt: number): void {
    this._asleep = true;
    this._regrabAt = regrabAt;
  }

  /** The idle guard's check: asleep past the re-grab time? Then it is woken (a lost NOOP's stand-in). */
  regrabDue(now: number): boolean {
    if (!this._ready || !this._asleep || now < this._regrabAt) return false;
    this._asleep = false;
    this._wakePending = true;
    return true;
  }

  /** The oldest GRAB in flight has waited past `overdueAfter` (a question: nothing changes). */
  overdue(now: number, grabTimeout: number): boolean {
    return this._ready && this._grabsInFlight > 0 && now - this._waitingSince > this.overdueAfter(now, grabTimeout);
  }

  /**
   * Our own code held the event loop (and the guard) for much of the wait: it starts again now,
   * so the server is judged only on time it had to answer.
   */
  excuse(now: number): void {
    if (this._grabsInFlight > 0) this._waitingSince = now;
  }

  /**
   * The oldest GRAB is overdue: write the grabs off (returned, for the caller to give back) and
   * skip the link until it speaks. 0 when not overdue.
   */
  stall(now: number, grabTimeout: number): number {
    if (!this.overdue(now, grabTimeout)) return 0;
    const grabs = this._grabsInFlight;
    this._grabsInFlight = 0;
    this._writtenOff += grabs;
    this._hasWork = false;
    this._wakePending = false;
    this._depth = 1;
    this._stalled = true;
    this._reported = false;
    this.stalls++;
    return grabs;
  }

  /**
   * Still stalled and silent since its oldest GRAB for more than `grabTimeout`: true once per
   * stall, for the caller to report it.
   */
  silentPast(now: number, grabTimeout: number): boolean {
    if (!this._stalled || this._reported || now - this._waitingSince <= grabTimeout) return false;
    this._reported = true;
    return true;
  }

  /** A stalled link sent something: grab afresh (whatever it sent is not owed to a counted GRAB). */
  spoke(): boolean {
    if (!this._stalled) return false;
    this._stalled = false;
    this._wakePending = true;
    return true;
  }

  /**
   * An answer to a GRAB arrived. Answers come in the order the GRABs went out, and written-off
   * GRABs are older than any counted one still in flight (none goes out while they are owed but
   * the probe, which is sent after them): the written-off ones are answered first. Returns true
   * when it answered a counted GRAB.
   */
  private answered(now: number): boolean {
    if (this._writtenOff > 0) {
      this._writtenOff--;
      if (this._grabsInFlight > 0) this._waitingSince = now; // the server is answering: a new wait
      return false;
    }
    if (this._grabsInFlight === 0) return false;
    this.answers.answered(now - this._waitingSince, now);
    this._grabsInFlight--;
    if (this._grabsInFlight > 0) this._waitingSince = now;
    return true;
  }

  // ---------------------------------------------------------------------------------------
  // Invariants

  /**
   * Returns what is wrong with this link's state, or null. `stopping`: a stopping worker lets
   * links run dry (owes nothing, sleeps nowhere), so "never idle" does not apply.
   */
  violation(stopping: boolean): string | null {
    const where = `link ${this.key}`;
    if (this._grabsInFlight < 0) return `${where}: ${this._grabsInFlight} grabs in flight`;
    if (this._writtenOff < 0 || this._writtenOff > this.concurrency) {
      return `${where}: ${this._writtenOff} grabs written off (at most ${this.concurrency})`;
    }
    if (this._writtenOff > 0 && this._grabsInFlight > 1) {
      return `${where}: ${this._grabsInFlight} grabs in flight while ${this._writtenOff} written off are owed (one probe at most)`;
    }
    if (!this._ready) {
      if (
        this._grabsInFlight ||
        this._wakePending ||
        this._hasWork ||
        this._asleep ||
        this._stalled ||
        this._writtenOff
      ) {
        return `${where}: down but ${this.describe()}`;
      }
      return null;
    }
    if (this._stalled && (this._grabsInFlight || this._asleep || this._wakePending || this._hasWork)) {
      return `${where}: stalled but ${this.describe()}`;
    }
    if (this._asleep && (this._grabsInFlight || this._wakePending || this._hasWork)) {
      return `${where}: asleep but ${this.describe()}`;
    }
    if (!stopping && this.mode === "stopped") {
      return `${where}: ready with no grab in flight, none owed, not asleep, not stalled (a lost wake-up)`;
    }
    return null;
  }

  private describe(): string {
    return `grabs=${this._grabsInFlight} writtenOff=${this._writtenOff} wake=${this._wakePending} work=${this._hasWork} asleep=${this._asleep} stalled=${this._stalled}`;
  }
}

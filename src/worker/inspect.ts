/**
 * Read-only views of the worker's scheduler: per-server stats, and the invariant check that the
 * tests (and the `checkInvariants` debug option) run after every event.
 */
import type { ConnectionState } from "../connection/connection.ts";
import { PACKETS } from "../protocol/packets.ts";
import type { Link } from "./link.ts";
import type { FunctionRegistry } from "./registry.ts";
import type { JobRunner } from "./runner.ts";

export interface ServerStats {
  /** "host:port" */
  readonly address: string;
  readonly state: ConnectionState;
  /** PRE_SLEEP sent, no NOOP since. */
  readonly asleep: boolean;
  /** A NOOP waits for a free slot. */
  readonly wakePending: boolean;
  readonly grabsInFlight: number;
  /** Its oldest GRAB went overdue and its GRABs were written off; no GRAB goes to it until it speaks. */
  readonly stalled: boolean;
  /** GRABs sent to it whose slots were given back (overdue), still owed an answer. */
  readonly grabsWrittenOff: number;
  /** Times it was found overdue. */
  readonly stalls: number;
  /** The slowest recent GRAB answer (ms, decaying; capped at 500): its overdue bound is 4× this, 500 ms to 2 s. */
  readonly slowestAnswerMs: number;
  /** How long its oldest GRAB may now wait before it is overdue (ms). */
  readonly overdueAfterMs: number;
  readonly jobsRunning: number;
  /** Results delivered to this server. */
  readonly jobsDone: number;
  /** Jobs whose result could not be delivered (connection lost). */
  readonly jobsLost: number;
  readonly noops: number;
  /** Answers to this worker's GRABs: a job, or NO_JOB. */
  readonly grabAnswers: { readonly job: number; readonly noJob: number };
  /**
   * Packets received from and written to this server over every session, by packet name (types
   * never seen are left out), e.g. `{ received: { NOOP: 3, JOB_ASSIGN_UNIQ: 2, NO_JOB: 1 }, … }`.
   */
  readonly packets: { readonly received: PacketCounts; readonly sent: PacketCounts };
  /** Successful connects (1 after the first; more after reconnects). */
  readonly connects: number;
  /** Time bytes were last received, ms since epoch (0: never). */
  readonly lastSeen: number;
  /** Why the last dial failed or the connection was lost. */
  readonly lastError: string | undefined;
}

/** Packet counts by packet name. */
export type PacketCounts = Readonly<Record<string, number>>;

/** The non-zero counts of a per-type table, by packet name. */
export function packetCounts(byType: Uint32Array): PacketCounts {
  const out: Record<string, number> = {};
  for (let type = 0; type < byType.length; type++) {
    const n = byType[type]!;
    if (n > 0) out[PACKETS[type]?.name ?? `UNKNOWN(${type})`] = n;
  }
  return out;
}

export function serverStats(l: Link, grabTimeout: number): ServerStats {
  const now = Date.now();
  return {
    address: l.key,
    state: l.connection.state,
    asleep: l.asleep,
    wakePending: l.wakePending,
    grabsInFlight: l.grabsInFlight,
    stalled: l.stalled,
    grabsWrittenOff: l.writtenOff,
    stalls: l.stalls,
    slowestAnswerMs: Math.round(l.slowestAnswer(now)),
    overdueAfterMs: l.overdueAfter(now, grabTimeout),
    jobsRunning: l.jobsRunning,
    jobsDone: l.jobsDone,
    jobsLost: l.jobsLost,
    noops: l.noops,
    grabAnswers: { job: l.grabsAnsweredJob, noJob: l.grabsAnsweredNoJob },
    packets: {
      received: packetCounts(l.connection.packetsReceived),
      sent: packetCounts(l.connection.packetsSent),
    },
    connects: l.connection.connects,
    lastSeen: l.connection.lastSeenAt,
    lastError: l.lastError?.message,
  };
}

/**
 * What is wrong with the scheduler's state, or null: a link that could miss a wake-up, holds
 * more than the probe while it owes written-off answers or more than `concurrency` written off
 * (Link.violation), counts that disagree, or slots over budget —
 * `running + grabs in flight <= concurrency`, plus the jobs a stalled server assigned for its
 * written-off grabs (run rather than dropped; see scheduler.ts for the bound).
 */
export function schedulerViolation(
  links: readonly Link[],
  inFlight: number,
  runner: JobRunner,
  registry: FunctionRegistry,
  concurrency: number,
  stopping: boolean,
): string | null {
  let grabs = 0;
  let running = 0;
  for (const link of links) {
    const problem = link.violation(stopping);
    if (problem !== null) return problem;
    grabs += link.grabsInFlight;
    running += link.jobsRunning;
  }
  if (grabs !== inFlight) return `inFlight ${inFlight} but the links have ${grabs} grabs in flight`;
  if (running !== runner.running) return `running ${runner.running} but the links run ${running}`;
  if (registry.runningTotal() !== runner.running) return `running ${runner.running} but the functions count otherwise`;
  if (runner.running + inFlight > concurrency + runner.overBudget) {
    return `running ${runner.running} + grabs in flight ${inFlight} exceed concurrency ${concurrency} (+${runner.overBudget} over budget)`;
  }
  return null;
}

/**
 * The scheduler's invariant check: `after()` runs after every event when enabled and keeps the
 * first violation; `assert()` throws it, or any violation now.
 */
export class InvariantCheck {
  private violation: Error | null = null;
  private readonly enabled: boolean;
  private readonly find: () => string | null;

  constructor(enabled: boolean, find: () => string | null) {
    this.enabled = enabled;
    this.find = find;
  }

  after(): void {
    if (!this.enabled || this.violation !== null) return;
    const problem = this.find();
    if (problem === null) return;
    const error = new Error(`worker invariant: ${problem}`);
    this.violation = error;
    // Loud on purpose: a debug check that only logs would let a broken build pass its tests.
    queueMicrotask(() => {
      throw error;
    });
  }

  assert(): void {
    if (this.violation !== null) throw this.violation;
    const problem = this.find();
    if (problem !== null) throw new Error(`worker invariant: ${problem}`);
  }
}

/**
 * One place in the pool: the child serving it, its failures in a row, and its timers. The
 * supervisor keeps one Slot per configured process.
 */
import type { PoolChild } from "./child-process.ts";
import type { ChildSpec } from "./ipc.ts";
import type { PoolGroup, ResolvedPoolOptions } from "../options.ts";

export interface Slot {
  readonly index: number;
  readonly group: PoolGroup;
  /** The child that serves this slot (starting or ready), or null while a respawn waits. */
  current: PoolChild | null;
  /** Failures in a row (deaths, or replacements that could not start). */
  failures: number;
  /** A pending respawn or recycle retry. */
  timer: ReturnType<typeof setTimeout> | null;
  /** The current child's lifetime (or max-jobs splay) timer. */
  recycleTimer: ReturnType<typeof setTimeout> | null;
  /** A replacement in progress: resolves null when swapped, else why not. */
  replacing: Promise<string | null> | null;
}

export function newSlot(index: number, group: PoolGroup): Slot {
  return { index, group, current: null, failures: 0, timer: null, recycleTimer: null, replacing: null };
}

export function clearSlotTimers(slot: Slot): void {
  if (slot.timer !== null) clearTimeout(slot.timer);
  if (slot.recycleTimer !== null) clearTimeout(slot.recycleTimer);
  slot.timer = null;
  slot.recycleTimer = null;
}

/** What a slot's child is told to run. */
export function childSpec(o: ResolvedPoolOptions, slot: Slot): ChildSpec {
  return {
    index: slot.index,
    group: slot.group.name,
    handlers: o.handlers,
    only: slot.group.only,
    exclude: slot.group.exclude,
    servers: o.servers,
    tls: o.tls,
    concurrency: slot.group.concurrency,
    functions: o.functions,
    clientId: o.clientId,
    maxJobs: o.maxJobs,
    stopDeadline: o.stopDeadline,
    jobEvents: o.jobEvents,
    statsInterval: o.statsInterval,
    deadLetter: o.deadLetter,
  };
}

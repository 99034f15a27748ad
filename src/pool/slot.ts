/**
 * The life of the pool's slots. One slot per configured process; each holds at most three kinds
 * of child: `current` (serves the slot), `next` (its replacement, starting) and `leaving` (told
 * to stop, not exited yet). Every change of those goes through one named transition below, the
 * only writer of what it changes, and `violation()` says what is wrong with the whole table —
 * the pool's tests check it after every event.
 *
 * Capacity: a group serves with every slot whose current child is ready and not retiring. A slot
 * may be short of that only in one of these windows, each named by `window()`:
 * - "starting": its current child is starting (the first start, or a respawn);
 * - "respawn": its child died and the respawn waits for its backoff;
 * - "retiring": its child passed `maxJobs` and grabs nothing; the replacement starts (or its
 *   start is retried after a backoff).
 * Outside them, a ready child serving a slot is never told to stop before its replacement is
 * ready — a recycle and a reload do not lower capacity.
 */
import type { PoolChild } from "./child-process.ts";
import type { RecycleReason } from "./events.ts";
import type { ChildSpec } from "./ipc.ts";
import type { PoolGroup, ResolvedPoolOptions } from "../options.ts";

type Timer = ReturnType<typeof setTimeout>;

/** Why a slot serves less than one ready child now (see the module comment), or null. */
export type SlotWindow = "starting" | "respawn" | "retiring" | null;

export interface GroupCapacity {
  configured: number;
  registered: number;
  serving: number;
}

export interface Slot {
  readonly index: number;
  readonly group: PoolGroup;
  /** The child that serves this slot (starting or ready), or null while a respawn waits. */
  readonly current: PoolChild | null;
  /** The current child passed `maxJobs`: it grabs nothing more and waits for its replacement. */
  readonly retiring: boolean;
  /** Its replacement, starting; at most one. */
  readonly next: PoolChild | null;
  readonly nextReason: RecycleReason | null;
  /** Children of this slot told to stop that have not exited yet. */
  readonly leaving: ReadonlySet<PoolChild>;
  /** Failures in a row (deaths, or replacements that could not start). */
  readonly failures: number;
  /** A pending respawn of an empty slot. */
  readonly respawnTimer: Timer | null;
  /** A pending new try at a replacement that failed. */
  readonly retryTimer: Timer | null;
  /** The current child's lifetime timer. */
  readonly recycleTimer: Timer | null;
}

interface MutableSlot {
  readonly index: number;
  readonly group: PoolGroup;
  current: PoolChild | null;
  retiring: boolean;
  next: PoolChild | null;
  nextReason: RecycleReason | null;
  leaving: Set<PoolChild>;
  failures: number;
  respawnTimer: Timer | null;
  retryTimer: Timer | null;
  recycleTimer: Timer | null;
}

export class SlotTable {
  private readonly slots: MutableSlot[] = [];
  /** Children spawned and not exited, whatever their role (to check that each has one). */
  private readonly alive = new Set<PoolChild>();
  private readonly maxJobs: number;
  /** False once the pool stops: the capacity windows no longer apply. */
  private running = true;
  /** A transition called where it does not apply, kept for `violation()`. */
  private misuse: string | null = null;

  constructor(options: ResolvedPoolOptions) {
    this.maxJobs = options.maxJobs;
    let index = 0;
    for (const group of options.groups) {
      for (let i = 0; i < group.processes; i++) {
        this.slots.push({
          index: ++index,
          group,
          current: null,
          retiring: false,
          next: null,
          nextReason: null,
          leaving: new Set(),
          failures: 0,
          respawnTimer: null,
          retryTimer: null,
          recycleTimer: null,
        });
      }
    }
  }

  get all(): readonly Slot[] {
    return this.slots;
  }

  /** Every child alive now. */
  children(): PoolChild[] {
    return [...this.alive];
  }

  /** The slot that holds `child` in any role. */
  slotOf(child: PoolChild): Slot | undefined {
    return this.slots.find((s) => s.current === child || s.next === child || s.leaving.has(child));
  }

  // ---------------------------------------------------------------------------------------
  // Transitions

  /** A child was spawned to serve an empty slot (the first start, or a respawn). */
  spawned(slot: Slot, child: PoolChild): void {
    const s = this.own(slot);
    if (s.current !== null || s.next !== null) this.wrong(`slot ${s.index}: a child spawned into a held slot`);
    s.respawnTimer = clear(s.respawnTimer);
    s.current = child;
    s.retiring = false;
    this.alive.add(child);
  }

  /** A replacement was spawned for the slot's current child. */
  replacementSpawned(slot: Slot, child: PoolChild, reason: RecycleReason): void {
    const s = this.own(slot);
    if (s.next !== null) this.wrong(`slot ${s.index}: a second replacement`);
    s.retryTimer = clear(s.retryTimer);
    s.next = child;
    s.nextReason = reason;
    this.alive.add(child);
  }

  /** The current child passed `maxJobs`: it grabs nothing more. */
  retireAsked(slot: Slot, child: PoolChild): void {
    const s = this.own(slot);
    if (s.current === child) s.retiring = true;
  }

  /**
   * The replacement registered: it serves the slot and the old child (returned, or null) leaves;
   * the caller tells it to stop. Failures in a row start again.
   */
  replacementReady(slot: Slot): PoolChild | null {
    const s = this.own(slot);
    const next = s.next;
    if (next === null) {
      this.wrong(`slot ${s.index}: replacementReady without a replacement`);
      return null;
    }
    const old = s.current;
    if (old !== null) s.leaving.add(old);
    s.current = next;
    s.retiring = false;
    s.next = null;
    s.nextReason = null;
    s.failures = 0;
    s.recycleTimer = clear(s.recycleTimer);
    s.retryTimer = clear(s.retryTimer);
    return old;
  }

  /**
   * The replacement exited before it registered. The old child, if any, keeps the slot. A failed
   * reload does not count as a failure in a row (the old children serve; the next reload retries).
   */
  replacementFailed(slot: Slot): void {
    const s = this.own(slot);
    if (s.next !== null) this.alive.delete(s.next);
    if (s.nextReason !== "reload") s.failures++;
    s.next = null;
    s.nextReason = null;
  }

  /** The current child exited without being asked to. */
  died(slot: Slot, resetFailures: boolean): void {
    const s = this.own(slot);
    if (s.current !== null) this.alive.delete(s.current);
    s.current = null;
    s.retiring = false;
    s.recycleTimer = clear(s.recycleTimer);
    s.retryTimer = clear(s.retryTimer);
    if (resetFailures) s.failures = 0;
  }

  /**
   * The current child is taken out of service (it stopped reporting, or leaks past its memory
   * limit with no way to replace it first): it leaves, and the slot waits for a respawn.
   */
  evicted(slot: Slot): PoolChild | null {
    const s = this.own(slot);
    const child = s.current;
    if (child !== null) s.leaving.add(child);
    s.current = null;
    s.retiring = false;
    s.recycleTimer = clear(s.recycleTimer);
    s.retryTimer = clear(s.retryTimer);
    return child;
  }

  /** A child that was told to stop (or killed) exited. */
  left(slot: Slot, child: PoolChild): void {
    this.own(slot).leaving.delete(child);
    this.alive.delete(child);
  }

  /** An empty slot's respawn is due after its backoff; returns the failures in a row. */
  respawnScheduled(slot: Slot, timer: Timer): number {
    const s = this.own(slot);
    s.respawnTimer = clear(s.respawnTimer);
    s.failures++;
    s.respawnTimer = timer;
    return s.failures;
  }

  /** A failed replacement is tried again after its backoff (the old child keeps the slot). */
  retryScheduled(slot: Slot, timer: Timer): void {
    const s = this.own(slot);
    s.retryTimer = clear(s.retryTimer);
    s.retryTimer = timer;
  }

  /** The respawn or retry timer fired (the caller spawns next). */
  timerFired(slot: Slot, which: "respawn" | "retry"): void {
    const s = this.own(slot);
    if (which === "respawn") s.respawnTimer = null;
    else s.retryTimer = null;
  }

  /** The current child's lifetime timer. */
  recycleArmed(slot: Slot, timer: Timer): void {
    const s = this.own(slot);
    s.recycleTimer = clear(s.recycleTimer);
    s.recycleTimer = timer;
  }

  /** The pool stops: every child leaves (the caller stops them), no timer is left. */
  stopping(): PoolChild[] {
    this.running = false;
    for (const s of this.slots) {
      if (s.current !== null) s.leaving.add(s.current);
      if (s.next !== null) s.leaving.add(s.next);
      s.current = null;
      s.next = null;
      s.nextReason = null;
      s.retiring = false;
      s.respawnTimer = clear(s.respawnTimer);
      s.retryTimer = clear(s.retryTimer);
      s.recycleTimer = clear(s.recycleTimer);
    }
    return [...this.alive];
  }

  // ---------------------------------------------------------------------------------------
  // Reading

  /** Why `slot` serves less than one ready child now, or null when it serves. */
  window(slot: Slot): SlotWindow {
    if (slot.current === null) return "respawn";
    if (slot.retiring) return "retiring";
    if (slot.current.state === "starting") return "starting";
    return null;
  }

  /**
   * Per group: slots configured, slots whose child is registered (ready, retiring or not), and
   * slots served by a ready child that grabs.
   */
  capacity(): Map<string, GroupCapacity> {
    const out = new Map<string, GroupCapacity>();
    for (const s of this.slots) {
      const row = out.get(s.group.name) ?? { configured: 0, registered: 0, serving: 0 };
      row.configured++;
      if (s.current?.state === "ready") {
        row.registered++;
        if (!s.retiring) row.serving++;
      }
      out.set(s.group.name, row);
    }
    return out;
  }

  /** What is wrong with the table now, or null. */
  violation(): string | null {
    if (this.misuse !== null) return this.misuse;
    const seen = new Set<PoolChild>();
    for (const s of this.slots) {
      const where = `slot ${s.index}`;
      const held = [s.current, s.next, ...s.leaving].filter((c): c is PoolChild => c !== null);
      for (const child of held) {
        if (seen.has(child)) return `${where}: pid ${child.pid} is held twice`;
        seen.add(child);
        if (child.state === "exited") return `${where}: pid ${child.pid} exited but is still held`;
        if (!this.alive.has(child)) return `${where}: pid ${child.pid} is held but not alive`;
      }
      for (const child of s.leaving) {
        if (child.state !== "stopping") return `${where}: pid ${child.pid} leaves but was not told to stop`;
      }
      if (this.maxJobs > 0) {
        const bound = this.maxJobs + s.group.concurrency;
        for (const child of held) {
          if (child.jobs > bound)
            return `${where}: pid ${child.pid} ran ${child.jobs} jobs, over maxJobs + concurrency ${bound}`;
        }
      }
      if (!this.running) continue;
      if (s.current !== null && s.current.state === "stopping") {
        return `${where}: its serving child pid ${s.current.pid} was told to stop (capacity would drop)`;
      }
      if (s.next !== null && s.next.state !== "starting") {
        return `${where}: replacement pid ${s.next.pid} is ${s.next.state}, not starting`;
      }
      if (s.current === null && s.next === null && s.respawnTimer === null) {
        return `${where}: empty with no respawn scheduled`;
      }
      if (s.retiring && s.next === null && s.retryTimer === null) {
        return `${where}: its child retires with no replacement starting or scheduled`;
      }
      if (s.next !== null && s.retryTimer !== null) return `${where}: a replacement starting and a retry scheduled`;
    }
    for (const child of this.alive) {
      if (!seen.has(child)) return `pid ${child.pid} is alive without a slot`;
    }
    return null;
  }

  /** Throws the violation, if any. */
  assertInvariants(): void {
    const problem = this.violation();
    if (problem !== null) throw new Error(`pool invariant: ${problem}`);
  }

  private own(slot: Slot): MutableSlot {
    const s = this.slots[slot.index - 1];
    if (s !== slot) throw new Error(`slot ${slot.index} is not in this table`);
    return s;
  }

  private wrong(problem: string): void {
    this.misuse ??= problem;
  }
}

function clear(timer: Timer | null): null {
  if (timer !== null) clearTimeout(timer);
  return null;
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
    exec: o.exec,
    execPerJob: o.execPerJob,
  };
}

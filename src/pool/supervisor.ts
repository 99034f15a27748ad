/**
 * The supervisor: keeps one child per slot alive. A child that dies is respawned after a
 * backoff; a child that reached its job count or lifetime, or is reloaded, is replaced — the
 * replacement first, registered on the servers, then the old child stops gracefully — so
 * capacity never drops for a recycle or a reload.
 *
 *   const pool = await startPool({ handlers: "./handlers.ts", processes: 4 });
 *   pool.on("child:exit", (e) => console.log(e.index, e.reason));
 *   await pool.reload();
 *   await pool.stop();
 */
import { exponentialBackoff, type ReconnectPolicy } from "../connection/reconnect.ts";
import { PoolError } from "../errors.ts";
import { type EventListener, TypedEmitter } from "../util/emitter.ts";
import { type ChildExitInfo, type ChildState, explainExit, PoolChild } from "./child-process.ts";
import type { PoolEvents, RecycleReason } from "./events.ts";
import { ChildExit, type ChildMessage, type ChildUsage } from "./ipc.ts";
import { attachLog, type LogSink } from "./log.ts";
import { HEARTBEAT_INTERVAL, type PoolOptions, type ResolvedPoolOptions, resolvePoolOptions } from "../options.ts";
import { RollingReload } from "./reload.ts";
import { childSpec, type GroupCapacity, type Slot, SlotTable } from "./slot.ts";
import { watchFiles, type Watcher } from "./watch.ts";
import { dirname } from "node:path";

export type PoolState = "idle" | "running" | "stopping" | "stopped";

export interface ChildInfo {
  readonly index: number;
  readonly pid: number;
  readonly group: string;
  readonly state: ChildState;
  /** Serving its slot (false: a replacement still starting, or an old child stopping). */
  readonly current: boolean;
  /** Milliseconds since it last reported over IPC (it reports every second when ready). */
  readonly silentMs: number;
  /** Its CPU and memory from its last heartbeat, or null before the first. */
  readonly usage: ChildUsage | null;
}

export interface PoolStartOptions {
  /** Where the log lines and the children's output go. @default process stdout and stderr */
  sink?: LogSink;
}

export class Pool {
  readonly options: ResolvedPoolOptions;
  private readonly emitter = new TypedEmitter<PoolEvents>();
  private readonly table: SlotTable;
  /** Per slot: who waits for the replacement under way (null: swapped, else why not). */
  private readonly replacing = new Map<Slot, PromiseWithResolvers<string | null>>();
  private readonly backoff: ReconnectPolicy;
  private currentState: PoolState = "idle";
  private started: Promise<void> | null = null;
  private startedWaiter = Promise.withResolvers<void>();
  private stopped: Promise<boolean> | null = null;
  /** Jobs the children handed back at their stop deadline (reported as they exit). */
  private handedBack = 0;
  private readonly reloads = new RollingReload({
    slots: () => this.table.all,
    running: () => this.currentState === "running",
    settled: async (slot) => {
      for (let w = this.replacing.get(slot); w !== undefined; w = this.replacing.get(slot)) await w.promise;
    },
    replace: (slot) => this.replace(slot, "reload"),
    emit: (event) => this.emitter.emit("reload", event),
  });
  private watcher: Watcher | null = null;
  private heartbeats: ReturnType<typeof setInterval> | null = null;
  private failedWith: PoolError | null = null;
  private unresponsive = 0;
  /** Every slot has had a child ready once: a load failure no longer ends the pool. */
  private startDone = false;

  constructor(options: PoolOptions, start: PoolStartOptions = {}) {
    this.options = resolvePoolOptions(options);
    this.backoff = exponentialBackoff({
      initialDelay: this.options.respawnDelay,
      maxDelay: this.options.respawnMaxDelay,
      factor: 2,
      jitter: 0.1,
    });
    this.table = new SlotTable(this.options);
    attachLog(this, this.options.log, start.sink);
  }

  get state(): PoolState {
    return this.currentState;
  }

  /**
   * Spawns every child; resolves once each slot has had a child registered on the servers (or
   * `stop()` was called). If no child at all has registered within `startTimeout`, the pool
   * stops its children and this rejects with PoolError START_FAILED naming the last exit.
   */
  start(): Promise<void> {
    if (this.started !== null) return this.started;
    this.currentState = "running";
    const slots = this.table.all;
    const pending = new Set(slots.map((s) => s.index));
    const off = this.on("child:ready", ({ index }) => {
      pending.delete(index);
      if (pending.size === 0) this.startedWaiter.resolve();
    });
    let lastExit: string | null = null;
    const offExit = this.on("child:exit", (e) => {
      if (!e.expected) lastExit = e.reason;
    });
    const timeout = this.options.startTimeout;
    const timer =
      timeout > 0
        ? setTimeout(() => {
            // One child registered: the pool works, and the others respawn as usual.
            if (pending.size < slots.length) return;
            const why = lastExit === null ? "" : `; the last one exited: ${lastExit}`;
            this.fail(new PoolError("START_FAILED", `no worker process became ready within ${timeout} ms${why}`), 0);
          }, timeout)
        : null;
    // Every slot holds its child before the first event: no listener sees a half-started pool.
    const first = slots.map((slot) => {
      const child = this.newChild(slot);
      this.table.spawned(slot, child);
      return child;
    });
    for (const child of first) this.emitter.emit("child:start", { ...ref(child), reason: "start" });
    if (this.options.watch) {
      const dirs = [...new Set(this.options.handlers.map((h) => dirname(h)))];
      this.watcher = watchFiles(dirs, () => void this.reload());
    }
    if (this.options.heartbeatTimeout > 0) {
      this.heartbeats = setInterval(() => this.checkHeartbeats(), HEARTBEAT_INTERVAL);
    }
    this.started = this.startedWaiter.promise
      .then(async () => {
        const failure = this.failedWith;
        if (failure === null) {
          this.startDone = true;
          return;
        }
        await this.stopped;
        throw failure;
      })
      .finally(() => {
        off();
        offExit();
        if (timer !== null) clearTimeout(timer);
      });
    return this.started;
  }

  /** The children alive now. */
  children(): ChildInfo[] {
    return this.table.children().map((c) => ({
      index: c.spec.index,
      pid: c.pid,
      group: c.spec.group,
      state: c.state,
      current: this.table.slotOf(c)?.current === c,
      silentMs: Date.now() - c.lastHeard,
      usage: c.usage,
    }));
  }

  /**
   * Per group: processes configured, those registered (ready), and those serving (ready and
   * grabbing: not past `maxJobs`).
   */
  capacity(): Map<string, GroupCapacity> {
    return this.table.capacity();
  }

  /** Children killed so far for going silent (`heartbeatTimeout`). */
  get unresponsiveKills(): number {
    return this.unresponsive;
  }

  /** Why the pool gave up (LOAD_FAILED, CRASH_LOOP, START_FAILED) and stopped, or null. */
  get failure(): PoolError | null {
    return this.failedWith;
  }

  /**
   * Debug: what is wrong with the slots now (a child without a slot, a serving child told to
   * stop, an empty slot with no respawn coming, a child over its job bound…), or null. The pool
   * tests check it after every event.
   */
  violation(): string | null {
    return this.table.violation();
  }

  /**
   * Rolling reload: each child in turn is replaced by one running the handlers as they are now.
   * A replacement that cannot start stops the reload; the old children keep serving. Resolves
   * true when every child was replaced. Called during a reload, it runs once more after it.
   */
  reload(): Promise<boolean> {
    return this.reloads.run();
  }

  /**
   * Graceful stop: every child stops grabbing and gets `deadline` ms (default `stopDeadline`)
   * for its running jobs; resolves true when none had to be killed. Called again, a deadline of
   * 0 kills the children at once (the second signal).
   */
  stop(options: { deadline?: number } = {}): Promise<boolean> {
    const deadline = options.deadline ?? this.options.stopDeadline;
    if (this.stopped !== null) {
      if (deadline === 0) for (const child of this.table.children()) child.kill();
      return this.stopped;
    }
    this.currentState = "stopping";
    this.stopped = this.runStop(deadline);
    return this.stopped;
  }

  private async runStop(deadline: number): Promise<boolean> {
    this.watcher?.close();
    this.watcher = null;
    if (this.heartbeats !== null) clearInterval(this.heartbeats);
    this.heartbeats = null;
    this.startedWaiter.resolve();
    const children = this.table.stopping();
    for (const child of children) {
      if (deadline === 0) child.kill();
      else child.stop(deadline);
    }
    for (const waiter of this.replacing.values()) waiter.resolve("the pool is stopping");
    this.replacing.clear();
    this.emitter.emit("stopping", { deadline });
    const exits = await Promise.all(children.map((c) => c.exited));
    const graceful = exits.every((e) => !e.killed && e.code === ChildExit.Stopped);
    this.currentState = "stopped";
    this.emitter.emit("stopped", { graceful, handedBack: this.handedBack });
    return graceful;
  }

  on<K extends keyof PoolEvents>(name: K, listener: EventListener<PoolEvents[K]>): () => void {
    return this.emitter.on(name, listener);
  }

  once<K extends keyof PoolEvents>(name: K, listener: EventListener<PoolEvents[K]>): () => void {
    return this.emitter.once(name, listener);
  }

  off<K extends keyof PoolEvents>(name: K, listener: EventListener<PoolEvents[K]>): void {
    this.emitter.off(name, listener);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** Gives up: stops the pool; `start()` rejects with `error`, `failure` holds it. */
  private fail(error: PoolError, deadline: number): void {
    if (this.failedWith !== null || this.currentState !== "running") return;
    this.failedWith = error;
    void this.stop({ deadline });
    this.emitter.emit("failed", { code: error.code, error: error.message });
  }

  /** A ready child that went silent (stopped, or its event loop blocked) is killed and replaced. */
  private checkHeartbeats(): void {
    const now = Date.now();
    for (const slot of this.table.all) {
      const child = slot.current;
      if (child === null || child.state !== "ready") continue;
      const silentMs = now - child.lastHeard;
      if (silentMs <= this.options.heartbeatTimeout) continue;
      this.table.evicted(slot);
      child.kill();
      this.unresponsive++;
      if (slot.next === null) this.scheduleRespawn(slot, `it sent nothing for ${silentMs} ms`);
      this.emitter.emit("child:unresponsive", { ...ref(child), silentMs });
    }
  }

  private newChild(slot: Slot): PoolChild {
    return new PoolChild(childSpec(this.options, slot), {
      message: (c, m) => this.onMessage(slot, c, m),
      line: (c, stream, line) => this.emitter.emit("output", { ...ref(c), stream, line }),
      exit: (c, info) => this.onExit(slot, c, info),
    });
  }

  /** A child for a slot whose child died. */
  private respawn(slot: Slot): void {
    const child = this.newChild(slot);
    this.table.spawned(slot, child);
    this.emitter.emit("child:start", { ...ref(child), reason: "respawn" });
  }

  private onMessage(slot: Slot, child: PoolChild, message: ChildMessage): void {
    switch (message.type) {
      case "ready":
        if (child === slot.next && this.currentState === "running") this.swap(slot);
        else if (child === slot.current) this.armRecycle(slot, child);
        this.emitter.emit("child:ready", {
          ...ref(child),
          functions: message.functions,
          servers: message.servers,
          startupMs: child.readyAt - child.spawnedAt,
        });
        break;
      case "retire":
        child.jobs = Math.max(child.jobs, message.jobs);
        child.retired = true;
        if (child === slot.current && this.currentState === "running") {
          this.table.retireAsked(slot, child);
          // The child grabs nothing more: its replacement starts now, without the splay.
          void this.replace(slot, "max-jobs");
        }
        break;
      case "job":
        child.jobs++;
        this.emitter.emit("job", { ...ref(child), ...message });
        break;
      case "stats":
        this.emitter.emit("stats", { ...ref(child), stats: message.stats });
        break;
      case "handed-back":
        this.handedBack += message.jobs;
        this.emitter.emit("child:handed-back", { ...ref(child), jobs: message.jobs });
        break;
      case "alive":
        // Past --max-memory: a replacement first, as for a lifetime recycle.
        if (
          this.options.maxMemory > 0 &&
          message.usage.rss > this.options.maxMemory * 1024 * 1024 &&
          child === slot.current &&
          slot.next === null &&
          slot.retryTimer === null &&
          this.currentState === "running"
        ) {
          void this.replace(slot, "max-memory");
        }
        break;
      case "link":
        this.emitter.emit("link", { ...ref(child), server: message.server, up: message.up, error: message.error });
        break;
      case "fatal":
        break;
    }
  }

  private onExit(slot: Slot, child: PoolChild, info: ChildExitInfo): void {
    const running = this.currentState === "running";
    const why = explainExit(info);
    if (child === slot.next) {
      const reason = slot.nextReason ?? "reload";
      this.table.replacementFailed(slot);
      if (running) this.afterFailedReplacement(slot, reason, why);
    } else if (child === slot.current) {
      const reset = child.readyAt > 0 && Date.now() - child.readyAt >= this.options.respawnReset;
      this.table.died(slot, reset);
      if (running && !this.startDone && info.fatal !== null) {
        // Handlers that do not load at the first start will not load on a respawn either.
        this.fail(new PoolError("LOAD_FAILED", why), this.options.stopDeadline);
      } else if (running && slot.next === null) {
        // A replacement under way takes the slot; if it fails, it schedules the respawn.
        this.scheduleRespawn(slot, why);
      }
    } else {
      this.table.left(slot, child);
    }
    this.emitter.emit("child:exit", {
      ...ref(child),
      code: info.code,
      signal: info.signal,
      expected: info.expected,
      reason: explainExit(info),
      stderr: info.expected ? [] : info.stderr,
    });
  }

  private scheduleRespawn(slot: Slot, why: string): void {
    const attempt = slot.failures + 1;
    const limit = this.options.crashLimit;
    if (limit > 0 && attempt >= limit) {
      const message = `child ${slot.index} (${slot.group.name}) failed ${attempt} times in a row (crashLimit ${limit}); the last: ${why}`;
      this.fail(new PoolError("CRASH_LOOP", message), this.options.stopDeadline);
      return;
    }
    const delay = this.backoff(attempt) ?? this.options.respawnMaxDelay;
    this.table.respawnScheduled(
      slot,
      setTimeout(() => {
        this.table.timerFired(slot, "respawn");
        if (this.currentState === "running" && slot.current === null && slot.next === null) {
          this.respawn(slot);
        }
      }, delay),
    );
    this.emitter.emit("child:respawn", { index: slot.index, group: slot.group.name, attempt, delay });
  }

  /** Recycle after the lifetime (plus splay) of a child that serves its slot. */
  private armRecycle(slot: Slot, child: PoolChild): void {
    if (this.options.maxLifetime <= 0) return;
    const after = this.options.maxLifetime + Math.random() * this.options.restartSplay;
    this.table.recycleArmed(
      slot,
      setTimeout(() => {
        if (slot.current === child) void this.replace(slot, "max-lifetime");
      }, after),
    );
  }

  /**
   * Starts a replacement for the slot's child; resolves null once it is registered and the old
   * child was told to stop, else why not. One replacement per slot: a second call joins it.
   */
  private replace(slot: Slot, reason: RecycleReason): Promise<string | null> {
    const under = this.replacing.get(slot);
    if (under !== undefined) return under.promise;
    if (this.currentState !== "running") return Promise.resolve("the pool is stopping");
    const waiter = Promise.withResolvers<string | null>();
    this.replacing.set(slot, waiter);
    const child = this.newChild(slot);
    this.table.replacementSpawned(slot, child, reason);
    this.emitter.emit("child:start", { ...ref(child), reason });
    return waiter.promise;
  }

  /** The replacement registered: it takes the slot; the old child stops gracefully. */
  private swap(slot: Slot): void {
    const reason = slot.nextReason ?? "reload";
    const next = slot.next;
    const old = this.table.replacementReady(slot);
    if (next !== null) this.armRecycle(slot, next);
    if (old !== null) {
      old.stop(this.options.stopDeadline);
      this.emitter.emit("child:recycle", { ...ref(old), reason, replacement: next?.pid ?? 0 });
    }
    this.settle(slot, null);
    // It reached its limit before it took the slot (a fast queue): it needs a successor too.
    if (next?.retired && this.currentState === "running") {
      this.table.retireAsked(slot, next);
      void this.replace(slot, "max-jobs");
    }
  }

  private afterFailedReplacement(slot: Slot, reason: RecycleReason, error: string): void {
    const old = slot.current;
    if (old !== null) this.emitter.emit("child:recycle-failed", { ...ref(old), reason, error });
    const limit = this.options.crashLimit;
    if (old === null) {
      this.scheduleRespawn(slot, error);
    } else if (reason !== "reload" && limit > 0 && slot.failures >= limit) {
      const message = `the ${reason} replacement of child ${slot.index} (${slot.group.name}) failed ${slot.failures} times in a row (crashLimit ${limit}); the last: ${error}`;
      this.fail(new PoolError("CRASH_LOOP", message), this.options.stopDeadline);
    } else if (reason !== "reload") {
      // The old child keeps its slot; try again later, backing off like a respawn.
      this.table.retryScheduled(
        slot,
        setTimeout(() => {
          this.table.timerFired(slot, "retry");
          if (slot.current !== null) void this.replace(slot, reason);
        }, this.backoff(slot.failures) ?? this.options.respawnMaxDelay),
      );
    }
    this.settle(slot, error);
  }

  private settle(slot: Slot, error: string | null): void {
    const waiter = this.replacing.get(slot);
    this.replacing.delete(slot);
    waiter?.resolve(error);
  }
}

function ref(child: PoolChild): { index: number; pid: number; group: string } {
  return { index: child.spec.index, pid: child.pid, group: child.spec.group };
}

/**
 * Creates a pool, starts it, and resolves once every child is registered on the servers. Bad
 * options throw ConfigError at once; children that cannot start are respawned with backoff
 * (watch `child:exit`). If none has registered within `startTimeout` (handlers that never
 * load, no reachable server), the children are stopped and it rejects with PoolError
 * START_FAILED, whose message says why the last child exited.
 */
export async function startPool(options: PoolOptions, start: PoolStartOptions = {}): Promise<Pool> {
  const pool = new Pool(options, start);
  await pool.start();
  return pool;
}

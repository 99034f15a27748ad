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
import type { PoolEvents, RecycleReason, StartReason } from "./events.ts";
import { ChildExit, type ChildMessage } from "./ipc.ts";
import { attachLog, type LogSink } from "./log.ts";
import { type PoolOptions, type ResolvedPoolOptions, resolvePoolOptions } from "../options.ts";
import { childSpec, clearSlotTimers, newSlot, type Slot } from "./slot.ts";
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
}

export interface PoolStartOptions {
  /** Where the log lines and the children's output go. @default process stdout and stderr */
  sink?: LogSink;
}

export class Pool {
  readonly options: ResolvedPoolOptions;
  private readonly emitter = new TypedEmitter<PoolEvents>();
  private readonly slots: Slot[] = [];
  private readonly live = new Set<PoolChild>();
  private readonly backoff: ReconnectPolicy;
  private currentState: PoolState = "idle";
  private started: Promise<void> | null = null;
  private startedWaiter = Promise.withResolvers<void>();
  private stopped: Promise<boolean> | null = null;
  private reloading: Promise<boolean> | null = null;
  private reloadAgain = false;
  private watcher: Watcher | null = null;

  constructor(options: PoolOptions, start: PoolStartOptions = {}) {
    this.options = resolvePoolOptions(options);
    this.backoff = exponentialBackoff({
      initialDelay: this.options.respawnDelay,
      maxDelay: this.options.respawnMaxDelay,
      factor: 2,
      jitter: 0.1,
    });
    let index = 0;
    for (const group of this.options.groups) {
      for (let i = 0; i < group.processes; i++) {
        this.slots.push(newSlot(++index, group));
      }
    }
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
    const pending = new Set(this.slots.map((s) => s.index));
    const off = this.on("child:ready", ({ index }) => {
      pending.delete(index);
      if (pending.size === 0) this.startedWaiter.resolve();
    });
    let lastExit: string | null = null;
    const offExit = this.on("child:exit", (e) => {
      if (!e.expected) lastExit = e.reason;
    });
    let failure: PoolError | null = null;
    const timeout = this.options.startTimeout;
    const timer =
      timeout > 0
        ? setTimeout(() => {
            // One child registered: the pool works, and the others respawn as usual.
            if (pending.size < this.slots.length || this.currentState !== "running") return;
            const why = lastExit === null ? "" : `; the last one exited: ${lastExit}`;
            failure = new PoolError("START_FAILED", `no worker process became ready within ${timeout} ms${why}`);
            void this.stop({ deadline: 0 });
          }, timeout)
        : null;
    for (const slot of this.slots) slot.current = this.spawn(slot, "start");
    if (this.options.watch) {
      const dirs = [...new Set(this.options.handlers.map((h) => dirname(h)))];
      this.watcher = watchFiles(dirs, () => void this.reload());
    }
    this.started = this.startedWaiter.promise
      .then(async () => {
        if (failure === null) return;
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
    const current = new Set(this.slots.map((s) => s.current));
    return [...this.live].map((c) => ({
      index: c.spec.index,
      pid: c.pid,
      group: c.spec.group,
      state: c.state,
      current: current.has(c),
    }));
  }

  /**
   * Rolling reload: each child in turn is replaced by one running the handlers as they are now.
   * A replacement that cannot start stops the reload; the old children keep serving. Resolves
   * true when every child was replaced. Called during a reload, it runs once more after it.
   */
  reload(): Promise<boolean> {
    if (this.currentState !== "running") return Promise.resolve(false);
    if (this.reloading !== null) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      let ok = false;
      do {
        this.reloadAgain = false;
        ok = await this.rollOnce();
      } while (this.reloadAgain && this.currentState === "running");
      return ok;
    })().finally(() => {
      this.reloading = null;
    });
    return this.reloading;
  }

  /**
   * Graceful stop: every child stops grabbing and gets `deadline` ms (default `stopDeadline`)
   * for its running jobs; resolves true when none had to be killed. Called again, a deadline of
   * 0 kills the children at once (the second signal).
   */
  stop(options: { deadline?: number } = {}): Promise<boolean> {
    const deadline = options.deadline ?? this.options.stopDeadline;
    if (this.stopped !== null) {
      if (deadline === 0) for (const child of this.live) child.kill();
      return this.stopped;
    }
    this.currentState = "stopping";
    this.stopped = this.runStop(deadline);
    return this.stopped;
  }

  private async runStop(deadline: number): Promise<boolean> {
    this.emitter.emit("stopping", { deadline });
    this.watcher?.close();
    this.watcher = null;
    for (const slot of this.slots) clearSlotTimers(slot);
    this.startedWaiter.resolve();
    const children = [...this.live];
    for (const child of children) {
      if (deadline === 0) child.kill();
      else child.stop(deadline);
    }
    const exits = await Promise.all(children.map((c) => c.exited));
    const graceful = exits.every((e) => !e.killed && e.code === ChildExit.Stopped);
    this.currentState = "stopped";
    this.emitter.emit("stopped", { graceful });
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

  private spawn(slot: Slot, reason: StartReason): PoolChild {
    const child = new PoolChild(childSpec(this.options, slot), {
      message: (c, m) => this.onMessage(slot, c, m),
      line: (c, stream, line) => this.emitter.emit("output", { ...ref(c), stream, line }),
      exit: (c, info) => this.onExit(slot, c, info),
    });
    this.live.add(child);
    this.emitter.emit("child:start", { ...ref(child), reason });
    return child;
  }

  private onMessage(slot: Slot, child: PoolChild, message: ChildMessage): void {
    switch (message.type) {
      case "ready":
        if (child === slot.current) this.armRecycle(slot, child);
        this.emitter.emit("child:ready", {
          ...ref(child),
          functions: message.functions,
          servers: message.servers,
          startupMs: child.readyAt - child.spawnedAt,
        });
        break;
      case "retire":
        child.jobs = message.jobs;
        // The child grabs nothing more: its replacement starts now, without the splay.
        if (child === slot.current && this.currentState === "running") void this.replace(slot, "max-jobs");
        break;
      case "job":
        this.emitter.emit("job", { ...ref(child), ...message });
        break;
      case "stats":
        this.emitter.emit("stats", { ...ref(child), stats: message.stats });
        break;
      case "link":
        this.emitter.emit("link", { ...ref(child), server: message.server, up: message.up, error: message.error });
        break;
      case "fatal":
        break;
    }
  }

  private onExit(slot: Slot, child: PoolChild, info: ChildExitInfo): void {
    this.live.delete(child);
    this.emitter.emit("child:exit", {
      ...ref(child),
      code: info.code,
      signal: info.signal,
      expected: info.expected,
      reason: explainExit(info),
      stderr: info.expected ? [] : info.stderr,
    });
    if (child !== slot.current || this.currentState !== "running") return;
    slot.current = null;
    clearSlotTimers(slot);
    // A replacement under way takes the slot; if it fails, it schedules the respawn.
    if (slot.replacing === null) this.scheduleRespawn(slot, child);
  }

  private scheduleRespawn(slot: Slot, died: PoolChild | null): void {
    if (died !== null && died.readyAt > 0 && Date.now() - died.readyAt >= this.options.respawnReset) slot.failures = 0;
    slot.failures++;
    const delay = this.backoff(slot.failures) ?? this.options.respawnMaxDelay;
    this.emitter.emit("child:respawn", { index: slot.index, group: slot.group.name, attempt: slot.failures, delay });
    slot.timer = setTimeout(() => {
      slot.timer = null;
      if (this.currentState === "running" && slot.current === null) slot.current = this.spawn(slot, "respawn");
    }, delay);
  }

  /** Recycle after the lifetime (plus splay) of a child that serves its slot. */
  private armRecycle(slot: Slot, child: PoolChild): void {
    if (this.options.maxLifetime <= 0) return;
    if (slot.recycleTimer !== null) clearTimeout(slot.recycleTimer);
    const after = this.options.maxLifetime + Math.random() * this.options.restartSplay;
    slot.recycleTimer = setTimeout(() => {
      if (slot.current === child) void this.replace(slot, "max-lifetime");
    }, after);
  }

  /** Starts a replacement, waits until it is registered, then stops the old child gracefully. */
  private replace(slot: Slot, reason: RecycleReason): Promise<string | null> {
    if (slot.replacing !== null) return slot.replacing;
    if (this.currentState !== "running") return Promise.resolve("the pool is stopping");
    const run = async (): Promise<string | null> => {
      const old = slot.current;
      const next = this.spawn(slot, reason);
      if (await next.ready) {
        if (this.currentState !== "running") return "the pool is stopping";
        clearSlotTimers(slot);
        slot.current = next;
        slot.failures = 0;
        this.armRecycle(slot, next);
        if (old !== null && old.state !== "exited") {
          old.stop(this.options.stopDeadline);
          this.emitter.emit("child:recycle", { ...ref(old), reason, replacement: next.pid });
        }
        return null;
      }
      const info = await next.exited;
      if (this.currentState !== "running") return "the pool is stopping";
      const error = explainExit(info);
      if (old !== null) this.emitter.emit("child:recycle-failed", { ...ref(old), reason, error });
      if (slot.current === null) {
        this.scheduleRespawn(slot, null);
      } else if (reason !== "reload") {
        // The old child keeps serving; try again later, backing off like a respawn.
        slot.failures++;
        slot.timer = setTimeout(() => {
          slot.timer = null;
          void this.replace(slot, reason);
        }, this.backoff(slot.failures) ?? this.options.respawnMaxDelay);
      }
      return error;
    };
    slot.replacing = run().finally(() => {
      slot.replacing = null;
    });
    return slot.replacing;
  }

  private async rollOnce(): Promise<boolean> {
    const began = Date.now();
    let replaced = 0;
    for (const slot of this.slots) {
      while (slot.replacing !== null) await slot.replacing;
      if (this.currentState !== "running") return false;
      // A slot waiting for its respawn will load the new code anyway.
      if (slot.current === null) continue;
      const error = await this.replace(slot, "reload");
      if (error !== null) {
        this.emitter.emit("reload", { ok: false, replaced, error, ms: Date.now() - began });
        return false;
      }
      replaced++;
    }
    this.emitter.emit("reload", { ok: true, replaced, error: null, ms: Date.now() - began });
    return true;
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

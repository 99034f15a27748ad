/**
 * The handler processes of one handlers file (or `--exec` command) in one pool child: `size` of
 * them (the child's concurrency), each running one job at a time. A job takes an idle process
 * or waits for one; a process that exits — crashed, killed at a job's timeout, or after a
 * protocol error — is respawned after a backoff while the Bun child keeps its connections.
 *
 *   const set = new HandlerSet({ argv: ["python3", adapter, "tasks.py"], label: "tasks.py" }, 4);
 *   const names = await set.start(); // every process said HELLO, or HANDLER_LOAD_FAILED
 *   worker.register(names[0], (job) => set.run(job));
 *   await set.close();
 */
import { exponentialBackoff } from "../connection/reconnect.ts";
import { HandlerError } from "../errors.ts";
import type { Job } from "../worker/handler.ts";
import { type HandlerCommand, HandlerProcess, KILL_GRACE_MS } from "./handler-process.ts";
import { processUsage, type Usage } from "./usage.ts";

/** Respawn delays: 100 ms doubling to 10 s; a process that served this long resets them. */
export const RESPAWN = { initialDelay: 100, maxDelay: 10_000, resetAfter: 10_000 } as const;

interface Slot {
  proc: HandlerProcess | null;
  failures: number;
  timer: ReturnType<typeof setTimeout> | null;
}

interface Waiter {
  resolve(proc: HandlerProcess): void;
  reject(error: unknown): void;
}

export class HandlerSet {
  readonly command: HandlerCommand;
  readonly size: number;
  /** Function names of the first HELLO. */
  names: readonly string[] = [];
  /** Processes spawned since start, respawns included. */
  spawned = 0;

  private readonly slots: Slot[] = [];
  private readonly idle: HandlerProcess[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly backoff = exponentialBackoff({
    initialDelay: RESPAWN.initialDelay,
    maxDelay: RESPAWN.maxDelay,
    jitter: 0.1,
  });
  private closed = false;
  /** The last respawn's load failure (jobs waiting while no process is alive are failed with it). */
  private lastLoadError: unknown = null;
  /** CPU seconds of each live process as last read, and of the exited ones (so the sum only grows). */
  private readonly lastCpu = new Map<HandlerProcess, number>();
  private exitedCpu = 0;

  constructor(command: HandlerCommand, size: number) {
    this.command = command;
    this.size = size;
  }

  /** Spawns every process and waits for their HELLOs; rejects (all stopped) when one does not load. */
  async start(): Promise<readonly string[]> {
    for (let i = 0; i < this.size; i++) this.slots.push({ proc: null, failures: 0, timer: null });
    const procs = this.slots.map((slot) => this.spawn(slot));
    try {
      const all = await Promise.all(procs.map((p) => p.ready));
      this.names = all[0]!;
    } catch (error) {
      await this.close(0);
      throw error;
    }
    for (const proc of procs) this.release(proc);
    return this.names;
  }

  /** Runs `job` in the next idle process: resolves with its result, rejects with its failure. */
  async run(job: Job): Promise<Uint8Array> {
    const proc = this.idle.pop() ?? (await this.wait(job));
    try {
      return await proc.run(job);
    } finally {
      this.release(proc);
    }
  }

  /**
   * CPU seconds of every process since start (an exited one's as last read) and the resident
   * memory of the live ones.
   */
  usage(): Usage {
    let cpuSeconds = this.exitedCpu;
    let rss = 0;
    for (const slot of this.slots) {
      const proc = slot.proc;
      if (proc === null) continue;
      const now = processUsage(proc.pid);
      if (now !== null) {
        this.lastCpu.set(proc, now.cpuSeconds);
        rss += now.rss;
      }
      cpuSeconds += this.lastCpu.get(proc) ?? 0;
    }
    return { cpuSeconds, rss };
  }

  /** The processes alive now. */
  pids(): number[] {
    return this.slots.flatMap((s) => (s.proc === null ? [] : [s.proc.pid]));
  }

  /**
   * Stops respawning and ends every process: its input ended (an idle handler exits), SIGKILL
   * after `graceMs`. Resolves once all have exited.
   */
  async close(graceMs = KILL_GRACE_MS): Promise<void> {
    this.closed = true;
    const procs: HandlerProcess[] = [];
    for (const slot of this.slots) {
      if (slot.timer !== null) clearTimeout(slot.timer);
      slot.timer = null;
      if (slot.proc !== null) procs.push(slot.proc);
    }
    for (const proc of procs) proc.close(graceMs);
    for (const w of this.waiters.splice(0)) w.reject(this.closedError());
    await Promise.all(procs.map((p) => p.exited));
  }

  /** SIGKILL to every process, synchronously (the Bun process is exiting). */
  killNow(): void {
    this.closed = true;
    for (const slot of this.slots) slot.proc?.killNow();
  }

  private spawn(slot: Slot): HandlerProcess {
    const proc = new HandlerProcess(this.command);
    this.spawned++;
    slot.proc = proc;
    void proc.exited.then(() => this.onExit(slot, proc));
    return proc;
  }

  private respawn(slot: Slot): void {
    slot.timer = null;
    if (this.closed) return;
    const proc = this.spawn(slot);
    proc.ready.then(
      () => {
        this.lastLoadError = null;
        this.release(proc);
      },
      (error: unknown) => {
        this.lastLoadError = error;
        // No process can run the waiting jobs until a respawn loads: fail them with why.
        if (this.slots.every((s) => s.proc === null || s.proc === proc || s.proc.state === "starting")) {
          for (const w of this.waiters.splice(0)) w.reject(error);
        }
      },
    );
  }

  private onExit(slot: Slot, proc: HandlerProcess): void {
    const i = this.idle.indexOf(proc);
    if (i >= 0) this.idle.splice(i, 1);
    this.exitedCpu += this.lastCpu.get(proc) ?? 0;
    this.lastCpu.delete(proc);
    if (slot.proc !== proc) return;
    slot.proc = null;
    if (this.closed) return;
    // A process that loaded and was killed for a job's timeout or the stop is no crash loop.
    if (proc.readyAt > 0 && (proc.killed || Date.now() - proc.readyAt >= RESPAWN.resetAfter)) slot.failures = 0;
    slot.failures++;
    const delay = this.backoff(slot.failures) ?? RESPAWN.maxDelay;
    process.stderr.write(
      `gearbun: handler process ${proc.pid} (${this.command.label}) exited (${proc.exitReason}); respawning in ${delay} ms\n`,
    );
    slot.timer = setTimeout(() => this.respawn(slot), delay);
  }

  /** An idle process goes to the first waiting job, else back to the idle list. */
  private release(proc: HandlerProcess): void {
    if (proc.state !== "idle" || this.closed) return;
    const waiter = this.waiters.shift();
    if (waiter !== undefined) waiter.resolve(proc);
    else this.idle.push(proc);
  }

  private wait(job: Job): Promise<HandlerProcess> {
    if (this.closed) return Promise.reject(this.closedError());
    const alive = this.slots.some((s) => s.proc !== null && s.proc.state !== "exited");
    if (!alive && this.lastLoadError !== null) return Promise.reject(this.lastLoadError);
    const { promise, resolve, reject } = Promise.withResolvers<HandlerProcess>();
    const signal = job.signal;
    const waiter: Waiter = {
      resolve: (proc) => {
        signal.removeEventListener("abort", onAbort);
        resolve(proc);
      },
      reject: (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    };
    const onAbort = (): void => {
      const i = this.waiters.indexOf(waiter);
      if (i >= 0) this.waiters.splice(i, 1);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    this.waiters.push(waiter);
    return promise;
  }

  private closedError(): HandlerError {
    return new HandlerError("HANDLER_CRASHED", `the handler processes of ${this.command.label} are stopped`);
  }
}

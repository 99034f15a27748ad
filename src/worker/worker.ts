/**
 * The public Worker: register functions, start, stop. The scheduling lives in scheduler.ts.
 *
 *   const worker = new Worker({ servers: "127.0.0.1:4730,127.0.0.1:4731", concurrency: 8 });
 *   worker.register("reverse", (job) => job.text().split("").reverse().join(""));
 *   await worker.start();
 *   worker.handleSignals(); // SIGINT / SIGTERM → graceful stop, then exit
 */
import { ConfigError, ConnectionError, GearmanError } from "../errors.ts";
// The worker's own options module, not the facade: a worker process then loads none of the
// pool's, client's, server's or gateway's option code (less code kept alive on the heap).
import { numberOption } from "../options/checks.ts";
import {
  resolveRetryOptions,
  resolveWorkerOptions,
  type ResolvedWorkerOptions,
  type RetryBackoffOptions,
  type WorkerOptions,
} from "../options/worker.ts";
import { Emitter, type Listener, type WorkerEventEntry, type WorkerEventName } from "./events.ts";
import type { JobHandler } from "./job.ts";
import type { FunctionStats } from "./registry.ts";
import type { ServerStats } from "./inspect.ts";
import { Scheduler } from "./scheduler.ts";

export type { ServerStats };

/** Longest function name accepted (gearmand keeps names short; see docs/protocol.md). */
const MAX_FUNCTION_NAME = 511;

export interface RegisterOptions {
  /**
   * Milliseconds a job may run, on the worker's own clock (the servers are told a plain CAN_DO:
   * docs/semantics.md, "Timeouts"). When it passes, the job's `signal` aborts with a TimeoutError
   * and the job fails (WORK_WARNING with the reason, WORK_FAIL); what the handler returns later
   * is dropped. Its slot stays taken until the handler settles. With `retries`, it applies to
   * each attempt. @default none
   */
  timeout?: number;
  /**
   * Attempts after the first: a handler that throws, fails (`job.fail()`, `JobFailure`) or times
   * out runs again in this process after `backoff`, before WORK_EXCEPTION / WORK_FAIL goes out.
   * The job keeps its slot meanwhile; `job.attempt` says which attempt runs. A permanent failure
   * (`job.fail(reason, { retry: false })`, `new JobFailure(msg, { permanent: true })`) skips them.
   * @default 0
   */
  retries?: number;
  /** The wait between attempts. @default { initial: 1000, max: 60000, factor: 2, jitter: 0.2 } */
  backoff?: RetryBackoffOptions;
}

export interface StopOptions {
  /** Milliseconds to let running jobs finish before their signals abort. @default the `stopDeadline` option (30000) */
  deadline?: number;
}

export interface HandleSignalsOptions {
  /** @default ["SIGINT", "SIGTERM"] */
  signals?: NodeJS.Signals[];
  /** Passed to `stop()`; a second signal stops at once (deadline 0). */
  deadline?: number;
  /** Call `process.exit` once stopped (0, or 1 if stopping failed). @default true */
  exit?: boolean;
}

export type WorkerState = "idle" | "starting" | "running" | "stopping" | "stopped";

export interface WorkerStats {
  readonly state: WorkerState;
  readonly concurrency: number;
  readonly running: number;
  readonly grabsInFlight: number;
  readonly servers: ServerStats[];
  readonly functions: Record<string, Readonly<FunctionStats>>;
}

export class Worker {
  private readonly config: ResolvedWorkerOptions;
  private readonly emitter = new Emitter();
  private readonly scheduler: Scheduler;
  private started: Promise<void> | null = null;
  private running = false;
  private stopped: Promise<void> | null = null;
  private finished = false;
  private deadlineTimer: ReturnType<typeof setTimeout> | null = null;
  private deadlineAt = 0;
  private deadlinePassed: (() => void) | null = null;

  constructor(options: WorkerOptions = {}) {
    this.config = resolveWorkerOptions(options);
    this.scheduler = new Scheduler(this.config, this.emitter);
  }

  /** Jobs running at once in this process. */
  get concurrency(): number {
    return this.config.concurrency;
  }

  get state(): WorkerState {
    if (this.finished) return "stopped";
    if (this.stopped !== null) return "stopping";
    if (this.running) return "running";
    return this.started !== null ? "starting" : "idle";
  }

  /**
   * Registers (or replaces) the handler for `name`. Allowed while running: CAN_DO goes to every
   * connected server at once, and to the others when they connect.
   */
  register(name: string, handler: JobHandler, options: RegisterOptions = {}): this {
    if (typeof name !== "string" || name === "" || name.includes("\0") || Buffer.byteLength(name) > MAX_FUNCTION_NAME) {
      throw new ConfigError(
        "function name",
        `must be 1-${MAX_FUNCTION_NAME} bytes without NUL, got ${JSON.stringify(name)}`,
      );
    }
    if (typeof handler !== "function") throw new ConfigError("handler", `handler for "${name}" must be a function`);
    const timeout = numberOption("timeout", options.timeout, 0, 0);
    if (!Number.isInteger(timeout)) throw new ConfigError("timeout", `must be whole milliseconds, got ${timeout}`);
    this.scheduler.register(name, handler, timeout, resolveRetryOptions(options.retries, options.backoff));
    return this;
  }

  /** Stops taking jobs for `name` (CANT_DO to every connected server). Running jobs finish. */
  unregister(name: string): boolean {
    return this.scheduler.unregister(name);
  }

  /**
   * Stops taking jobs without stopping: no GRAB goes out any more (NOOPs are left unanswered);
   * jobs already running, and those that GRABs in flight bring, run and answer as usual. There
   * is no resume: a pool child past `maxJobs` calls it while its replacement starts, then
   * `stop()` ends it. So a worker runs at most `concurrency` jobs after `pause()`.
   */
  pause(): void {
    this.scheduler.beginStop();
  }

  /**
   * Connects to every server. Resolves once the worker is registered on at least one; the others
   * keep being retried in the background (reconnect policy). If no server can be reached on the
   * first try, rejects with ConnectionError `NO_SERVERS` (its message lists each server and why),
   * or `TLS_FAILED` when every server failed its TLS handshake, and the worker is stopped: a supervisor restarting the process is the usual answer.
   */
  start(): Promise<void> {
    if (this.stopped !== null) {
      return Promise.reject(new ConnectionError("CLOSED", "worker is stopped; create a new Worker"));
    }
    if (this.started === null) {
      this.started = this.scheduler.start().then(
        () => {
          this.running = true;
        },
        async (error: unknown) => {
          await this.stop({ deadline: 0 });
          throw error;
        },
      );
    }
    return this.started;
  }

  /**
   * Graceful stop: no GRAB goes out any more (NOOPs are left unanswered), jobs that arrive for
   * GRABs already in flight still run, running jobs get until `deadline` to finish. At the
   * deadline every job still running is handed back: its signal aborts, nothing more is sent for
   * it, and the connections close, so the servers queue it again for another worker
   * (docs/semantics.md); the `close` event counts them. Results already sent are flushed first.
   * Calling it again returns the same promise; a shorter deadline takes effect.
   */
  stop(options: StopOptions = {}): Promise<void> {
    const deadline = numberOption("deadline", options.deadline, this.config.stopDeadline, 0);
    if (this.stopped === null) {
      this.stopped = this.runStop(deadline);
    } else {
      this.armDeadline(deadline);
    }
    return this.stopped;
  }

  private async runStop(deadline: number): Promise<void> {
    const scheduler = this.scheduler;
    let handedBack = 0;
    scheduler.beginStop();
    this.emitter.emit("stopping", { deadline });
    if (this.started !== null) {
      const idle = scheduler.whenIdle().then(() => true);
      const { promise, resolve } = Promise.withResolvers<boolean>();
      this.deadlinePassed = () => resolve(false);
      this.armDeadline(deadline);
      const finished = await Promise.race([idle, promise]);
      if (this.deadlineTimer !== null) clearTimeout(this.deadlineTimer);
      this.deadlineTimer = null;
      this.deadlinePassed = null;
      if (!finished && scheduler.running > 0) {
        // The deadline passed: jobs still running go back to their servers (closing the
        // connection re-queues them), whatever their handlers do after the abort. Waiting for
        // their answers would let a late result or a failure reach callers during a deploy.
        handedBack = scheduler.handBack(
          new GearmanError(
            "STOPPED",
            `worker stopped: the stop deadline (${deadline} ms) passed; the job was handed back to the server`,
          ),
        );
      }
    }
    await scheduler.close();
    this.running = false;
    this.finished = true;
    this.emitter.emit("close", { handedBack });
  }

  /** Arms (or brings forward) the stop deadline. */
  private armDeadline(deadline: number): void {
    const fire = this.deadlinePassed;
    if (fire === null) return;
    const at = Date.now() + deadline;
    if (this.deadlineTimer !== null) {
      if (at >= this.deadlineAt) return;
      clearTimeout(this.deadlineTimer);
    }
    this.deadlineAt = at;
    this.deadlineTimer = setTimeout(fire, deadline);
  }

  /** Counters per server and per function, and the slots in use. */
  stats(): WorkerStats {
    const s = this.scheduler;
    return {
      state: this.state,
      concurrency: s.concurrency,
      running: s.running,
      grabsInFlight: s.inFlight,
      servers: s.serverStats(),
      functions: s.registry.snapshot(),
    };
  }

  /**
   * Debug: throws if the scheduler's state is inconsistent (slots over budget, a connection that
   * could miss a wake-up), or if the run-time check (`checkInvariants`) saw a violation earlier.
   */
  assertInvariants(): void {
    this.scheduler.assertInvariants();
  }

  /** Listens to a lifecycle event; returns a function that removes the listener. */
  on<K extends WorkerEventName>(name: K, listener: Listener<K>): () => void {
    return this.emitter.on(name, listener);
  }

  once<K extends WorkerEventName>(name: K, listener: Listener<K>): () => void {
    return this.emitter.once(name, listener);
  }

  off<K extends WorkerEventName>(name: K, listener: Listener<K>): void {
    this.emitter.off(name, listener);
  }

  /**
   * Lifecycle events as an async iterator of `{ name, event }`, ending after the worker closes:
   *
   *   for await (const { name, event } of worker.events()) console.log(name, event);
   *
   * By default every event but the per-job ones (`job:start`, `job:end`); pass names to choose.
   */
  events(
    names: readonly WorkerEventName[] = ["connect", "disconnect", "connection", "error", "stopping", "close"],
  ): AsyncIterableIterator<WorkerEventEntry> {
    return this.emitter.iterate(names);
  }

  /**
   * For scripts: the first SIGINT / SIGTERM starts a graceful `stop()` (then `process.exit`
   * unless `exit: false`); a second one stops at once. Returns a function that removes the
   * handlers. Opt-in: a library must not take over a process's signals by itself.
   */
  handleSignals(options: HandleSignalsOptions = {}): () => void {
    const signals = options.signals ?? ["SIGINT", "SIGTERM"];
    const exit = options.exit ?? true;
    let received = 0;
    const dispose = (): void => {
      for (const s of signals) process.off(s, onSignal);
    };
    const onSignal = (): void => {
      received++;
      if (received > 1) {
        void this.stop({ deadline: 0 });
        return;
      }
      this.stop({ deadline: options.deadline }).then(
        () => {
          dispose();
          if (exit) process.exit(0);
        },
        () => {
          dispose();
          if (exit) process.exit(1);
        },
      );
    };
    for (const s of signals) process.on(s, onSignal);
    return dispose;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

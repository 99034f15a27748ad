/**
 * The pool's typed events. The logger is one listener among others; an application can watch
 * the same events (`pool.on("child:exit", …)`).
 */
import type { ChildStats } from "./recorder.ts";
import type { JobRecord } from "./ipc.ts";

/** Why a child was started. */
export type StartReason = "start" | "respawn" | RecycleReason;
/** Why a running child is being replaced. */
export type RecycleReason = "max-jobs" | "max-lifetime" | "max-memory" | "reload";

interface ChildRef {
  /** 1-based slot, stable across respawns and recycles. */
  readonly index: number;
  readonly pid: number;
  /** "general", or the function of a dedicated pool. */
  readonly group: string;
}

export interface PoolEvents {
  /** A child process was spawned. */
  "child:start": ChildRef & { readonly reason: StartReason };
  /** A child registered its functions on the servers. */
  "child:ready": ChildRef & {
    readonly functions: readonly string[];
    readonly servers: readonly string[];
    readonly startupMs: number;
  };
  /** A child exited. `expected`: the supervisor had asked it to stop. */
  "child:exit": ChildRef & {
    readonly code: number | null;
    readonly signal: string | null;
    readonly expected: boolean;
    /** Why, in words (exit code explained, load error). */
    readonly reason: string;
    /** Its last stderr lines, for an unexpected exit. */
    readonly stderr: readonly string[];
  };
  /** A dead child's replacement is scheduled after `delay` ms (`attempt` failures in a row). */
  "child:respawn": { readonly index: number; readonly group: string; readonly attempt: number; readonly delay: number };
  /** A replacement is registered and the old child was told to stop. */
  "child:recycle": ChildRef & { readonly reason: RecycleReason; readonly replacement: number };
  /** A replacement could not start: the old child keeps running. */
  "child:recycle-failed": ChildRef & { readonly reason: RecycleReason; readonly error: string };
  /** A ready child sent nothing for `silentMs` (stopped, or its event loop blocked): it is killed and replaced. */
  "child:unresponsive": ChildRef & { readonly silentMs: number };
  /** A stopping child handed jobs still running at its stop deadline back to their servers (docs/semantics.md). */
  "child:handed-back": ChildRef & { readonly jobs: number };
  /**
   * The pool gave up and stops: LOAD_FAILED (the handlers did not load at the first start, or a
   * `[functions.NAME]` section names no exported function), CRASH_LOOP (a slot's child died
   * `crashLimit` times in a row).
   */
  failed: { readonly code: string; readonly error: string };
  /** A rolling reload finished: every child replaced (`ok`), or stopped at the first that failed. */
  reload: { readonly ok: boolean; readonly replaced: number; readonly error: string | null; readonly ms: number };
  /** A job ended in a child (only when `log` is on or `jobEvents` is set). */
  job: ChildRef & JobRecord;
  /** A child lost or regained a server connection (only when `log` is on or `jobEvents` is set). */
  link: ChildRef & { readonly server: string; readonly up: boolean; readonly error: string | null };
  /** A child's cumulative counters (every `statsInterval` when it is set). */
  stats: ChildRef & { readonly stats: ChildStats };
  /** A line a child wrote to stdout or stderr. */
  output: ChildRef & { readonly stream: "stdout" | "stderr"; readonly line: string };
  /** `stop()` began. `deadline` 0: at once. */
  stopping: { readonly deadline: number };
  /** Every child has exited. `graceful`: none had to be killed. */
  stopped: {
    readonly graceful: boolean;
    /** Jobs the children handed back to their servers at the stop deadline, in this stop. */
    readonly handedBack: number;
  };
}

export type PoolEventName = keyof PoolEvents;

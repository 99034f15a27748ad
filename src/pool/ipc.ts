/**
 * What supervisor and children say to each other over Bun's IPC channel (JSON serialization).
 * Each direction is one small tagged union, so a new kind of message (stats, say) is one more
 * member here and one more case where it is handled.
 */
import type { ChildStats } from "./recorder.ts";
import type { TlsOptions } from "../options.ts";
import type { ResolvedFunctionOptions } from "../options.ts";

/** Environment variable that carries a child's spec (JSON) to the child entry. */
export const CHILD_SPEC_ENV = "GEARBUN_POOL_CHILD";
/** Set: the child loads its handlers, prints their names (JSON) and exits 0, connecting nothing. */
export const CHILD_CHECK_ENV = "GEARBUN_POOL_CHECK";

/** Everything a child needs to know, decided by the supervisor. */
export interface ChildSpec {
  /** 1-based, stable for the slot across respawns. */
  readonly index: number;
  readonly group: string;
  readonly handlers: readonly string[];
  readonly only: readonly string[] | null;
  readonly exclude: readonly string[];
  readonly servers: string;
  /** The pool's `tls` option, or null. */
  readonly tls: boolean | TlsOptions | null;
  readonly concurrency: number;
  readonly functions: Readonly<Record<string, ResolvedFunctionOptions>>;
  /** Prefix; the child appends `:host:pid:index`. */
  readonly clientId: string;
  readonly maxJobs: number;
  readonly stopDeadline: number;
  /** Send a `job` message per job end. */
  readonly jobEvents: boolean;
  /** Milliseconds between `stats` reports (for the pool's metrics); 0: none. */
  readonly statsInterval: number;
  /** SQLite dead-letter file, or null. */
  readonly deadLetter: string | null;
  /** Long-lived handler process commands (src/foreign/). */
  readonly exec: readonly string[];
  /** Function name → per-job command (src/foreign/). */
  readonly execPerJob: Readonly<Record<string, string>>;
}

/** One job's end, as the per-job log line reports it. */
export interface JobRecord {
  readonly function: string;
  readonly handle: string;
  readonly unique: string;
  readonly server: string;
  readonly outcome: string;
  readonly durationMs: number;
  readonly attempts: number;
  readonly error: string | null;
}

/** A child's own CPU and memory, with each heartbeat. */
export interface ChildUsage {
  readonly cpuSeconds: number;
  /** Resident memory, bytes. */
  readonly rss: number;
}

/** Child → supervisor. */
export type ChildMessage =
  /** Registered on the servers (all of them, or those reachable within the ready wait). */
  | { readonly type: "ready"; readonly functions: readonly string[]; readonly servers: readonly string[] }
  /** The handlers could not be loaded or registered; the child exits with EXIT_LOAD_FAILED next. */
  | { readonly type: "fatal"; readonly error: string }
  /** `maxJobs` jobs started: the child grabs nothing more and finishes its running jobs. */
  | { readonly type: "retire"; readonly jobs: number }
  | ({ readonly type: "job" } & JobRecord)
  /** Cumulative counters of this child (every `statsInterval`, and when it stops). */
  | { readonly type: "stats"; readonly stats: ChildStats }
  /** Still alive (every `heartbeat` ms; any message counts as one). */
  | { readonly type: "alive"; readonly usage: ChildUsage }
  /**
   * Jobs still running at the stop deadline, handed back to their servers (docs/semantics.md);
   * sent just before the child exits, only when there were any.
   */
  | { readonly type: "handed-back"; readonly jobs: number }
  /** A server connection was lost or came back. */
  | { readonly type: "link"; readonly server: string; readonly up: boolean; readonly error: string | null };

/** Supervisor → child. */
export type SupervisorMessage =
  /** Stop gracefully: no more grabs, running jobs get `deadline` ms, then exit 0. */
  { readonly type: "stop"; readonly deadline: number };

/** A child's exit codes (the supervisor explains them in its log). */
export const ChildExit = {
  Stopped: 0,
  /** A handlers module failed to import, or exports no usable handler. */
  LoadFailed: 3,
  /** No server could be reached at start. */
  NoServers: 4,
} as const;

export function isChildMessage(value: unknown): value is ChildMessage {
  return typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string";
}

/**
 * The pool's options resolved in one place: the defaults table, the checks (errors name the
 * option to change), and the split of children into groups — the general children and one
 * dedicated group per function that asks for its own processes.
 */
import { availableParallelism, hostname } from "node:os";
import { isAbsolute, resolve } from "node:path";
import type { ServersInput } from "../connection/servers.ts";
import { ConfigError } from "../errors.ts";
import { numberOption } from "./checks.ts";
import { resolveTlsOptions, type TlsOptions } from "./connection.ts";
import { POOL_DEFAULTS, POOL_SETTINGS } from "./pool-settings.ts";
import { type RetryBackoffOptions, resolveRetryOptions } from "./worker.ts";

/**
 * How the supervisor writes per-job and lifecycle lines on stdout: `events` is json without the
 * per-job lines (children then send no per-job messages).
 */
export type PoolLogMode = "pretty" | "json" | "events" | "off";

/** Settings of one function, in every child that registers it. */
export interface FunctionPoolOptions {
  /** Dedicated children that register only this function; 0: the general children serve it. @default 0 */
  processes?: number;
  /** Jobs at once in each dedicated child. @default the pool's `concurrency` */
  concurrency?: number;
  /** Milliseconds a job may run, per attempt, on the worker's own clock. @default none */
  timeout?: number;
  /** Attempts after a failed first one, in the same child (see `RegisterOptions.retries`). @default 0 */
  retries?: number;
  /** The wait between attempts. @default { initial: 1000, max: 60000, factor: 2, jitter: 0.2 } */
  backoff?: RetryBackoffOptions;
}

export interface PoolOptions {
  /** Module(s) whose default export maps function names to handlers. Relative paths are from `cwd`. */
  handlers: string | string[];
  /** Job servers, as for a Worker. @default process.env.GEARMAN_SERVERS, else "127.0.0.1:4730" */
  servers?: ServersInput;
  /** TLS to every server, as a Worker's `tls` ("tls://" servers use TLS regardless). @default false */
  tls?: boolean | TlsOptions;
  /** General children; "auto": one per CPU core. @default 1 */
  processes?: number | "auto";
  /** Jobs at once in each child. @default 1 */
  concurrency?: number;
  /** A child that has ended this many jobs is recycled (replacement first); 0: never. @default 0 */
  maxJobs?: number;
  /** Milliseconds after which a child is recycled; 0: never. @default 0 */
  maxLifetime?: number;
  /** A child whose resident memory passes this many megabytes is recycled (replacement first); 0: never. @default 0 */
  maxMemory?: number;
  /** Up to this many milliseconds, drawn at random, are added before each recycle so children do not restart together. @default 0 */
  restartSplay?: number;
  /** Milliseconds a stopping child gets to finish its running jobs. @default 30000 */
  stopDeadline?: number;
  /**
   * Milliseconds `start()` / `startPool()` wait for a first child to register; if none has by
   * then, the pool stops and they reject with PoolError START_FAILED; 0: wait (respawning with
   * backoff) until `stop()`, as `gearbun worker` does. @default 30000
   */
  startTimeout?: number;
  /** Rolling reload when a file under the handlers' folders changes. @default false */
  watch?: boolean;
  /** Per-job and lifecycle lines on stdout. @default "off" */
  log?: PoolLogMode;
  /** Children report every job end as a `job` event even when `log` is "off". @default false */
  jobEvents?: boolean;
  /** Milliseconds between each child's `stats` report (the pool's Prometheus metrics); 0: none. @default 0 */
  statsInterval?: number;
  /** Per-function settings and dedicated pools. @default none */
  functions?: Record<string, FunctionPoolOptions>;
  /** Prefix of each child's SET_CLIENT_ID, followed by `:host:pid:index`. @default "gearbun" */
  clientId?: string;
  /** Milliseconds before the first respawn of a child that died; doubles per failure in a row. @default 100 */
  respawnDelay?: number;
  /** Longest wait before a respawn. @default 30000 */
  respawnMaxDelay?: number;
  /** A child that ran this many milliseconds resets the respawn backoff when it dies. @default 10000 */
  respawnReset?: number;
  /**
   * A slot whose child dies this many times in a row (each before it ran `respawnReset`) stops
   * the pool with PoolError CRASH_LOOP (`gearbun worker` exits 3); 0: respawn for ever. @default 10
   */
  crashLimit?: number;
  /**
   * Milliseconds a child may go without reporting over IPC (it reports every second) before it
   * is killed and replaced — a stopped process, or a handler that blocks the event loop that
   * long; 0: never. @default 10000
   */
  heartbeatTimeout?: number;
  /** SQLite file where children record jobs that failed for good (see `gearbun dead`). @default none */
  deadLetter?: string;
  /**
   * Commands of long-lived handler processes that speak the handler protocol
   * (docs/handler-protocol.md), run with `/bin/sh -c`; each Bun child starts `concurrency` of
   * each. @default none
   */
  exec?: string | string[];
  /**
   * Functions run by a command per job, run with `/bin/sh -c`: the payload on its stdin, its
   * stdout the result, exit code 0 success, else a failure with its stderr's last lines.
   * `{ NAME: CMD }`, or `"NAME=CMD"` entries as the flag and the config file take them. @default none
   */
  execPerJob?: string | string[] | Record<string, string>;
  /** Folder relative handler paths start from. @default process.cwd() */
  cwd?: string;
}

export { POOL_DEFAULTS, POOL_SETTINGS } from "./pool-settings.ts";

/**
 * Most processes a pool runs, all groups together: each child is a Bun process (tens of MB), so
 * a typo like `processes = 1e9` must be an error, not a machine out of memory.
 */
export const MAX_PROCESSES = 256;

/** Milliseconds between a child's heartbeats (any message it sends counts as one). */
export const HEARTBEAT_INTERVAL = 1000;

/** One kind of child: what it registers and how many of it run. */
export interface PoolGroup {
  /** "general", or the function name of a dedicated group. */
  readonly name: string;
  readonly processes: number;
  readonly concurrency: number;
  /** Register only these functions (a dedicated group), or null: every export not in `exclude`. */
  readonly only: readonly string[] | null;
  /** Functions the general children leave to dedicated groups. */
  readonly exclude: readonly string[];
}

export interface ResolvedFunctionOptions {
  readonly timeout: number;
  readonly retries: number;
  readonly backoff: RetryBackoffOptions;
}

export interface ResolvedPoolOptions {
  readonly handlers: readonly string[];
  /** As given (a child parses it again with the Worker's own rules), "" for the default. */
  readonly servers: string;
  /** As given (checked here, resolved again by each child), null for none. */
  readonly tls: boolean | TlsOptions | null;
  readonly groups: readonly PoolGroup[];
  readonly functions: Readonly<Record<string, ResolvedFunctionOptions>>;
  readonly maxJobs: number;
  readonly maxLifetime: number;
  readonly maxMemory: number;
  readonly restartSplay: number;
  readonly stopDeadline: number;
  readonly startTimeout: number;
  readonly watch: boolean;
  readonly log: PoolLogMode;
  readonly jobEvents: boolean;
  readonly statsInterval: number;
  readonly clientId: string;
  readonly host: string;
  readonly respawnDelay: number;
  readonly respawnMaxDelay: number;
  readonly respawnReset: number;
  readonly crashLimit: number;
  readonly heartbeatTimeout: number;
  readonly deadLetter: string | null;
  readonly exec: readonly string[];
  /** Function name → command. */
  readonly execPerJob: Readonly<Record<string, string>>;
}

function whole(name: string, value: number | undefined, fallback: number, min: number): number {
  const n = numberOption(name, value, fallback, min);
  if (!Number.isInteger(n)) throw new ConfigError(name, `must be a whole number, got ${n}`);
  return n;
}

const LOG_MODES: readonly string[] = ["pretty", "json", "events", "off"];

/** A number option with the minimum its row in the settings table gives. */
function setting(name: keyof typeof POOL_SETTINGS, value: number | undefined, min?: number): number {
  const row: { default: unknown; min?: number; kind: string } = POOL_SETTINGS[name];
  const fallback = typeof row.default === "number" ? row.default : 0;
  return row.kind === "int"
    ? whole(name, value, fallback, min ?? row.min ?? 0)
    : numberOption(name, value, fallback, min ?? row.min ?? 0);
}

export function resolvePoolOptions(options: PoolOptions): ResolvedPoolOptions {
  const cwd = options.cwd ?? process.cwd();
  const list = typeof options.handlers === "string" ? [options.handlers] : options.handlers;
  const exec = commandsOption(options.exec);
  const execPerJob = perJobOption(options.execPerJob);
  const commands = exec.length + Object.keys(execPerJob).length;
  if (
    !Array.isArray(list) ||
    (list.length === 0 && commands === 0) ||
    list.some((h) => typeof h !== "string" || h === "")
  ) {
    throw new ConfigError("handlers", "must name at least one handlers module (or give exec or execPerJob)");
  }
  const handlers = list.map((h) => (isAbsolute(h) ? h : resolve(cwd, h)));

  const raw = options.servers;
  if (
    raw !== undefined &&
    typeof raw !== "string" &&
    !(Array.isArray(raw) && raw.every((s) => typeof s === "string"))
  ) {
    throw new ConfigError("servers", "must be a string or a list of strings");
  }
  const servers = raw === undefined ? "" : typeof raw === "string" ? raw : raw.join(",");
  // Checked (files read) here, so a bad file stops the pool before any child starts.
  resolveTlsOptions(options.tls, false);

  const processes = options.processes === "auto" ? availableParallelism() : setting("processes", options.processes);
  const concurrency = setting("concurrency", options.concurrency);

  const functions: Record<string, ResolvedFunctionOptions> = {};
  const groups: PoolGroup[] = [];
  const dedicated: string[] = [];
  for (const [fn, f] of Object.entries(options.functions ?? {})) {
    if (typeof f !== "object" || f === null) throw new ConfigError(`functions.${fn}`, "must be a table of settings");
    const count = whole(`functions.${fn}.processes`, f.processes, 0, 0);
    try {
      resolveRetryOptions(f.retries, f.backoff);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      throw new ConfigError(`functions.${fn}.${error.option}`, error.message.slice(error.option.length + 2));
    }
    functions[fn] = {
      timeout: whole(`functions.${fn}.timeout`, f.timeout, 0, 0),
      retries: f.retries ?? 0,
      backoff: { ...f.backoff },
    };
    if (count > 0) {
      dedicated.push(fn);
      groups.push({
        name: fn,
        processes: count,
        concurrency: whole(`functions.${fn}.concurrency`, f.concurrency, concurrency, 1),
        only: [fn],
        exclude: [],
      });
    } else if (f.concurrency !== undefined) {
      throw new ConfigError(`functions.${fn}.concurrency`, "applies only to a dedicated pool (set processes)");
    }
  }
  if (processes === 0 && dedicated.length === 0) {
    throw new ConfigError("processes", "must be at least 1 unless functions have dedicated processes");
  }
  if (processes > 0) {
    groups.unshift({ name: "general", processes, concurrency, only: null, exclude: dedicated });
  }
  const total = groups.reduce((n, g) => n + g.processes, 0);
  if (total > MAX_PROCESSES) {
    const dedicatedToo = groups.length > 1 ? " with the dedicated pools" : "";
    throw new ConfigError(
      "processes",
      `must be at most ${MAX_PROCESSES} in all (each is a Bun process), got ${total}${dedicatedToo}`,
    );
  }

  const log = options.log ?? POOL_DEFAULTS.log;
  if (!LOG_MODES.includes(log)) {
    throw new ConfigError("log", `must be "pretty", "json", "events" or "off", got ${String(log)}`);
  }
  const clientId = options.clientId ?? POOL_DEFAULTS.clientId;
  if (typeof clientId !== "string" || clientId === "" || /[\0\s]/.test(clientId)) {
    throw new ConfigError("clientId", "must be a non-empty string without spaces or NUL");
  }
  const watch = options.watch ?? POOL_DEFAULTS.watch;
  if (typeof watch !== "boolean") throw new ConfigError("watch", `must be true or false, got ${String(watch)}`);
  const respawnDelay = setting("respawnDelay", options.respawnDelay);
  return {
    handlers,
    servers,
    tls: options.tls ?? null,
    groups,
    functions,
    maxJobs: setting("maxJobs", options.maxJobs),
    maxLifetime: setting("maxLifetime", options.maxLifetime),
    maxMemory: setting("maxMemory", options.maxMemory),
    restartSplay: setting("restartSplay", options.restartSplay),
    stopDeadline: setting("stopDeadline", options.stopDeadline),
    startTimeout: setting("startTimeout", options.startTimeout),
    watch,
    log,
    jobEvents: (options.jobEvents ?? POOL_DEFAULTS.jobEvents) || log === "json" || log === "pretty",
    statsInterval: setting("statsInterval", options.statsInterval),
    clientId,
    host: hostname(),
    respawnDelay,
    respawnMaxDelay: setting("respawnMaxDelay", options.respawnMaxDelay, respawnDelay),
    respawnReset: setting("respawnReset", options.respawnReset),
    crashLimit: setting("crashLimit", options.crashLimit),
    heartbeatTimeout: setting("heartbeatTimeout", options.heartbeatTimeout),
    deadLetter: deadLetterOption(options.deadLetter, cwd),
    exec,
    execPerJob,
  };
}

function deadLetterOption(file: string | undefined, cwd: string): string | null {
  if (file === undefined) return null;
  if (typeof file !== "string" || file === "") throw new ConfigError("deadLetter", "must be a file path");
  return isAbsolute(file) ? file : resolve(cwd, file);
}

function commandsOption(value: string | string[] | undefined): string[] {
  const list = value === undefined ? [] : typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || list.some((c) => typeof c !== "string" || c.trim() === "")) {
    throw new ConfigError("exec", "must be a command or a list of commands");
  }
  return list;
}

/** `{ NAME: CMD }` from a record or "NAME=CMD" entries. */
function perJobOption(value: string | string[] | Record<string, string> | undefined): Record<string, string> {
  if (value === undefined) return {};
  const entries: [string, unknown][] =
    typeof value === "string" || Array.isArray(value)
      ? (typeof value === "string" ? [value] : value).map((e) => {
          const at = typeof e === "string" ? e.indexOf("=") : -1;
          if (at <= 0) throw new ConfigError("execPerJob", `must be NAME=CMD entries, got ${JSON.stringify(e)}`);
          return [e.slice(0, at).trim(), e.slice(at + 1)];
        })
      : Object.entries(value);
  const out: Record<string, string> = {};
  for (const [name, command] of entries) {
    if (name === "" || /[\0\s]/.test(name)) {
      throw new ConfigError(
        "execPerJob",
        `function name ${JSON.stringify(name)} must be non-empty, without spaces or NUL`,
      );
    }
    if (typeof command !== "string" || command.trim() === "") {
      throw new ConfigError("execPerJob", `the command for "${name}" must be a non-empty string`);
    }
    out[name] = command;
  }
  return out;
}

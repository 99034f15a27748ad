/**
 * `gearbun worker FILE.ts…`: a supervised pool of worker processes running the handlers the
 * files export, until SIGINT/SIGTERM (graceful; a second signal stops at once). SIGHUP reloads.
 */
import { ConfigError } from "../errors.ts";
import { WORKER_DEFAULTS } from "../options.ts";
import { servePoolMetrics } from "../metrics/pool.ts";
import { loadConfig } from "../pool/config.ts";
import { POOL_DEFAULTS, type PoolLogMode, type PoolOptions } from "../options.ts";
import { Pool } from "../pool/supervisor.ts";
import { type Command, type Flags, flagLine, SERVERS_FLAG, str, UsageError } from "./args.ts";
import { CLIENT_SSL_OPTIONS, CLIENT_SSL_USAGE, clientTlsFlags } from "./client-tls.ts";

const s = (ms: number): string => `${ms / 1000}`;
/** The exit code when a slot's children kept dying (systemd restarts on it; 2 would not). */
const EXIT_CRASH_LOOP = 3;
/** How often each child reports its counters when --metrics is on. */
const STATS_INTERVAL_MS = 1000;

export const worker: Command = {
  usage: `Usage: gearbun worker FILE.ts [MORE.ts…] [options]

Runs the handlers the files export by default ({ functionName: async (job) => result, ... })
in a supervised pool of worker processes: a child that dies is respawned (with backoff), a child
is recycled after --max-jobs or --max-lifetime (its replacement registers first), and SIGHUP
(or --watch) replaces the children one at a time with the code as it is now.
SIGINT/SIGTERM stop gracefully (running jobs finish first); a second signal stops at once.
Exit codes: 0 stopped gracefully, 1 a child had to be killed or an error, 2 bad flags or config,
or handlers that do not load at start, 3 a process died --crash-limit times in a row.
${flagLine("--config FILE", "TOML file with these settings and [functions.NAME] pools")}
${SERVERS_FLAG}
${CLIENT_SSL_USAGE}
${flagLine("--processes N|auto", "worker processes (auto: one per CPU core)", POOL_DEFAULTS.processes)}
${flagLine("--concurrency N", "jobs running at once in each process", WORKER_DEFAULTS.concurrency)}
${flagLine("--max-jobs N", "recycle a process after N jobs (0: never)", POOL_DEFAULTS.maxJobs)}
${flagLine("--max-lifetime S", "recycle a process after S seconds (0: never)", s(POOL_DEFAULTS.maxLifetime))}
${flagLine("--restart-splay S", "up to S random seconds more before a recycle", s(POOL_DEFAULTS.restartSplay))}
${flagLine("--stop-deadline S", "seconds a stopping process gets for its jobs", s(POOL_DEFAULTS.stopDeadline))}
${flagLine("--crash-limit N", "exit 3 when a process dies N times in a row (0: never)", POOL_DEFAULTS.crashLimit)}
${flagLine("--heartbeat-timeout S", "kill and replace a process silent for S seconds (0: never)", s(POOL_DEFAULTS.heartbeatTimeout))}
${flagLine("--watch", "rolling reload when a file under the handlers' folders changes")}
${flagLine("--log MODE", "per-job and lifecycle lines: pretty, json, off", "pretty on a terminal, else json")}
${flagLine("--dead-letter FILE", "SQLite file for jobs that failed for good (gearbun dead)")}
${flagLine("--metrics HOST:PORT", "serve Prometheus /metrics and /healthz for the pool")}
${flagLine("--client-id ID", 'prefix of each process\'s client id ("gearadmin --workers")', POOL_DEFAULTS.clientId)}`,
  options: {
    config: { type: "string" },
    servers: { type: "string" },
    processes: { type: "string" },
    concurrency: { type: "string" },
    "max-jobs": { type: "string" },
    "max-lifetime": { type: "string" },
    "restart-splay": { type: "string" },
    "stop-deadline": { type: "string" },
    "crash-limit": { type: "string" },
    "heartbeat-timeout": { type: "string" },
    watch: { type: "boolean" },
    log: { type: "string" },
    "client-id": { type: "string" },
    "dead-letter": { type: "string" },
    metrics: { type: "string" },
    ...CLIENT_SSL_OPTIONS,
  },
  async run(values, positionals) {
    const file = str(values.config);
    let fromFile: Partial<PoolOptions> = {};
    if (file !== undefined) fromFile = loadConfigOrUsage(file);
    // No start timeout: the command keeps respawning with backoff, and says why, until a signal.
    const options: PoolOptions = { ...fromFile, ...fromFlags(values), handlers: positionals, startTimeout: 0 };
    if (positionals.length === 0) {
      if (fromFile.handlers === undefined) {
        throw new UsageError("worker needs a FILE.ts whose default export maps function names to handlers");
      }
      options.handlers = fromFile.handlers;
    }
    if (options.log === undefined) options.log = process.stdout.isTTY ? "pretty" : "json";
    const metricsAt = str(values.metrics);
    if (metricsAt !== undefined) options.statsInterval = STATS_INTERVAL_MS;
    let pool: Pool;
    try {
      pool = new Pool(options);
    } catch (error) {
      if (error instanceof ConfigError) throw new UsageError(error.message);
      throw error;
    }
    const endpoint = metricsAt === undefined ? null : servePoolMetrics(pool, metricsAt);
    if (endpoint !== null) console.error(`gearbun worker: metrics on ${endpoint.url}/metrics`);
    try {
      return await supervise(pool, options.log);
    } finally {
      await endpoint?.stop();
    }
  },
};

function loadConfigOrUsage(file: string): Partial<PoolOptions> {
  try {
    return loadConfig(file);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

/** A whole number flag (at least `min`), or undefined when absent. */
function count(values: Flags, name: string, min: number): number | undefined {
  const raw = str(values[name]);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isInteger(n) || n < min) {
    throw new UsageError(`--${name} must be an integer >= ${min}, got "${raw}"`);
  }
  return n;
}

/** A seconds flag as milliseconds, or undefined when absent. */
function seconds(values: Flags, name: string): number | undefined {
  const raw = str(values[name]);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n < 0) {
    throw new UsageError(`--${name} must be a number of seconds >= 0, got "${raw}"`);
  }
  return Math.round(n * 1000);
}

/** The flags that were given, as pool options (absent flags leave the file's value). */
function fromFlags(values: Flags): Partial<PoolOptions> {
  const out: Partial<PoolOptions> = {};
  const set = <K extends keyof PoolOptions>(key: K, value: PoolOptions[K] | undefined): void => {
    if (value !== undefined) out[key] = value;
  };
  const processes = str(values.processes);
  set("processes", processes === "auto" ? "auto" : count(values, "processes", 0));
  set("servers", str(values.servers));
  set("tls", clientTlsFlags(values));
  set("concurrency", count(values, "concurrency", 1));
  set("maxJobs", count(values, "max-jobs", 0));
  set("maxLifetime", seconds(values, "max-lifetime"));
  set("restartSplay", seconds(values, "restart-splay"));
  set("stopDeadline", seconds(values, "stop-deadline"));
  set("crashLimit", count(values, "crash-limit", 0));
  set("heartbeatTimeout", seconds(values, "heartbeat-timeout"));
  if (values.watch === true) out.watch = true;
  const log = str(values.log);
  if (log !== undefined && log !== "pretty" && log !== "json" && log !== "off") {
    throw new UsageError(`--log must be pretty, json or off, got "${log}"`);
  }
  set("log", log as PoolLogMode | undefined);
  set("clientId", str(values["client-id"]));
  set("deadLetter", str(values["dead-letter"]));
  return out;
}

/** Runs the pool until a signal stops it; resolves to the exit code. */
async function supervise(pool: Pool, log: PoolLogMode): Promise<number> {
  const functions = new Set<string>();
  const servers = new Set<string>();
  const offReady = pool.on("child:ready", (e) => {
    for (const f of e.functions) functions.add(f);
    for (const server of e.servers) servers.add(server);
  });
  const { promise: signalled, resolve: onStop } = Promise.withResolvers<void>();
  let signals = 0;
  const onSignal = (): void => {
    signals++;
    if (signals === 1) onStop();
    else void pool.stop({ deadline: 0 });
  };
  const onHup = (): void => void pool.reload();
  // The pool gave up (a crash loop): it is stopping already; the exit code says why.
  const offFailed = pool.on("failed", () => onStop());
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onHup);

  // A failed start (handlers that do not load) rejects; the pool has stopped; `failure` says why.
  const started = await Promise.race([
    pool.start().then(
      () => true,
      () => false,
    ),
    signalled.then(() => false),
  ]);
  offReady();
  if (started) {
    const n = pool.children().length;
    const banner =
      `gearbun worker: ${[...functions].join(", ")} on ${[...servers].join(", ")} ` +
      `(${n} process${n === 1 ? "" : "es"}, supervisor pid ${process.pid})`;
    if (log === "json")
      console.log(JSON.stringify({ time: new Date().toISOString(), event: "started", message: banner }));
    else console.log(banner);
    await signalled;
  }
  const graceful = await pool.stop();
  offFailed();
  process.off("SIGHUP", onHup);
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  const failure = pool.failure;
  // Handlers that do not load at the first start: one line and exit 2, as for a bad config.
  if (failure?.code === "LOAD_FAILED") throw new UsageError(failure.message);
  if (failure !== null) {
    console.error(`gearbun worker: ${failure.message}`);
    return failure.code === "CRASH_LOOP" ? EXIT_CRASH_LOOP : 1;
  }
  return graceful ? 0 : 1;
}

/**
 * `gearbun worker FILE.ts…`: a supervised pool of worker processes running the handlers the
 * files export, until SIGINT/SIGTERM (graceful; a second signal stops at once). SIGHUP reloads.
 */
import { ConfigError, PoolError } from "../errors.ts";
import { checkHandlers } from "../pool/check.ts";
import { servePoolMetrics } from "../pool/metrics.ts";
import type { PoolLogMode, PoolOptions } from "../options.ts";
import { POOL_SETTINGS, type PoolSetting, type PoolSettingName, type SettingKind } from "../options/pool-settings.ts";
import { Pool } from "../pool/supervisor.ts";
import { type Command, type Flags, flagLine, str, UsageError } from "./args.ts";
import { loadConfigOrUsage } from "./pool-config.ts";
import { CLIENT_SSL_OPTIONS, CLIENT_SSL_USAGE, clientTlsFlags } from "./client-tls.ts";

/** The settings that are flags: option name, flag name, row. */
const SETTING_FLAGS = (Object.entries(POOL_SETTINGS) as [PoolSettingName, PoolSetting][])
  .filter(([, row]) => row.key !== null && row.flag !== false)
  .map(([name, row]) => [name, row.key!, row] as const);

function shownDefault(row: PoolSetting): string | number | undefined {
  if (row.defaultText !== undefined) return row.defaultText;
  if (row.default === null || row.default === false) return undefined;
  return row.kind === "seconds" ? Number(row.default) / 1000 : (row.default as string | number);
}
/** The exit code when a slot's children kept dying (systemd restarts on it; 2 would not). */
const EXIT_CRASH_LOOP = 3;
/** How often each child reports its counters when --metrics is on. */
const STATS_INTERVAL_MS = 1000;

export const worker: Command = {
  takesArguments: true,
  usage: `Usage: gearbun worker FILE.ts|FILE.py|FILE.php [MORE…] [--exec CMD] [--exec-per-job NAME=CMD] [options]

Runs the handlers the files export by default ({ functionName: async (job) => result, ... })
in a supervised pool of worker processes (a .py or .php file, --exec and --exec-per-job hand
each job to a process of their own: docs/handler-protocol.md): a child that dies is respawned (with backoff), a child
is recycled after --max-jobs or --max-lifetime (its replacement registers first), and SIGHUP
(or --watch) replaces the children one at a time with the code as it is now.
SIGINT/SIGTERM stop gracefully (running jobs finish first); a second signal stops at once.
Exit codes: 0 stopped gracefully, 1 a child had to be killed or an error, 2 bad flags or config,
or handlers that do not load at start, 3 a process died --crash-limit times in a row.
${flagLine("--config FILE", "TOML file with these settings (same names) and [functions.NAME] tables")}
${CLIENT_SSL_USAGE}
${SETTING_FLAGS.map(([, key, row]) => flagLine(`--${key}${row.arg ? ` ${row.arg}` : ""}`, row.doc, shownDefault(row))).join("\n")}
${flagLine("--metrics HOST:PORT", "serve Prometheus /metrics and /healthz for the pool")}
${flagLine("--check", "load the config and each group's handlers, print them, exit 0 (2: a problem); start nothing")}
Times are in seconds everywhere (flags and the config file), fractions allowed.`,
  options: {
    config: { type: "string" },
    metrics: { type: "string" },
    check: { type: "boolean" },
    ...Object.fromEntries(
      SETTING_FLAGS.map(([, key, row]) => [key, { type: row.kind === "bool" ? "boolean" : "string" }]),
    ),
    ...CLIENT_SSL_OPTIONS,
  },
  async run(values, positionals) {
    const file = str(values.config);
    let fromFile: Partial<PoolOptions> = {};
    if (file !== undefined) fromFile = loadConfigOrUsage(file);
    // No start timeout: the command keeps respawning with backoff, and says why, until a signal.
    const options: PoolOptions = { ...fromFile, ...fromFlags(values), handlers: positionals, startTimeout: 0 };
    if (positionals.length === 0) {
      const commands = options.exec !== undefined || options.execPerJob !== undefined;
      if (fromFile.handlers === undefined && !commands) {
        throw new UsageError("worker needs a FILE.ts whose default export maps function names to handlers");
      }
      options.handlers = fromFile.handlers ?? [];
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
    if (values.check === true) return await check(pool);
    const endpoint = metricsAt === undefined ? null : servePoolMetrics(pool, metricsAt);
    if (endpoint !== null) console.error(`gearbun worker: metrics on ${endpoint.url}/metrics`);
    try {
      return await supervise(pool, options.log);
    } finally {
      await endpoint?.stop();
    }
  },
};

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
  const out: Record<string, unknown> = {};
  for (const [name, key, row] of SETTING_FLAGS) {
    const value = flagValue(values, key, row.kind, row.min ?? 0);
    if (value !== undefined) out[name] = value;
  }
  const tls = clientTlsFlags(values);
  if (tls !== undefined) out.tls = tls;
  return out as Partial<PoolOptions>;
}

/** One flag's value as its row's kind says, or undefined when absent. */
function flagValue(values: Flags, key: string, kind: SettingKind, min: number): unknown {
  if (kind === "bool") return values[key] === true ? true : undefined;
  const raw = str(values[key]);
  if (raw === undefined) return undefined;
  switch (kind) {
    case "int":
      return count(values, key, min);
    case "processes":
      return raw === "auto" ? "auto" : count(values, key, min);
    case "seconds":
      return seconds(values, key);
    case "log":
      if (!["pretty", "json", "events", "off"].includes(raw)) {
        throw new UsageError(`--log must be pretty, json, events or off, got "${raw}"`);
      }
      return raw;
    default:
      return raw;
  }
}

/** --check: each group's handlers loaded in a child process; nothing is started. */
async function check(pool: Pool): Promise<number> {
  let groups: Awaited<ReturnType<typeof checkHandlers>>;
  try {
    groups = await checkHandlers(pool.options);
  } catch (error) {
    if (error instanceof PoolError) throw new UsageError(error.message);
    throw error;
  }
  const servers = pool.options.servers === "" ? "the default servers" : pool.options.servers;
  for (const g of groups) {
    const n = g.processes;
    console.log(`${g.group}: ${g.functions.join(", ")} (${n} process${n === 1 ? "" : "es"})`);
  }
  console.log(`ok: the config and handlers load; servers ${servers} (not contacted)`);
  return 0;
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
    if (log === "json" || log === "events")
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

/**
 * `gearbun server`: the embedded job server until SIGINT/SIGTERM. It takes gearmand's flags
 * with gearmand's names and short forms, so it can stand in for gearmand in a service file or a
 * test; gearmand flags that have no meaning here are accepted with a one-line notice.
 */
import { appendFileSync, rmSync, writeFileSync } from "node:fs";
import type { HttpEndpoint } from "../metrics/http.ts";
import { serveServerMetrics } from "../metrics/server.ts";
import { serveDashboard } from "../dashboard/serve.ts";
import { SERVER_DEFAULTS } from "../options.ts";
import { SERVER_VERSION, startServer } from "../server/server.ts";
import { SSL_OPTIONS, SSL_USAGE, sslFlags } from "./server-tls.ts";
import { type Command, flagLine, intFlag, str, untilSignal, UsageError, wrapWords } from "./args.ts";

/** gearmand flags accepted and ignored, with why (printed once each, to stderr). */
const IGNORED: Readonly<Record<string, readonly [short: string | undefined, takesValue: boolean, why: string]>> = {
  threads: ["t", true, "one event loop serves every connection"],
  backlog: ["b", true, "the listen backlog is Bun's"],
  daemon: ["d", false, "stays in the foreground; run it under a supervisor"],
  "file-descriptors": ["f", true, "set the limit with ulimit -n"],
  user: ["u", true, "start it as that user instead"],
  "round-robin": ["R", false, "work is handed out in the order workers ask"],
  "keepalive-interval": [
    undefined,
    true,
    "Bun sets only the idle time (--keepalive-idle); the system's interval applies",
  ],
  "keepalive-count": [undefined, true, "Bun sets only the idle time (--keepalive-idle); the system's count applies"],
  "hashtable-buckets": [undefined, true, "jobs are kept in hash maps that grow"],
  exceptions: [undefined, false, "each client asks for exceptions itself (OPTION_REQ)"],
  syslog: [undefined, false, "use --log-file"],
  coredump: [undefined, false, "no core dumps"],
  "store-queue-on-shutdown": [undefined, false, "background jobs are stored when submitted"],
  "libsqlite3-table": [undefined, true, "the table is gearbun's own"],
  "config-file": [undefined, true, "pass flags on the command line"],
  "http-port": [undefined, true, "use --metrics or --dashboard"],
};

const LEVELS = ["FATAL", "ALERT", "CRITICAL", "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG"] as const;

const ignoredOptions = Object.fromEntries(
  Object.entries(IGNORED).map(([name, [short, takesValue]]) => [
    name,
    { type: takesValue ? ("string" as const) : ("boolean" as const), ...(short ? { short } : {}) },
  ]),
);

/** Log lines to stdout (default), stderr, a file (appended), or nowhere ("none"), as gearmand's --log-file. */
function logger(target: string | undefined): (line: string) => void {
  if (target === undefined) return (line) => console.log(line);
  if (target === "stderr") return (line) => console.error(line);
  if (target === "none") return () => {};
  try {
    appendFileSync(target, "");
  } catch (error) {
    throw new UsageError(
      `--log-file: cannot write ${target}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return (line) => appendFileSync(target, `${new Date().toISOString()} ${line}\n`);
}

export const server: Command = {
  usage: `Usage: gearbun server [gearmand flags] [--metrics HOST:PORT] [--dashboard HOST:PORT]

Runs an embedded job server that speaks gearmand's binary and admin protocols. Flags are
gearmand's; the ones that do not apply here are accepted with a one-line notice.
${flagLine("-p, --port N", "port to listen on (0 picks a free one)", SERVER_DEFAULTS.port)}
${flagLine("-L, --listen H", "address to listen on (also --host)", SERVER_DEFAULTS.host)}
${flagLine("--job-handle-prefix P", "job handles are P:N", "H:<hostname>")}
${flagLine("-w, --worker-wakeup N", "sleeping workers woken per job (0: all)", SERVER_DEFAULTS.workerWakeup)}
${flagLine("-j, --job-retries N", "re-queues before a job is failed (-1: no limit, 0: none; gearmand after 2.0.0)", SERVER_DEFAULTS.jobRetries)}
${flagLine("-q, --queue-type T", "builtin (memory) or libsqlite3", "builtin")}
${flagLine("--libsqlite3-db FILE", "SQLite file of -q libsqlite3 (also --store)")}
${flagLine("--store FILE", "keep background jobs in FILE: they survive a restart")}
${flagLine("-l, --log-file F", "log to F (appended), stderr, or none", "stdout")}
${flagLine("-P, --pid-file F", "write the process id to F (removed on exit)")}
${flagLine("--verbose LEVEL", `${LEVELS.join(", ")}; -v raises it a step`, "ERROR")}
${flagLine("--keepalive", "accepted: accepted connections always have TCP keepalive, as in gearmand")}
${flagLine("--keepalive-idle S", "seconds idle before the first keepalive probe (0: the system's)", SERVER_DEFAULTS.keepAliveDelay / 1000)}
${flagLine("-V, --version", "print the version and exit")}
${SSL_USAGE}
${flagLine("--metrics HOST:PORT", "serve Prometheus /metrics and /healthz")}
${flagLine("--dashboard HOST:PORT", "serve the live dashboard page")}
Accepted and ignored (gearmand flags that do not apply):
${wrapWords(
  Object.keys(IGNORED).map((k) => `--${k}`),
  96,
  "  ",
)}`,
  options: {
    port: { type: "string", short: "p" },
    listen: { type: "string", short: "L" },
    keepalive: { type: "boolean" },
    "keepalive-idle": { type: "string" },
    host: { type: "string" },
    "job-handle-prefix": { type: "string" },
    "worker-wakeup": { type: "string", short: "w" },
    "job-retries": { type: "string", short: "j" },
    "queue-type": { type: "string", short: "q" },
    "libsqlite3-db": { type: "string" },
    store: { type: "string" },
    "log-file": { type: "string", short: "l" },
    "pid-file": { type: "string", short: "P" },
    verbose: { type: "string" },
    v: { type: "boolean", short: "v", multiple: true },
    version: { type: "boolean", short: "V" },
    metrics: { type: "string" },
    dashboard: { type: "string" },
    ...SSL_OPTIONS,
    ...ignoredOptions,
  },
  async run(values) {
    if (values.version === true) {
      console.log(`gearbun server ${SERVER_VERSION}`);
      return 0;
    }
    for (const [name, [, , why]] of Object.entries(IGNORED)) {
      if (values[name] !== undefined) console.error(`gearbun server: --${name} ignored: ${why}`);
    }
    const queueType = str(values["queue-type"]) ?? "builtin";
    if (queueType !== "builtin" && queueType !== "libsqlite3") {
      throw new UsageError(`--queue-type ${queueType} is not available (builtin or libsqlite3)`);
    }
    const sqlite = str(values["libsqlite3-db"]);
    const storeFlag = str(values.store);
    if (sqlite !== undefined && storeFlag !== undefined && sqlite !== storeFlag) {
      throw new UsageError("--libsqlite3-db and --store name different files; give one");
    }
    const store = sqlite ?? storeFlag;
    if (queueType === "libsqlite3" && store === undefined) {
      throw new UsageError("-q libsqlite3 needs --libsqlite3-db FILE");
    }
    if (sqlite !== undefined && queueType !== "libsqlite3") {
      throw new UsageError("--libsqlite3-db needs -q libsqlite3 (or use --store FILE)");
    }
    const levelName = (str(values.verbose) ?? "ERROR").toUpperCase();
    let level = LEVELS.indexOf(levelName as (typeof LEVELS)[number]);
    if (level < 0) throw new UsageError(`--verbose must be one of ${LEVELS.join(", ")}, got "${levelName}"`);
    level = Math.min(LEVELS.length - 1, level + (Array.isArray(values.v) ? values.v.length : 0));
    const log = logger(str(values["log-file"]));
    const host = str(values.listen) ?? str(values.host) ?? SERVER_DEFAULTS.host;
    const prefix = str(values["job-handle-prefix"]);

    const jobServer = await startServer({
      port: intFlag(values, "port", SERVER_DEFAULTS.port, 0),
      host,
      store,
      workerWakeup: intFlag(values, "worker-wakeup", SERVER_DEFAULTS.workerWakeup, 0),
      jobRetries: intFlag(values, "job-retries", SERVER_DEFAULTS.jobRetries, -1),
      keepAliveDelay: intFlag(values, "keepalive-idle", SERVER_DEFAULTS.keepAliveDelay / 1000, 0) * 1000,
      ...(prefix === undefined ? {} : { handlePrefix: `${prefix}:` }),
      tls: sslFlags(values),
      log,
    });
    const endpoints: HttpEndpoint[] = [];
    const pidFile = str(values["pid-file"]);
    let metricsAt: HttpEndpoint | null = null;
    let dashboardAt: HttpEndpoint | null = null;
    try {
      const metrics = str(values.metrics);
      if (metrics !== undefined) endpoints.push((metricsAt = serveServerMetrics(jobServer, metrics)));
      const dashboard = str(values.dashboard);
      if (dashboard !== undefined) {
        const completed = (): number => {
          let n = 0;
          for (const c of jobServer.metrics().counters.values()) n += c.complete + c.fail + c.exception;
          return n;
        };
        endpoints.push((dashboardAt = serveDashboard({ servers: [jobServer.address], listen: dashboard, completed })));
      }
      if (pidFile !== undefined) writeFileSync(pidFile, `${process.pid}\n`);
    } catch (error) {
      for (const e of endpoints) await e.stop();
      await jobServer.stop();
      throw error;
    }
    // The first line is the one scripts wait for; it goes to stdout whatever --log-file says.
    console.log(`gearbun server listening on ${jobServer.address} (pid ${process.pid})`);
    if (metricsAt !== null) console.log(`gearbun server: metrics on ${metricsAt.url}/metrics`);
    if (dashboardAt !== null) console.log(`gearbun server: dashboard on ${dashboardAt.url}/`);
    log(`listening on ${jobServer.address} (pid ${process.pid}, ${SERVER_VERSION}, verbose ${LEVELS[level]})`);
    if (level >= LEVELS.indexOf("INFO")) {
      log(
        `store ${store ?? "none (memory)"}, worker-wakeup ${intFlag(values, "worker-wakeup", 0, 0)}, job-retries ${intFlag(values, "job-retries", SERVER_DEFAULTS.jobRetries, -1)}`,
      );
    }
    const signal = await untilSignal();
    log(`${signal}: stopping`);
    for (const e of endpoints) await e.stop();
    await jobServer.stop();
    if (pidFile !== undefined) rmSync(pidFile, { force: true });
    return 0;
  },
};

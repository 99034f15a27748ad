/**
 * Every setting of the worker pool, once: its option name (`PoolOptions`), its TOML key and
 * command-line flag (the same words), the environment variable that feeds it where there is
 * one, the unit a person types, its default, a line of documentation, and whether each child
 * receives it (in its `ChildSpec`). The defaults (`POOL_DEFAULTS`), the config file's keys, the
 * flags of `gearbun worker`, its usage text and the README's table are derived from here; a
 * test checks each against this table.
 *
 * Times: a person types seconds (flags and the config file, fractions allowed); the library
 * options take milliseconds, as a Worker's do.
 */

/** How a value is typed in the file and on the command line. */
export type SettingKind =
  /** A whole number. */
  | "int"
  /** Seconds typed; milliseconds in the options. */
  | "seconds"
  | "bool"
  | "string"
  /** One string, or a list (the file), comma-separated (a flag). */
  | "strings"
  /** A whole number or "auto". */
  | "processes"
  /** One of the log modes. */
  | "log";

export interface PoolSetting {
  /** The TOML key and the flag's name (without dashes); null: the library option only. */
  readonly key: string | null;
  /** False: a config key with no flag (the command takes it as arguments). @default true */
  readonly flag?: false;
  /** What follows the flag in the usage text ("N", "S", "FILE"); "" for a boolean. */
  readonly arg: string;
  readonly kind: SettingKind;
  /** The unit a person types, as the README says it. */
  readonly unit: "count" | "seconds" | "milliseconds" | "megabytes" | "";
  /** In the options' own unit (milliseconds for times). */
  readonly default: number | string | boolean | null;
  /** How the default reads where it is not the value itself. */
  readonly defaultText?: string;
  readonly env?: string;
  /** Sent to every child in its spec (a field of the same name). */
  readonly child: boolean;
  /** The smallest value the resolver accepts (numbers). */
  readonly min?: number;
  readonly doc: string;
}

const setting = <const T extends PoolSetting>(s: T): T => s;

/** The pool's settings, by option name, in the order the usage text and README list them. */
export const POOL_SETTINGS = {
  handlers: setting({
    key: "handlers",
    flag: false,
    arg: "FILE…",
    kind: "strings",
    unit: "",
    default: null,
    defaultText: "none (the command's FILE arguments)",
    child: true,
    doc: "modules whose default export maps function names to handlers (relative to the config file)",
  }),
  servers: setting({
    key: "servers",
    arg: "LIST",
    kind: "strings",
    unit: "",
    default: null,
    defaultText: "$GEARMAN_SERVERS or 127.0.0.1:4730",
    env: "GEARMAN_SERVERS",
    child: true,
    doc: "host:port,host:port",
  }),
  processes: setting({
    key: "processes",
    arg: "N|auto",
    kind: "processes",
    unit: "count",
    default: 1,
    child: false,
    min: 0,
    doc: "worker processes (auto: one per core; at most 256 in all)",
  }),
  concurrency: setting({
    key: "concurrency",
    arg: "N",
    kind: "int",
    unit: "count",
    default: 1,
    child: true,
    min: 1,
    doc: "jobs running at once in each process",
  }),
  maxJobs: setting({
    key: "max-jobs",
    arg: "N",
    kind: "int",
    unit: "count",
    default: 0,
    child: true,
    min: 0,
    doc: "recycle a process after N jobs started (0: never)",
  }),
  maxLifetime: setting({
    key: "max-lifetime",
    arg: "S",
    kind: "seconds",
    unit: "seconds",
    default: 0,
    child: false,
    min: 0,
    doc: "recycle a process after S seconds (0: never)",
  }),
  maxMemory: setting({
    key: "max-memory",
    arg: "MB",
    kind: "int",
    unit: "megabytes",
    default: 0,
    child: false,
    min: 0,
    doc: "recycle a process whose resident memory passed MB (0: never)",
  }),
  restartSplay: setting({
    key: "restart-splay",
    arg: "S",
    kind: "seconds",
    unit: "seconds",
    default: 0,
    child: false,
    min: 0,
    doc: "up to S random seconds added to each max-lifetime",
  }),
  stopDeadline: setting({
    key: "stop-deadline",
    arg: "S",
    kind: "seconds",
    unit: "seconds",
    default: 30_000,
    child: true,
    min: 0,
    doc: "seconds a stopping process gets for its jobs",
  }),
  crashLimit: setting({
    key: "crash-limit",
    arg: "N",
    kind: "int",
    unit: "count",
    default: 10,
    child: false,
    min: 0,
    doc: "exit 3 after N failures in a row of a process (0: never)",
  }),
  heartbeatTimeout: setting({
    key: "heartbeat-timeout",
    arg: "S",
    kind: "seconds",
    unit: "seconds",
    default: 10_000,
    child: false,
    min: 0,
    doc: "replace a process silent for S seconds (0: never)",
  }),
  watch: setting({
    key: "watch",
    arg: "",
    kind: "bool",
    unit: "",
    default: false,
    child: false,
    doc: "rolling reload when a file under the handlers' folders changes",
  }),
  log: setting({
    key: "log",
    arg: "MODE",
    kind: "log",
    unit: "",
    default: "off",
    defaultText: "pretty on a tty, else json",
    child: false,
    doc: "pretty, json, events (json, no job lines) or off",
  }),
  clientId: setting({
    key: "client-id",
    arg: "ID",
    kind: "string",
    unit: "",
    default: "gearbun",
    child: true,
    doc: 'prefix of the client ids ("gearadmin --workers")',
  }),
  deadLetter: setting({
    key: "dead-letter",
    arg: "FILE",
    kind: "string",
    unit: "",
    default: null,
    defaultText: "none",
    child: true,
    doc: "SQLite file of jobs that failed for good",
  }),
  exec: setting({
    key: "exec",
    arg: "CMD",
    kind: "strings",
    unit: "",
    default: null,
    defaultText: "none",
    child: true,
    doc: "a long-lived handler process of any language (docs/handler-protocol.md), one per job slot",
  }),
  execPerJob: setting({
    key: "exec-per-job",
    arg: "NAME=CMD",
    kind: "strings",
    unit: "",
    default: null,
    defaultText: "none",
    child: true,
    doc: "function NAME runs CMD per job: payload on stdin, result on stdout, exit 0 = success",
  }),
  startTimeout: setting({
    key: null,
    arg: "",
    kind: "int",
    unit: "milliseconds",
    default: 30_000,
    child: false,
    min: 0,
    doc: "startPool() rejects with START_FAILED if no process registered by then (gearbun worker: 0, wait)",
  }),
  jobEvents: setting({
    key: null,
    arg: "",
    kind: "bool",
    unit: "",
    default: false,
    child: true,
    doc: "children report every job end as a `job` event even when log is off",
  }),
  statsInterval: setting({
    key: null,
    arg: "",
    kind: "int",
    unit: "milliseconds",
    default: 0,
    child: true,
    min: 0,
    doc: "between each child's stats reports (the pool's metrics; gearbun worker --metrics: 1000); 0: none",
  }),
  respawnDelay: setting({
    key: null,
    arg: "",
    kind: "int",
    unit: "milliseconds",
    default: 100,
    child: false,
    min: 1,
    doc: "before the first respawn of a child that died; doubles per failure in a row",
  }),
  respawnMaxDelay: setting({
    key: null,
    arg: "",
    kind: "int",
    unit: "milliseconds",
    default: 30_000,
    child: false,
    doc: "longest wait before a respawn (at least respawnDelay)",
  }),
  respawnReset: setting({
    key: null,
    arg: "",
    kind: "int",
    unit: "milliseconds",
    default: 10_000,
    child: false,
    min: 0,
    doc: "a child that ran this long resets the failures in a row when it dies",
  }),
} as const;

export type PoolSettingName = keyof typeof POOL_SETTINGS;

/** The defaults, in the options' units (milliseconds for times). */
export const POOL_DEFAULTS = Object.fromEntries(
  Object.entries(POOL_SETTINGS)
    .filter(([, s]) => s.default !== null)
    .map(([name, s]) => [name, s.default]),
) as {
  readonly [K in PoolSettingName as (typeof POOL_SETTINGS)[K]["default"] extends null
    ? never
    : K]: (typeof POOL_SETTINGS)[K]["default"];
};

/** Settings a `[functions.NAME]` table takes. */
export const FUNCTION_SETTINGS = {
  processes: {
    kind: "int",
    unit: "count",
    doc: "dedicated processes that register only this function (0: the general ones serve it)",
  },
  concurrency: {
    kind: "int",
    unit: "count",
    doc: "jobs at once in each dedicated process (default: the pool's concurrency)",
  },
  timeout: {
    kind: "seconds",
    unit: "seconds",
    doc: "a job may run this long per attempt (the worker's own clock; docs/semantics.md); default none",
  },
  retries: {
    kind: "int",
    unit: "count",
    doc: "attempts after a failed first one, in the same process, then the dead-letter file",
  },
  backoff: {
    kind: "backoff",
    unit: "seconds",
    doc: "{ initial = 1, max = 60, factor = 2, jitter = 0.2 }: the wait between attempts (initial and max in seconds)",
  },
} as const;

/** The README's settings table (a test checks the README holds exactly this). */
export function poolSettingsMarkdown(): string {
  const rows = ["| config key / flag | unit | default | child | meaning |", "|---|---|---|---|---|"];
  for (const [name, s] of Object.entries(POOL_SETTINGS) as [PoolSettingName, PoolSetting][]) {
    const flag = s.flag === false ? "arguments" : `\`--${s.key}${s.arg ? ` ${s.arg}` : ""}\``;
    const where = s.key === null ? `— (\`${name}\` option)` : `\`${s.key}\` / ${flag}`;
    const fallback = s.defaultText ?? (s.kind === "seconds" ? `${Number(s.default) / 1000}` : String(s.default));
    rows.push(`| ${cell(where)} | ${s.unit || "—"} | ${cell(fallback)} | ${s.child ? "yes" : "no"} | ${cell(s.doc)} |`);
  }
  for (const [key, f] of Object.entries(FUNCTION_SETTINGS)) {
    rows.push(`| \`[functions.NAME] ${key}\` | ${f.unit} | — | yes | ${cell(f.doc)} |`);
  }
  return rows.join("\n");
}

/** A table cell: a pipe would end it. */
function cell(text: string): string {
  return text.replaceAll("|", "\\|");
}

/**
 * The supervisor's log: it owns stdout, so every line — a job's end, a lifecycle event, a line a
 * child printed — is written whole by one process and lines never interleave mid-line.
 *
 * - json: one JSON object per line (`event` says which); children's stdout lines are wrapped
 *   as `output` events so the stream stays parseable.
 * - events: json without the per-job lines (lifecycle only; children send no per-job messages).
 * - pretty: the same as json, readable; children's lines prefixed with their index.
 * - off: no log lines; children's output passes through untouched, and only problems (a child
 *   that died, a reload that failed) are reported, on stderr. Children send no per-job messages.
 */
import type { PoolEvents } from "./events.ts";
import type { PoolLogMode } from "../options.ts";

/** Where lines go; each call is one whole line without its newline. */
export interface LogSink {
  out(line: string): void;
  err(line: string): void;
}

export const processSink: LogSink = {
  out: (line) => void process.stdout.write(`${line}\n`),
  err: (line) => void process.stderr.write(`${line}\n`),
};

interface Emits {
  on<K extends keyof PoolEvents>(name: K, listener: (event: PoolEvents[K]) => void): () => void;
}

type Record_ = Record<string, unknown>;

/** Lifecycle events and how each reads in pretty mode. */
const PRETTY: { [K in keyof PoolEvents]?: (e: PoolEvents[K]) => string } = {
  "child:start": (e) => `child ${e.index} pid ${e.pid} started (${e.reason}, ${e.group})`,
  "child:ready": (e) =>
    `child ${e.index} pid ${e.pid} ready in ${e.startupMs} ms: ${e.functions.join(", ")} on ${e.servers.join(", ")}`,
  "child:exit": (e) =>
    `child ${e.index} pid ${e.pid} ${e.expected ? "exited" : "died"}: ${e.reason}` +
    (e.stderr.length > 0 ? `; last stderr:\n  | ${e.stderr.join("\n  | ")}` : ""),
  "child:respawn": (e) => `child ${e.index} respawns in ${e.delay} ms (failure ${e.attempt} in a row)`,
  "child:recycle": (e) => `child ${e.index} pid ${e.pid} recycled (${e.reason}): pid ${e.replacement} took over`,
  "child:recycle-failed": (e) =>
    `child ${e.index} pid ${e.pid} keeps running: its replacement (${e.reason}) failed: ${e.error}`,
  "child:unresponsive": (e) =>
    `child ${e.index} pid ${e.pid} sent nothing for ${e.silentMs} ms: killed, a new child replaces it`,
  failed: (e) => `giving up (${e.code}): ${e.error}`,
  reload: (e) =>
    e.ok
      ? `reload done: ${e.replaced} children replaced in ${e.ms} ms`
      : `reload failed after ${e.replaced} children, the others keep running: ${e.error}`,
  link: (e) =>
    `child ${e.index} pid ${e.pid} ${e.up ? "reconnected to" : "lost"} ${e.server}${e.error ? `: ${e.error}` : ""}`,
  stopping: (e) => (e.deadline === 0 ? "stopping now" : `stopping: children get ${e.deadline} ms to finish`),
  "child:handed-back": (e) =>
    `child ${e.index} pid ${e.pid} handed ${e.jobs} running job${e.jobs === 1 ? "" : "s"} back to the servers at the stop deadline: other workers will run them`,
  stopped: (e) =>
    (e.graceful ? "stopped" : "stopped (some children had to be killed)") +
    (e.handedBack > 0
      ? `; ${e.handedBack} job${e.handedBack === 1 ? "" : "s"} still running at the deadline went back to the servers`
      : ""),
};

/** Events reported on stderr when logging is off: the ones that mean something is wrong. */
const PROBLEMS = new Set<keyof PoolEvents>([
  "child:exit",
  "child:respawn",
  "child:recycle-failed",
  "child:unresponsive",
  "child:handed-back",
  "failed",
  "reload",
]);

function time(): string {
  return new Date().toISOString();
}

function clock(): string {
  return time().slice(11, 23);
}

/** The JSON field names of the log lines (snake_case, as log pipelines expect). */
function jsonFields(event: Record_): Record_ {
  const out: Record_ = {};
  for (const [key, value] of Object.entries(event)) {
    if (key === "index") out.child = value;
    else if (key === "durationMs") out.duration_ms = value;
    else if (key === "startupMs") out.startup_ms = value;
    else if (key === "type") continue;
    else out[key] = value;
  }
  return out;
}

function jobPretty(e: PoolEvents["job"]): string {
  const unique = e.unique === "" ? "" : ` [${e.unique}]`;
  const attempts = e.attempts > 1 ? ` after ${e.attempts} attempts` : "";
  const error = e.error === null ? "" : `: ${e.error}`;
  return `child ${e.index} pid ${e.pid} ${e.function} ${e.handle}${unique} ${e.outcome} in ${e.durationMs} ms${attempts}${error}`;
}

export function attachLog(pool: Emits, mode: PoolLogMode, sink: LogSink = processSink): void {
  // Off: once the pool gives up, its one line says why (the command prints it); the children it
  // stops on the way are not news.
  let givingUp = false;
  if (mode === "off") pool.on("failed", () => void (givingUp = true));
  for (const name of Object.keys(PRETTY) as (keyof PoolEvents)[]) {
    if (mode === "off" && (!PROBLEMS.has(name) || name === "failed")) continue;
    const pretty = PRETTY[name] as (e: PoolEvents[typeof name]) => string;
    pool.on(name, (event) => {
      if (mode === "json" || mode === "events") {
        sink.out(JSON.stringify({ time: time(), event: name, ...jsonFields(event as Record_) }));
      } else if (mode === "pretty") {
        sink.out(`${clock()} ${pretty(event)}`);
      } else if (givingUp) {
        return;
      } else if (name !== "reload" || !(event as PoolEvents["reload"]).ok) {
        if (name !== "child:exit" || !(event as PoolEvents["child:exit"]).expected)
          sink.err(`gearbun worker: ${pretty(event)}`);
      }
    });
  }
  if (mode === "json") {
    pool.on("job", (e) =>
      sink.out(JSON.stringify({ time: time(), event: "job", ...jsonFields(e as unknown as Record_) })),
    );
  } else if (mode === "pretty") {
    pool.on("job", (e) => sink.out(`${clock()} ${jobPretty(e)}`));
  }
  pool.on("output", (e) => {
    if (e.stream === "stderr") {
      sink.err(mode === "pretty" ? `[child ${e.index}] ${e.line}` : e.line);
    } else if (mode === "json" || mode === "events") {
      sink.out(JSON.stringify({ time: time(), event: "output", child: e.index, pid: e.pid, line: e.line }));
    } else {
      sink.out(mode === "pretty" ? `[child ${e.index}] ${e.line}` : e.line);
    }
  });
}

/**
 * A pool child: loads the handlers modules, runs one Worker with them, reports to the
 * supervisor over IPC, and stops gracefully when told to (or on SIGTERM/SIGINT, or when the
 * supervisor goes away). Started by the supervisor with its spec in the environment.
 */
import { ConnectionError } from "../errors.ts";
import type { JobHandler } from "../worker/job.ts";
import { Worker } from "../worker/worker.ts";
import { handlerUsage, isForeignFile, loadCommands, loadForeign } from "../foreign/loader.ts";
import { WorkerRecorder } from "./recorder.ts";
import { HEARTBEAT_INTERVAL } from "../options.ts";
import { DeadLetterStore } from "./dead-letter.ts";
import {
  CHILD_CHECK_ENV,
  CHILD_SPEC_ENV,
  ChildExit,
  type ChildMessage,
  type ChildSpec,
  type SupervisorMessage,
} from "./ipc.ts";
import { hostname } from "node:os";

/** How long a started child waits for its other servers before it reports ready anyway. */
const READY_WAIT_MS = 2000;

function send(message: ChildMessage): void {
  process.send?.(message);
}

const firstLine = (error: unknown): string =>
  (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).split("\n")[0]!;

/** Why the handlers cannot be loaded, in a line of its own. */
class LoadError extends Error {}

/** Imports every handlers module and returns the handlers this child registers. */
export async function loadHandlers(spec: ChildSpec): Promise<Map<string, JobHandler>> {
  const all = new Map<string, JobHandler>();
  const from = new Map<string, string>();
  for (const file of spec.handlers) {
    let mod: { default?: unknown };
    try {
      // A .py / .php file runs in handler processes of its language (src/foreign/).
      mod = isForeignFile(file)
        ? { default: await loadForeign(file, spec.concurrency) }
        : await import(Bun.pathToFileURL(file).href);
    } catch (error) {
      throw new LoadError(`cannot load ${file}: ${firstLine(error)}`);
    }
    const exported = mod.default;
    if (typeof exported !== "object" || exported === null) {
      throw new LoadError(`${file} must export default an object of function name → handler`);
    }
    for (const [name, handler] of Object.entries(exported)) {
      if (typeof handler !== "function") throw new LoadError(`${file}: export "${name}" is not a function`);
      const other = from.get(name);
      if (other !== undefined) throw new LoadError(`function "${name}" is exported by both ${other} and ${file}`);
      from.set(name, file);
      all.set(name, handler as JobHandler);
    }
  }
  // --exec and --exec-per-job: handler processes of any language (src/foreign/).
  let commands: [string, Record<string, JobHandler>][];
  try {
    commands = await loadCommands(spec.exec, spec.execPerJob, spec.concurrency);
  } catch (error) {
    throw new LoadError(firstLine(error));
  }
  for (const [source, handlers] of commands) {
    for (const [name, handler] of Object.entries(handlers)) {
      const other = from.get(name);
      if (other !== undefined) throw new LoadError(`function "${name}" is handled by both ${other} and ${source}`);
      from.set(name, source);
      all.set(name, handler);
    }
  }
  for (const name of Object.keys(spec.functions)) {
    if (!all.has(name)) {
      const near = closest(name, [...all.keys()]);
      throw new LoadError(
        `[functions.${name}] names a function no handlers module exports${near === null ? "" : ` (did you mean "${near}"?)`}`,
      );
    }
  }
  const chosen = new Map<string, JobHandler>();
  if (spec.only !== null) {
    for (const name of spec.only) {
      const handler = all.get(name);
      if (handler === undefined) throw new LoadError(`no handlers module exports "${name}" (it has a dedicated pool)`);
      chosen.set(name, handler);
    }
  } else {
    for (const [name, handler] of all) if (!spec.exclude.includes(name)) chosen.set(name, handler);
  }
  if (chosen.size === 0)
    throw new LoadError(`${spec.handlers.join(", ")}: no function left for the ${spec.group} children`);
  return chosen;
}

/** The name within two edits of `name`, if one is (a typo's likely meaning). */
function closest(name: string, names: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  for (const other of names) {
    const d = editDistance(name, other);
    if (d < bestDistance) {
      best = other;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}

export async function main(): Promise<void> {
  const raw = process.env[CHILD_SPEC_ENV];
  if (raw === undefined) {
    console.error(`gearbun pool child: ${CHILD_SPEC_ENV} is not set (this module is started by the pool)`);
    process.exit(2);
  }
  const spec = JSON.parse(raw) as ChildSpec;

  let handlers: Map<string, JobHandler>;
  try {
    handlers = await loadHandlers(spec);
  } catch (error) {
    // loadHandlers' own errors read whole; a module's error keeps its class name.
    const message = error instanceof LoadError ? error.message : firstLine(error);
    // The supervisor reports it (once, in its own words); alone, say it here.
    if (process.send === undefined) console.error(message);
    send({ type: "fatal", error: message });
    process.exit(ChildExit.LoadFailed);
  }
  if (process.env[CHILD_CHECK_ENV] !== undefined) {
    process.stdout.write(`${JSON.stringify([...handlers.keys()])}\n`);
    process.exit(0);
  }

  const store = spec.deadLetter === null ? null : new DeadLetterStore(spec.deadLetter);
  let recorder: WorkerRecorder | null = null;
  const worker = new Worker({
    servers: spec.servers === "" ? undefined : spec.servers,
    tls: spec.tls ?? undefined,
    concurrency: spec.concurrency,
    clientId: `${spec.clientId}:${hostname()}:${process.pid}:${spec.index}`,
    stopDeadline: spec.stopDeadline,
    deadLetter:
      store === null
        ? undefined
        : (job) => {
            store.add(job);
            recorder?.deadLetter(job.function);
          },
  });
  let statsTimer: ReturnType<typeof setInterval> | null = null;
  if (spec.statsInterval > 0) {
    const r = new WorkerRecorder(worker);
    recorder = r;
    statsTimer = setInterval(() => send({ type: "stats", stats: r.snapshot() }), spec.statsInterval);
  }
  for (const [name, handler] of handlers) {
    const f = spec.functions[name];
    worker.register(name, handler, { timeout: f?.timeout || undefined, retries: f?.retries, backoff: f?.backoff });
  }

  const connected = new Set<string>();
  let allConnected: (() => void) | null = null;
  const serverCount = worker.stats().servers.length;
  worker.on("connect", ({ server, reconnect }) => {
    connected.add(server);
    if (connected.size >= serverCount) allConnected?.();
    if (reconnect && spec.jobEvents) send({ type: "link", server, up: true, error: null });
  });
  if (spec.jobEvents) {
    worker.on("disconnect", ({ server, error }) => send({ type: "link", server, up: false, error: error.message }));
  }
  if (spec.maxJobs > 0) {
    // The bound: past its limit the child grabs nothing more (what GRABs in flight bring still
    // runs, at most `concurrency` jobs), then serves its running jobs until the supervisor has
    // a replacement registered and stops it.
    let started = 0;
    worker.on("job:start", () => {
      if (++started !== spec.maxJobs) return;
      worker.pause();
      send({ type: "retire", jobs: started });
    });
  }
  if (spec.jobEvents) {
    worker.on("job:end", ({ job, outcome, error }) => {
      send({
        type: "job",
        function: job.function,
        handle: job.handle,
        unique: job.unique,
        server: job.server,
        outcome,
        durationMs: Date.now() - job.startedAt,
        attempts: job.attempt,
        error: error === undefined ? null : firstLine(error),
      });
    });
  }

  // A stopped or blocked process sends nothing: the supervisor notices the silence.
  // Its CPU and memory ride along (per-child metrics, --max-memory), its handler processes' included.
  setInterval(() => {
    const cpu = process.cpuUsage();
    const foreign = handlerUsage();
    const cpuSeconds = (cpu.user + cpu.system) / 1e6 + foreign.cpuSeconds;
    send({ type: "alive", usage: { cpuSeconds, rss: process.memoryUsage.rss() + foreign.rss } });
  }, HEARTBEAT_INTERVAL).unref();

  let stopping = false;
  const stop = (deadline: number): void => {
    if (stopping) {
      void worker.stop({ deadline });
      return;
    }
    stopping = true;
    const exit = (code: number): void => {
      if (statsTimer !== null) clearInterval(statsTimer);
      // The last totals, so the supervisor keeps what this child counted.
      if (recorder !== null) send({ type: "stats", stats: recorder.snapshot() });
      process.exit(code);
    };
    worker.once("close", (e) => {
      if (e.handedBack > 0) send({ type: "handed-back", jobs: e.handedBack });
    });
    worker.stop({ deadline }).then(
      () => exit(ChildExit.Stopped),
      () => exit(1),
    );
  };
  process.on("message", (message: SupervisorMessage) => {
    if (message.type === "stop") stop(message.deadline);
  });
  // The supervisor is gone: nobody would restart or stop this child.
  process.on("disconnect", () => stop(spec.stopDeadline));
  let signals = 0;
  const onSignal = (): void => stop(++signals > 1 ? 0 : spec.stopDeadline);
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);

  try {
    await worker.start();
  } catch (error) {
    console.error(firstLine(error));
    process.exit(
      error instanceof ConnectionError && (error.code === "NO_SERVERS" || error.code === "TLS_FAILED")
        ? ChildExit.NoServers
        : 1,
    );
  }
  if (connected.size < serverCount) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      allConnected = resolve;
      timer = setTimeout(resolve, READY_WAIT_MS);
    });
    clearTimeout(timer);
  }
  if (!stopping) send({ type: "ready", functions: [...handlers.keys()], servers: [...connected] });
}

if (import.meta.main) await main();

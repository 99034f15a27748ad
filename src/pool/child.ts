/**
 * A pool child: loads the handlers modules, runs one Worker with them, reports to the
 * supervisor over IPC, and stops gracefully when told to (or on SIGTERM/SIGINT, or when the
 * supervisor goes away). Started by the supervisor with its spec in the environment.
 */
import { ConnectionError } from "../errors.ts";
import type { JobHandler } from "../worker/job.ts";
import { Worker } from "../worker/worker.ts";
import { WorkerRecorder } from "../metrics/worker.ts";
import { DeadLetterStore } from "./dead-letter.ts";
import { CHILD_SPEC_ENV, ChildExit, type ChildMessage, type ChildSpec, type SupervisorMessage } from "./ipc.ts";
import { hostname } from "node:os";

/** How long a started child waits for its other servers before it reports ready anyway. */
const READY_WAIT_MS = 2000;

function send(message: ChildMessage): void {
  process.send?.(message);
}

const firstLine = (error: unknown): string =>
  (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).split("\n")[0]!;

/** Imports every handlers module and returns the handlers this child registers. */
export async function loadHandlers(spec: ChildSpec): Promise<Map<string, JobHandler>> {
  const all = new Map<string, JobHandler>();
  const from = new Map<string, string>();
  for (const file of spec.handlers) {
    let mod: { default?: unknown };
    try {
      mod = await import(Bun.pathToFileURL(file).href);
    } catch (error) {
      throw new Error(`cannot load ${file}: ${firstLine(error)}`);
    }
    const exported = mod.default;
    if (typeof exported !== "object" || exported === null) {
      throw new Error(`${file} must export default an object of function name → handler`);
    }
    for (const [name, handler] of Object.entries(exported)) {
      if (typeof handler !== "function") throw new Error(`${file}: export "${name}" is not a function`);
      const other = from.get(name);
      if (other !== undefined) throw new Error(`function "${name}" is exported by both ${other} and ${file}`);
      from.set(name, file);
      all.set(name, handler as JobHandler);
    }
  }
  const chosen = new Map<string, JobHandler>();
  if (spec.only !== null) {
    for (const name of spec.only) {
      const handler = all.get(name);
      if (handler === undefined) throw new Error(`no handlers module exports "${name}" (it has a dedicated pool)`);
      chosen.set(name, handler);
    }
  } else {
    for (const [name, handler] of all) if (!spec.exclude.includes(name)) chosen.set(name, handler);
  }
  if (chosen.size === 0)
    throw new Error(`${spec.handlers.join(", ")}: no function left for the ${spec.group} children`);
  return chosen;
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
    const message = firstLine(error);
    console.error(message);
    send({ type: "fatal", error: message });
    process.exit(ChildExit.LoadFailed);
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

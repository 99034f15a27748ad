/**
 * The supervisor's handle on one child process: spawn with IPC, its state (starting → ready →
 * stopping → exited, each set by one transition), its output cut into whole lines by the shared
 * line-reading spawner, the last stderr lines kept to explain a crash, and a stop that ends in
 * SIGKILL if the deadline passes.
 */
import { join } from "node:path";
import { type LineProcess, spawnLines } from "../util/lines.ts";
import {
  CHILD_SPEC_ENV,
  ChildExit,
  type ChildMessage,
  type ChildSpec,
  type ChildUsage,
  isChildMessage,
  type SupervisorMessage,
} from "./ipc.ts";

const CHILD_ENTRY = join(import.meta.dir, "child.ts");
/** Lines of stderr kept per child to explain why it died. */
const STDERR_TAIL = 12;
/** After the stop deadline a child gets this long (its own abort grace and flush) before SIGKILL. */
const KILL_GRACE_MS = 3000;

/** The command that starts a pool child (its spec comes in the environment). */
export function childCommand(): string[] {
  return [process.execPath, CHILD_ENTRY];
}

export type ChildState = "starting" | "ready" | "stopping" | "exited";

export interface ChildExitInfo {
  readonly code: number | null;
  readonly signal: string | null;
  /** The child was asked to stop (or killed by the supervisor). */
  readonly expected: boolean;
  /** SIGKILL was needed after the stop deadline. */
  readonly killed: boolean;
  /** What the child said when it could not load its handlers, if it did. */
  readonly fatal: string | null;
  readonly stderr: readonly string[];
}

export interface ChildCallbacks {
  message(child: PoolChild, message: ChildMessage): void;
  line(child: PoolChild, stream: "stdout" | "stderr", line: string): void;
  exit(child: PoolChild, info: ChildExitInfo): void;
}

export class PoolChild {
  readonly spec: ChildSpec;
  readonly pid: number;
  readonly spawnedAt = Date.now();
  readyAt = 0;
  /** When it last sent anything over IPC (a heartbeat, a report). */
  lastHeard = Date.now();
  /** Its CPU and memory, from its last heartbeat. */
  usage: ChildUsage | null = null;
  /** Jobs it reported (job ends, or the count in its `retire` message). */
  jobs = 0;
  /** It passed `maxJobs` and grabs nothing more. */
  retired = false;
  private currentState: ChildState = "starting";
  private readonly proc: LineProcess["proc"];
  private fatal: string | null = null;
  private killTimer: ReturnType<typeof setTimeout> | null = null;
  private killed = false;
  private readonly readyWaiters = Promise.withResolvers<boolean>();
  /** Resolves once the process has exited and its output is read. */
  readonly exited: Promise<ChildExitInfo>;

  constructor(spec: ChildSpec, callbacks: ChildCallbacks) {
    this.spec = spec;
    const child = spawnLines(childCommand(), {
      name: `pool child ${spec.index}`,
      env: { ...process.env, [CHILD_SPEC_ENV]: JSON.stringify(spec) },
      stderr: "pipe",
      keepLines: STDERR_TAIL,
      onLine: (stream, line) => callbacks.line(this, stream, line),
      ipc: (message) => {
        if (!isChildMessage(message)) return;
        this.lastHeard = Date.now();
        if (message.type === "alive") this.usage = message.usage;
        if (message.type === "ready") this.toReady();
        else if (message.type === "fatal") this.fatal = message.error;
        callbacks.message(this, message);
      },
    });
    this.proc = child.proc;
    this.pid = child.pid;
    this.exited = Promise.all([this.proc.exited, child.ended]).then(() => {
      const info: ChildExitInfo = {
        code: this.proc.exitCode,
        signal: this.proc.signalCode === null ? null : String(this.proc.signalCode),
        expected: this.currentState === "stopping",
        killed: this.killed,
        fatal: this.fatal,
        stderr: [...child.errorLines],
      };
      this.toExited();
      callbacks.exit(this, info);
      return info;
    });
  }

  get state(): ChildState {
    return this.currentState;
  }

  /** Resolves true when the child reports ready, false if it exits (or is stopped) first. */
  get ready(): Promise<boolean> {
    return this.readyWaiters.promise;
  }

  private toReady(): void {
    if (this.currentState !== "starting") return;
    this.currentState = "ready";
    this.readyAt = Date.now();
    this.readyWaiters.resolve(true);
  }

  private toExited(): void {
    this.currentState = "exited";
    if (this.killTimer !== null) clearTimeout(this.killTimer);
    this.killTimer = null;
    this.readyWaiters.resolve(false);
  }

  /** Graceful stop: the child stops grabbing and gets `deadline` ms for its running jobs. */
  stop(deadline: number): void {
    if (this.currentState === "exited") return;
    this.currentState = "stopping";
    this.readyWaiters.resolve(false);
    this.send({ type: "stop", deadline });
    const at = deadline + KILL_GRACE_MS;
    if (this.killTimer !== null) clearTimeout(this.killTimer);
    this.killTimer = setTimeout(() => this.kill(), at);
  }

  /** SIGKILL now. */
  kill(): void {
    if (this.currentState === "exited") return;
    this.currentState = "stopping";
    this.readyWaiters.resolve(false);
    this.killed = true;
    this.proc.kill("SIGKILL");
  }

  private send(message: SupervisorMessage): void {
    try {
      this.proc.send(message);
    } catch {
      // The channel is closed: the child is on its way out; the kill timer covers a hang.
    }
  }
}

/** A child's exit, in words. */
export function explainExit(info: ChildExitInfo): string {
  if (info.fatal !== null) return `handlers failed to load: ${info.fatal}`;
  if (info.killed) return "killed after the stop deadline";
  if (info.signal !== null) return `killed by ${info.signal}`;
  switch (info.code) {
    case ChildExit.Stopped:
      return info.expected ? "stopped" : "exited with code 0";
    case ChildExit.LoadFailed:
      return "handlers failed to load";
    case ChildExit.NoServers:
      return "no job server could be reached";
    default:
      return `exited with code ${info.code}`;
  }
}

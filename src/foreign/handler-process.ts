/**
 * One handler process: spawned with its command, it says HELLO (or LOAD_FAILED), then runs one
 * job at a time: a JOB frame sent, STATUS / DATA / WARNING frames forwarded to the job while it
 * runs, and one COMPLETE, FAIL or EXCEPTION ending it. The frames travel on its stdio or on an
 * inherited socket (channel.ts). Its output is passed through line by line (the pool logs it)
 * and the last lines are kept to explain an exit.
 *
 * States: starting → idle ⇄ busy → exited. A frame out of turn is a protocol error: the process
 * is killed. A job's signal aborting (its timeout, the stop deadline, a lost connection) kills
 * the process too: a handler cannot be interrupted any other way, and a killed one is respawned
 * by the supervisor (supervisor.ts).
 */
import type { Subprocess } from "bun";
import { HandlerError } from "../errors.ts";
import type { Job } from "../worker/handler.ts";
import { JobFailure } from "../worker/job.ts";
import { type HandlerChannel, type HandlerTransport, spawnHandler } from "./channel.ts";
import { encodeFrame, FrameDecoder, FrameType, frameName, PROTOCOL_VERSION } from "./frames.ts";

/** How a handler process is started. */
export interface HandlerCommand {
  readonly argv: readonly string[];
  /** What messages call it: the handlers file, or the command. */
  readonly label: string;
  readonly cwd?: string;
  /** Where the frames travel. @default "stdio" */
  readonly transport?: HandlerTransport;
}

export type HandlerProcessState = "starting" | "idle" | "busy" | "exited";

/** After SIGTERM, a handler process gets this long before SIGKILL. */
export const KILL_GRACE_MS = 500;
/** Output lines kept to explain an exit. */
const TAIL_LINES = 5;
/** A STATUS argument. */
const DECIMAL = /^\d{1,15}$/;

const utf8 = new TextDecoder();
const text = (b: Uint8Array): string => utf8.decode(b);

interface Running {
  readonly job: Job;
  resolve(result: Uint8Array): void;
  reject(error: unknown): void;
  /** Listens to the job's signal until the job ends. */
  readonly onAbort: () => void;
}

export class HandlerProcess {
  readonly command: HandlerCommand;
  readonly pid: number;
  /** Resolves with the function names of its HELLO; rejects with HANDLER_LOAD_FAILED. */
  readonly ready: Promise<readonly string[]>;
  /** Resolves once the process has exited and its frames and output are read to the end. */
  readonly exited: Promise<void>;
  /** When it said HELLO (ms since epoch), 0 before. */
  readyAt = 0;
  /** "exit code 1", "signal SIGKILL"; null while it runs. */
  exitReason: string | null = null;
  /** Jobs it ended. */
  jobs = 0;
  /** Killed on purpose (a job's abort, a protocol error), not died by itself. */
  killed = false;

  private currentState: HandlerProcessState = "starting";
  private readonly proc: Subprocess;
  private readonly channel: HandlerChannel;
  private readonly decoder: FrameDecoder;
  private readonly hello = Promise.withResolvers<readonly string[]>();
  private readonly tail: string[] = [];
  private current: Running | null = null;
  /** Why it is being killed: handed to the running job instead of "crashed". */
  private killReason: unknown = null;
  private killTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(command: HandlerCommand) {
    this.command = command;
    this.decoder = new FrameDecoder(
      { frame: (type, args) => this.onFrame(type, args), error: (error) => this.protocolError(error) },
      { from: "handler" },
    );
    this.channel = spawnHandler(command, {
      bytes: (chunk) => this.decoder.push(chunk),
      line: (line) => this.outputLine(line),
      broken: (error) =>
        this.kill(new HandlerError(error.code, `${this.describe()}: ${error.message}`, { cause: error.cause })),
    });
    this.proc = this.channel.proc;
    this.pid = this.proc.pid;
    this.ready = this.hello.promise;
    // Nobody may be waiting for it (a respawn): an unobserved rejection is not an error.
    this.ready.catch(() => {});
    this.exited = Promise.all([this.proc.exited, this.channel.done]).then(() => this.onExit());
  }

  get state(): HandlerProcessState {
    return this.currentState;
  }

  /** Runs `job` in this idle process; resolves with the COMPLETE bytes, rejects with its failure. */
  run(job: Job): Promise<Uint8Array> {
    if (this.currentState !== "idle") {
      // Only the supervisor hands out jobs, to idle processes: this one died in between.
      return Promise.reject(new HandlerError("HANDLER_CRASHED", `${this.describe()} is ${this.currentState}`));
    }
    const signal = job.signal;
    if (signal.aborted) return Promise.reject(signal.reason);
    const { promise, resolve, reject } = Promise.withResolvers<Uint8Array>();
    const onAbort = (): void => this.kill(signal.reason);
    this.current = { job, resolve, reject, onAbort };
    this.currentState = "busy";
    // What explains a crash is what this job wrote, not an earlier job's traceback.
    this.tail.length = 0;
    signal.addEventListener("abort", onAbort, { once: true });
    this.channel.send(
      encodeFrame(FrameType.JOB, [job.function, job.handle, job.unique, String(job.attempt), job.payload]),
    );
    return promise;
  }

  /** SIGTERM, then SIGKILL after KILL_GRACE_MS; a running job is rejected with `reason`. */
  kill(reason: unknown = null, graceMs = KILL_GRACE_MS): void {
    if (this.currentState === "exited") return;
    this.killed = true;
    if (this.killReason === null) this.killReason = reason;
    if (this.killTimer !== null) return;
    this.signal(graceMs > 0 ? "SIGTERM" : "SIGKILL");
    this.killTimer = setTimeout(() => this.signal("SIGKILL"), graceMs);
  }

  /** Ends its input (an idle handler exits); SIGKILL after `graceMs`. */
  close(graceMs = KILL_GRACE_MS): void {
    if (this.currentState === "exited") return;
    this.channel.end();
    if (this.killTimer === null) this.killTimer = setTimeout(() => this.signal("SIGKILL"), graceMs);
  }

  /** Kills at once, synchronously (the Bun process is exiting). */
  killNow(): void {
    if (this.currentState !== "exited") this.signal("SIGKILL");
  }

  /** The last lines of its output, joined for a message. */
  stderrTail(): string {
    return this.tail.join(" | ");
  }

  private signal(name: "SIGTERM" | "SIGKILL"): void {
    killGroup(this.proc, name);
  }

  private outputLine(line: string): void {
    process.stderr.write(`${line}\n`);
    if (line.trim() === "") return;
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
  }

  private onFrame(type: FrameType, args: Uint8Array[]): void {
    const state = this.currentState;
    if (type === FrameType.HELLO || type === FrameType.LOAD_FAILED) {
      if (state !== "starting") {
        this.outOfTurn(type);
        return;
      }
      if (type === FrameType.LOAD_FAILED) {
        this.hello.reject(new HandlerError("HANDLER_LOAD_FAILED", `${this.command.label}: ${text(args[0]!)}`));
        this.kill();
        return;
      }
      const version = text(args[0]!);
      if (version !== PROTOCOL_VERSION) {
        this.protocolError(
          new HandlerError(
            "HANDLER_PROTOCOL",
            `${this.describe()} speaks handler protocol ${version}, gearbun speaks ${PROTOCOL_VERSION}`,
          ),
        );
        return;
      }
      const names = args.slice(1).map(text);
      this.currentState = "idle";
      this.readyAt = Date.now();
      this.hello.resolve(names);
      return;
    }
    const running = this.current;
    if (state !== "busy" || running === null) {
      this.outOfTurn(type);
      return;
    }
    const job = running.job;
    switch (type) {
      case FrameType.STATUS: {
        const [numerator, denominator] = [text(args[0]!), text(args[1]!)];
        if (!DECIMAL.test(numerator) || !DECIMAL.test(denominator)) {
          this.protocolError(
            new HandlerError(
              "HANDLER_PROTOCOL",
              `${this.describe()} sent STATUS ${JSON.stringify(numerator)}/${JSON.stringify(denominator)}: not decimal integers`,
            ),
          );
          return;
        }
        job.status(Number(numerator), Number(denominator)).catch(this.sendFailed);
        return;
      }
      case FrameType.DATA:
        job.data(args[0]!.slice()).catch(this.sendFailed);
        return;
      case FrameType.WARNING:
        job.warning(args[0]!.slice()).catch(this.sendFailed);
        return;
    }
    this.current = null;
    this.currentState = "idle";
    this.jobs++;
    job.signal.removeEventListener("abort", running.onAbort);
    if (type === FrameType.COMPLETE) running.resolve(args[0]!.slice());
    else if (type === FrameType.FAIL) running.reject(new JobFailure(text(args[0]!) || "job failed"));
    else running.reject(new HandlerError("HANDLER_EXCEPTION", text(args[0]!)));
  }

  /** A STATUS, DATA or WARNING the job could not send (over the packet size limit): the job fails with it. */
  private readonly sendFailed = (error: unknown): void => {
    this.kill(error, 0);
  };

  private outOfTurn(type: FrameType): void {
    this.protocolError(
      new HandlerError("HANDLER_PROTOCOL", `${this.describe()} sent ${frameName(type)} while ${this.currentState}`),
    );
  }

  private protocolError(error: HandlerError): void {
    this.kill(error, 0);
  }

  private onExit(): void {
    if (this.killTimer !== null) clearTimeout(this.killTimer);
    this.killTimer = null;
    const { exitCode, signalCode } = this.proc;
    this.exitReason = signalCode !== null ? `signal ${signalCode}` : `exit code ${exitCode}`;
    const was = this.currentState;
    this.currentState = "exited";
    const tail = this.stderrTail();
    const said = tail === "" ? "" : `; output: ${tail}`;
    if (was === "starting") {
      const why =
        this.killReason instanceof Error ? this.killReason.message : `exited (${this.exitReason}) before HELLO`;
      this.hello.reject(new HandlerError("HANDLER_LOAD_FAILED", `${this.command.label}: ${why}${said}`));
    }
    const running = this.current;
    this.current = null;
    if (running !== null) {
      running.job.signal.removeEventListener("abort", running.onAbort);
      running.reject(
        this.killReason ??
          new HandlerError(
            "HANDLER_CRASHED",
            `handler process ${this.pid} (${this.command.label}) died (${this.exitReason}) while running job ${running.job.handle}${said}`,
          ),
      );
    }
  }

  private describe(): string {
    return `handler process ${this.pid} (${this.command.label})`;
  }
}

/** Signals the process group a detached process leads (what it started, too), else the process. */
export function killGroup(proc: Subprocess, name: "SIGTERM" | "SIGKILL"): void {
  try {
    process.kill(-proc.pid, name);
  } catch {
    try {
      proc.kill(name);
    } catch {
      // It exited meanwhile.
    }
  }
}

/**
 * A child process whose stdout is read line by line: the worker pool and the demo watch their
 * worker processes with it, and the tests and benchmarks their helper processes. Lines are kept
 * in order (or handed over as they come), waited for by a predicate, and the process is stopped
 * by PID (SIGTERM, then SIGKILL after a grace period).
 */
import type { Subprocess } from "bun";

export interface LineProcessOptions {
  /** Working directory of the child. @default the current directory */
  readonly cwd?: string;
  /** Environment of the child (replaces, does not extend, ours). @default process.env */
  readonly env?: Record<string, string | undefined>;
  /** "pipe" to write to the child with `write()`. @default "ignore" */
  readonly stdin?: "ignore" | "pipe";
  /** "pipe" keeps stderr's lines in `errorLines`. @default "inherit" */
  readonly stderr?: "inherit" | "pipe" | "ignore";
  /** What error messages call the process. @default the command, space-separated */
  readonly name?: string;
  /** At most this many lines are kept per stream, the oldest dropped first. @default Infinity */
  readonly keepLines?: number;
  /** Called with each whole line as it is read (stderr's only with `stderr: "pipe"`). @default none */
  readonly onLine?: (stream: "stdout" | "stderr", line: string) => void;
  /** Opens an IPC channel (JSON serialization): each message the child sends is handed here. @default none */
  readonly ipc?: (message: unknown) => void;
}

/** A spawned child with its stdout read as lines. */
export interface LineProcess {
  readonly proc: Subprocess;
  readonly pid: number;
  /** stdout lines so far, without their "\n". */
  readonly lines: string[];
  /** stderr lines so far (only with `stderr: "pipe"`). */
  readonly errorLines: string[];
  /** Resolves once stdout (and a piped stderr) are read to the end. */
  readonly ended: Promise<void>;
  /**
   * The first value `find` returns other than undefined, asked after each chunk of output with
   * every stdout line so far; rejects once stdout ends or after `timeoutMs`.
   */
  waitFor<T>(find: (lines: readonly string[]) => T | undefined, what: string, timeoutMs?: number): Promise<T>;
  /** The first line (already read or still to come) passing `test`. */
  waitLine(test: (line: string) => boolean, what: string, timeoutMs?: number): Promise<string>;
  /**
   * The first line passing `test` after the one the previous `nextLine` returned: the same text
   * printed again is seen again.
   */
  nextLine(test: (line: string) => boolean, what: string, timeoutMs?: number): Promise<string>;
  /** Writes to stdin (spawned with `stdin: "pipe"`). */
  write(text: string): void;
  /** True once the process has exited. */
  exited(): boolean;
  /**
   * `signal` (SIGTERM by default; and SIGCONT, so a stopped process gets it), SIGKILL after
   * `graceMs`; resolves with the exit code (null when a signal ended it) once it has exited and
   * its output is read.
   */
  stop(graceMs?: number, signal?: "SIGTERM" | "SIGINT"): Promise<number | null>;
  /** `stop(1000)`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** How long `stop` waits for the output to end after the exit (a grandchild may hold the pipe). */
const OUTPUT_GRACE_MS = 1000;

/**
 * Reads `stream` into `lines` (the last line may lack its "\n"), calling `onLine` per line and
 * `onChunk` with how many old lines it dropped.
 */
async function readLines(
  stream: ReadableStream<Uint8Array>,
  lines: string[],
  keep: number,
  onLine: ((line: string) => void) | undefined,
  onChunk: (dropped: number) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let partial = "";
  const drop = (): number => {
    const extra = lines.length - keep;
    if (extra > 0) lines.splice(0, extra);
    return Math.max(0, extra);
  };
  for await (const chunk of stream) {
    partial += decoder.decode(chunk, { stream: true });
    let nl = partial.indexOf("\n");
    if (nl < 0) continue;
    let start = 0;
    while (nl >= 0) {
      const line = partial.slice(start, nl);
      lines.push(line);
      onLine?.(line);
      start = nl + 1;
      nl = partial.indexOf("\n", start);
    }
    partial = partial.slice(start);
    onChunk(drop());
  }
  partial += decoder.decode();
  if (partial !== "") {
    lines.push(partial);
    onLine?.(partial);
  }
  onChunk(drop());
}

/** Spawns `cmd` with stdout piped and read line by line. */
export function spawnLines(cmd: readonly string[], options: LineProcessOptions = {}): LineProcess {
  const name = options.name ?? cmd.join(" ");
  const keep = options.keepLines ?? Number.POSITIVE_INFINITY;
  const proc = Bun.spawn([...cmd], {
    stdout: "pipe",
    stderr: options.stderr ?? "inherit",
    stdin: options.stdin ?? "ignore",
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    ...(options.env !== undefined ? { env: options.env } : {}),
    ...(options.ipc !== undefined ? { ipc: options.ipc, serialization: "json" as const } : {}),
  });
  const lines: string[] = [];
  const errorLines: string[] = [];
  /** Index in `lines` after the line the last `nextLine` returned. */
  let cursor = 0;
  let done = false;
  let waiters: (() => void)[] = [];
  const wake = (): void => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  const onLine = options.onLine;
  const stdoutDone = readLines(
    proc.stdout as ReadableStream<Uint8Array>,
    lines,
    keep,
    onLine && ((line) => onLine("stdout", line)),
    (dropped) => {
      cursor = Math.max(0, cursor - dropped);
      wake();
    },
  );
  const stderrDone =
    options.stderr === "pipe"
      ? readLines(
          proc.stderr as ReadableStream<Uint8Array>,
          errorLines,
          keep,
          onLine && ((line) => onLine("stderr", line)),
          () => {},
        )
      : null;
  const ended = Promise.all([stdoutDone, stderrDone]).then(() => {
    done = true;
    wake();
  });
  const exited = (): boolean => proc.exitCode !== null || proc.signalCode !== null;
  const output = (): string => lines.slice(-20).join(" | ");

  /** Resolves with `find()`'s value once there is one; rejects at the end of stdout or `timeoutMs`. */
  const wait = <T>(find: () => T | undefined, what: string, timeoutMs: number): Promise<T> =>
    new Promise((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        reject(new Error(`${name}: no ${what} within ${timeoutMs} ms; output: ${output()}`));
      }, timeoutMs);
      const check = (): void => {
        if (settled) return;
        const found = find();
        if (found !== undefined) {
          settled = true;
          clearTimeout(timer);
          resolve(found);
        } else if (done) {
          settled = true;
          clearTimeout(timer);
          const how = proc.exitCode ?? proc.signalCode ?? "closed stdout";
          reject(new Error(`${name}: exited (${how}) before ${what}; output: ${output()}`));
        } else {
          waiters.push(check);
        }
      };
      check();
    });

  const stop = async (graceMs = 5000, signal: "SIGTERM" | "SIGINT" = "SIGTERM"): Promise<number | null> => {
    if (!exited()) {
      proc.kill(signal);
      proc.kill("SIGCONT");
      const killer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
      await proc.exited;
      clearTimeout(killer);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([ended, new Promise<void>((r) => (timer = setTimeout(r, OUTPUT_GRACE_MS)))]);
    clearTimeout(timer);
    return proc.exitCode;
  };

  return {
    proc,
    pid: proc.pid,
    lines,
    errorLines,
    ended,
    waitFor: (find, what, timeoutMs = 10_000) => wait(() => find(lines), what, timeoutMs),
    waitLine: (test, what, timeoutMs = 10_000) => wait(() => lines.find(test), what, timeoutMs),
    nextLine: (test, what, timeoutMs = 10_000) =>
      wait(
        () => {
          for (let i = cursor; i < lines.length; i++) {
            if (test(lines[i]!)) {
              cursor = i + 1;
              return lines[i];
            }
          }
          return undefined;
        },
        what,
        timeoutMs,
      ),
    write(text) {
      const stdin = proc.stdin;
      if (stdin === undefined || typeof stdin === "number") throw new Error(`${name}: stdin is not a pipe`);
      stdin.write(text);
      void stdin.flush();
    },
    exited,
    stop,
    async [Symbol.asyncDispose]() {
      await stop(1000);
    },
  };
}

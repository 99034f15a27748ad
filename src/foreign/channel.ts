/**
 * How a handler process is spawned, and the channel its frames travel on (docs/handler-protocol.md):
 *
 * - "stdio": frames on its stdin and stdout, stderr its log. What `--exec` commands speak: any
 *   language can read stdin and write stdout.
 * - "socket": frames on a Unix socket inherited as file descriptor HANDLER_FD (a socketpair; its
 *   number is in the environment variable GEARBUN_HANDLER_FD), stdout and stderr both its log,
 *   stdin /dev/null. What the bundled adapters speak: Bun reads a socket with one callback per
 *   chunk (send, wait, receive: three system calls a job) where a subprocess's stdio streams
 *   cost a promise per read and several more system calls (measured: bench/RESULTS.md, "Polyglot
 *   hop after the transport change"); and nothing a handler prints can reach the frames.
 *
 * The channel hands the handler's frame bytes to `bytes` as they arrive and its output to `line`,
 * line by line; it knows nothing of frames.
 */
import type { Socket, Subprocess } from "bun";
import { HandlerError } from "../errors.ts";
import { WriteQueue } from "../util/write-queue.ts";

// Bun.connect takes a connected socket's file descriptor (`fd`); bun-types declares its options
// but not the overload.
declare module "bun" {
  function connect<Data = undefined>(options: FdSocketOptions<Data>): Promise<Socket<Data>>;
}

export type HandlerTransport = "stdio" | "socket";

/** The environment variable that names the frames' file descriptor, in "socket" mode. */
export const HANDLER_FD_ENV = "GEARBUN_HANDLER_FD";
/** The frames' file descriptor in the handler process, in "socket" mode (the first after stdio). */
export const HANDLER_FD = 3;
/** Frames queued for a handler above this many bytes are over the socket's buffers: a big payload. */
const HIGH_WATER = 1024 * 1024;

export interface ChannelSinks {
  /** Bytes of frames from the handler; false once they are bad (the rest is not read). */
  bytes(chunk: Uint8Array): boolean;
  /** A line of the handler's output (stderr; stdout too in "socket" mode), without its "\n". */
  line(line: string): void;
  /** The channel broke (a write to a process that is gone, a socket that would not open). */
  broken(error: HandlerError): void;
}

export interface HandlerChannel {
  readonly proc: Subprocess;
  /** Sends one frame. */
  send(frame: Uint8Array): void;
  /** Ends the handler's input: an idle handler exits. */
  end(): void;
  /** Resolves once the handler's frames and output are read to the end. */
  readonly done: Promise<void>;
}

export interface SpawnSpec {
  readonly argv: readonly string[];
  readonly cwd?: string;
  readonly transport?: HandlerTransport;
}

/** Spawns the handler process of `spec` in a process group of its own, with its channel. */
export function spawnHandler(spec: SpawnSpec, sinks: ChannelSinks): HandlerChannel {
  return spec.transport === "socket" ? socketChannel(spec, sinks) : stdioChannel(spec, sinks);
}

/** Our environment without HANDLER_FD_ENV (a stdio handler must not look for a socket), plus `extra`. */
function environment(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, ...extra };
  if (extra[HANDLER_FD_ENV] === undefined) delete env[HANDLER_FD_ENV];
  return env;
}

function stdioChannel(spec: SpawnSpec, sinks: ChannelSinks): HandlerChannel {
  const proc = Bun.spawn([...spec.argv], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
    env: environment(),
    // A process group of its own: a kill reaches what it started too (a shell's children).
    detached: true,
    ...(spec.cwd !== undefined ? { cwd: spec.cwd } : {}),
  });
  const readFrames = async (): Promise<void> => {
    // A reader's read() per chunk: cheaper than the stream's async iterator.
    const reader = proc.stdout.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done || !sinks.bytes(value)) break;
    }
  };
  return {
    proc,
    send(frame) {
      try {
        proc.stdin.write(frame);
        proc.stdin.flush();
      } catch (error) {
        sinks.broken(new HandlerError("HANDLER_CRASHED", "cannot write to its stdin", { cause: error }));
      }
    },
    end() {
      try {
        proc.stdin.end();
      } catch {
        // Already closed: the process is on its way out.
      }
    },
    done: Promise.all([readFrames(), readLines(proc.stderr, sinks.line)]).then(() => {}),
  };
}

function socketChannel(spec: SpawnSpec, sinks: ChannelSinks): HandlerChannel {
  const proc = Bun.spawn([...spec.argv], {
    stdio: ["ignore", "pipe", "pipe", "socket-fd"],
    env: environment({ [HANDLER_FD_ENV]: String(HANDLER_FD) }),
    detached: true,
    ...(spec.cwd !== undefined ? { cwd: spec.cwd } : {}),
  });
  const queue = new WriteQueue(HIGH_WATER);
  const closed = Promise.withResolvers<void>();
  let socket: Socket<undefined> | null = null;
  let ending = false;
  let reading = true;
  // After what is queued: an end of input is the last thing the handler reads.
  const endAfterQueue = (s: Socket<undefined>): void => {
    queue.writable(0).then(
      () => s.end(),
      () => {},
    );
  };
  const fd = proc.stdio[HANDLER_FD];
  if (typeof fd !== "number") throw new Error(`Bun.spawn gave no socket for file descriptor ${HANDLER_FD}`);
  Bun.connect({
    fd,
    socket: {
      data(_s, chunk) {
        if (reading) reading = sinks.bytes(chunk);
      },
      drain() {
        queue.flush();
      },
      close() {
        queue.detach(null);
        closed.resolve();
      },
      error(_s, error) {
        sinks.broken(new HandlerError("HANDLER_CRASHED", "its socket failed", { cause: error }));
      },
    },
  }).then(
    (s) => {
      socket = s;
      queue.attach(s);
      if (ending) endAfterQueue(s);
    },
    (error: unknown) => {
      sinks.broken(new HandlerError("HANDLER_CRASHED", "its socket did not open", { cause: error }));
      closed.resolve();
    },
  );
  return {
    proc,
    send(frame) {
      queue.push(frame);
    },
    end() {
      if (ending) return;
      ending = true;
      if (socket !== null) endAfterQueue(socket);
    },
    done: Promise.all([closed.promise, readLines(proc.stdout, sinks.line), readLines(proc.stderr, sinks.line)]).then(
      () => {},
    ),
  };
}

/** Reads `stream` to its end, a line at a time. */
async function readLines(stream: ReadableStream<Uint8Array>, line: (text: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let partial = "";
  for await (const chunk of stream) {
    const lines = (partial + decoder.decode(chunk, { stream: true })).split("\n");
    partial = lines.pop()!;
    for (const l of lines) line(l);
  }
  if (partial !== "") line(partial);
}

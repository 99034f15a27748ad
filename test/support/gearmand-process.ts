/**
 * Real gearmand processes, for the integration tests (via ./gearmand.ts) and for bench/: each on a
 * free loopback port, waited for until it answers the admin `version` command, stopped by PID.
 * No bun:test import here, so code outside `bun test` can use it.
 *
 * $GEARMAND picks the binary (see gearmandPath). Without gearmand, haveGearmand() warns once and returns false, unless
 * GEARBUN_REQUIRE_GEARMAND=1 (as in CI): then a missing gearmand is a failure.
 */
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const GEARMAND_PATHS = ["/usr/sbin/gearmand", "/usr/local/sbin/gearmand", "/usr/bin/gearmand"];

/**
 * The gearmand binary every test and benchmark starts: $GEARMAND when set (any build, e.g. one from
 * scripts/build-gearmand.sh), else the first on PATH or in the usual sbin folders. A $GEARMAND that
 * is not an executable file is an error, never a quiet fall back to another gearmand.
 */
export const gearmandPath: string | null = chooseGearmand(process.env.GEARMAND);

function chooseGearmand(chosen: string | undefined): string | null {
  if (chosen !== undefined && chosen !== "") {
    const path = chosen.includes("/") ? resolve(chosen) : Bun.which(chosen);
    if (path === null || !isExecutableFile(path)) {
      throw new Error(`GEARMAND=${chosen}: not an executable file (unset GEARMAND to use the installed gearmand)`);
    }
    return path;
  }
  return Bun.which("gearmand") ?? GEARMAND_PATHS.find((p) => existsSync(p)) ?? null;
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
export const gearmanCliPath: string | null = Bun.which("gearman");
export const gearadminPath: string | null = Bun.which("gearadmin");
const required = process.env.GEARBUN_REQUIRE_GEARMAND === "1";

let warned = false;
/** True when gearmand can be used. Missing + required: throws. Missing otherwise: warns once. */
export function haveGearmand(): boolean {
  if (gearmandPath !== null) return true;
  if (required) throw new Error("gearmand is not installed but GEARBUN_REQUIRE_GEARMAND=1: install gearman-job-server");
  if (!warned) {
    warned = true;
    console.warn("SKIP: gearmand not found on PATH; integration tests against real gearmand are skipped");
  }
  return false;
}

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

export interface Gearmand {
  readonly port: number;
  /** "127.0.0.1:PORT" */
  readonly address: string;
  readonly pid: number;
  readonly logFile: string;
  /** The log so far. */
  log(): string;
  /** SIGTERM, then SIGKILL after 2 s; waits for exit. */
  stop(): Promise<void>;
  /** SIGKILL now (a crash); waits for exit. */
  kill(): Promise<void>;
  /** Starts again on the same port with the same flags (after stop or kill). */
  restart(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const running = new Set<Gearmand>();
let failedSinceLastCheck = false;

/** Sends one admin line and returns the first reply line, or null if no answer in time. */
export async function adminLine(port: number, line: string, timeoutMs = 1000): Promise<string | null> {
  const { promise, resolve } = Promise.withResolvers<string | null>();
  let text = "";
  const timer = setTimeout(() => resolve(null), timeoutMs);
  try {
    const socket = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data(_s, data) {
          text += new TextDecoder().decode(data);
          const nl = text.indexOf("\n");
          if (nl >= 0) resolve(text.slice(0, nl));
        },
        close() {
          resolve(null);
        },
        error() {
          resolve(null);
        },
        connectError() {
          resolve(null);
        },
      },
    });
    socket.write(`${line}\n`);
    const answer = await promise;
    socket.end();
    return answer;
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts gearmand on a free port (or `port`), with extra `args` (and extra environment `env`, e.g.
 * an LD_PRELOAD), and waits until it answers.
 */
export async function startGearmand(
  options: { args?: string[]; port?: number; env?: Record<string, string> } = {},
): Promise<Gearmand> {
  if (!haveGearmand() || gearmandPath === null) throw new Error("gearmand is not installed");
  const dir = mkdtempSync(join(tmpdir(), "gearbun-gearmand-"));
  const logFile = join(dir, "gearmand.log");
  const extra = options.args ?? [];
  let port = options.port ?? freePort();
  let proc: ReturnType<typeof Bun.spawn> | null = null;

  const launch = async (): Promise<void> => {
    for (let tries = 0; tries < 5; tries++) {
      proc = Bun.spawn(
        [
          gearmandPath!,
          "--listen",
          "127.0.0.1",
          "--port",
          String(port),
          "--log-file",
          logFile,
          "--verbose",
          "INFO",
          ...extra,
        ],
        {
          stdout: "ignore",
          stderr: "pipe",
          stdin: "ignore",
          ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
        },
      );
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline) {
        if (proc.exitCode !== null) break;
        const answer = await adminLine(port, "version", 300);
        if (answer?.startsWith("OK")) return;
        await Bun.sleep(20);
      }
      proc.kill("SIGKILL");
      await proc.exited;
      // The port may have been taken between probe and bind: try another (unless fixed).
      if (options.port === undefined) port = freePort();
    }
    throw new Error(`gearmand did not start on 127.0.0.1:${port}; log:\n${readLog()}`);
  };

  const readLog = (): string => {
    try {
      return readFileSync(logFile, "utf8");
    } catch {
      return "";
    }
  };

  const waitExit = async (signal: "SIGTERM" | "SIGKILL"): Promise<void> => {
    const p = proc;
    if (p === null || p.exitCode !== null || p.signalCode !== null) return;
    p.kill(signal);
    const killTimer = setTimeout(() => p.kill("SIGKILL"), 2000);
    await p.exited;
    clearTimeout(killTimer);
  };

  await launch();
  const handle: Gearmand = {
    get port() {
      return port;
    },
    get address() {
      return `127.0.0.1:${port}`;
    },
    get pid() {
      return proc?.pid ?? -1;
    },
    logFile,
    log: readLog,
    stop: async () => {
      await waitExit("SIGTERM");
    },
    kill: async () => {
      await waitExit("SIGKILL");
    },
    restart: async () => {
      await waitExit("SIGTERM");
      const fixed = port;
      for (let tries = 0; ; tries++) {
        try {
          options = { ...options, port: fixed };
          await launch();
          return;
        } catch (e) {
          if (tries >= 3) throw e;
          await Bun.sleep(200);
        }
      }
    },
    [Symbol.asyncDispose]: async () => {
      await waitExit("SIGTERM");
      running.delete(handle);
      if (!failedSinceLastCheck) rmSync(dir, { recursive: true, force: true });
    },
  };
  running.add(handle);
  return handle;
}

/** Wraps a test body: when it throws, the running gearmand logs are printed before the error. */
export function logsOnFailure(fn: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await fn();
    } catch (error) {
      dumpGearmandLogs();
      throw error;
    }
  };
}

/** Prints every running gearmand's log (for use in a catch block of a failing test). */
export function dumpGearmandLogs(): void {
  failedSinceLastCheck = true;
  for (const g of running) {
    console.error(`--- gearmand ${g.address} (pid ${g.pid}) log ${g.logFile} ---\n${g.log().slice(-4000)}`);
  }
}

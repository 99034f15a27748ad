/**
 * Process plumbing for the end-to-end benchmark: spawning peers (every process tracked and stopped
 * by PID, also on errors and Ctrl-C), job servers (gearmand or our embedded server in a process of
 * its own), the C peers' build, and the machine's facts (per-process CPU and memory: proc.ts).
 */
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Admin } from "../src/admin/admin.ts";
import { spawnLines, type LineProcess } from "../src/util/lines.ts";
import { gearmandPath, startGearmand, type Gearmand } from "../test/support/gearmand-process.ts";

export const BENCH_DIR = import.meta.dir;
export const ROOT = join(import.meta.dir, "..");
export const PEERS_DIR = join(import.meta.dir, "peers");
export const BUILD_DIR = join(import.meta.dir, ".build");
/** The function every echo worker peer registers and the load generators submit to by default. */
export const ECHO_FN = "echo";
/** The Bun running this benchmark runs the Bun peers too. */
export const BUN = process.execPath;

// ---------------------------------------------------------------------------------------------
// Child processes

/** A child process with its stdout read as lines and its stderr kept for error messages. */
export interface Peer {
  readonly pid: number;
  readonly name: string;
  readonly proc: LineProcess["proc"];
  /** The last lines of stderr, for error messages. */
  stderr(): string;
  /** Resolves with the first stdout line that parses as JSON, or null if the process exits first. */
  firstJson(timeoutMs: number): Promise<Record<string, unknown> | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<number | null>;
}

const live = new Set<Peer>();
const liveServers = new Set<{ stop(): Promise<void> }>();

/** Keeps memory bounded if a peer is chatty: the reports are single lines. */
const KEEP_LINES = 10_000;

function isJsonObjectLine(line: string): boolean {
  const t = line.trim();
  if (!t.startsWith("{") || !t.endsWith("}")) return false;
  try {
    JSON.parse(t);
    return true;
  } catch {
    return false; // not a report line
  }
}

/** Spawns `cmd` (stdin closed, output collected); the process is stopped by `stopAll` at the latest. */
export function spawnPeer(name: string, cmd: string[], env: Record<string, string> = {}): Peer {
  const child = spawnLines(cmd, {
    name,
    cwd: ROOT,
    env: { ...process.env, ...env },
    stderr: "pipe",
    keepLines: KEEP_LINES,
  });
  const peer: Peer = {
    pid: child.pid,
    name,
    proc: child.proc,
    stderr: () => child.errorLines.join("\n"),
    firstJson: async (timeoutMs) => {
      try {
        return JSON.parse(await child.waitLine(isJsonObjectLine, "a JSON line", timeoutMs)) as Record<string, unknown>;
      } catch {
        return null;
      }
    },
    stop: async (graceMs = 3000) => {
      const code = await child.stop(graceMs);
      live.delete(peer);
      return code;
    },
  };
  live.add(peer);
  void child.proc.exited.then(() => live.delete(peer));
  return peer;
}

/** Stops every process this module started (peers and servers), by PID. */
export async function stopAll(): Promise<void> {
  await Promise.allSettled([...live].map((p) => p.stop(1000)));
  await Promise.allSettled([...liveServers].map((s) => s.stop()));
  liveServers.clear();
}

let cleanupInstalled = false;
/** On SIGINT/SIGTERM: stop everything we started, then exit 130. */
export function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  const onSignal = (): void => {
    process.stderr.write("\ninterrupted: stopping the processes the benchmark started...\n");
    void stopAll().finally(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

// ---------------------------------------------------------------------------------------------
// Job servers

export type Target = "gearmand" | "embedded";

/** A job server under test: where it listens and the process whose CPU is its cost. */
export interface JobServer {
  readonly address: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * gearmand (default flags: 4 I/O threads, unless `args` says otherwise; `preload`: an LD_PRELOAD
 * library such as the MSS shim) or the embedded server in its own Bun process.
 */
export async function startJobServer(
  target: Target,
  preload: string | null = null,
  args: readonly string[] = [],
): Promise<JobServer> {
  if (target === "gearmand") {
    const g: Gearmand = await startGearmand({
      args: [...args],
      ...(preload !== null ? { env: { LD_PRELOAD: preload } } : {}),
    });
    const server: JobServer = { address: g.address, pid: g.pid, stop: () => g[Symbol.asyncDispose]() };
    liveServers.add(server);
    return server;
  }
  const peer = spawnPeer("gearbun-server", [process.execPath, join(PEERS_DIR, "gearbun-server.ts")]);
  const hello = await peer.firstJson(10_000);
  if (hello === null || typeof hello.port !== "number") {
    await peer.stop(500);
    throw new Error(`embedded server did not start: ${peer.stderr().slice(-2000)}`);
  }
  const server: JobServer = {
    address: `127.0.0.1:${hello.port}`,
    pid: peer.pid,
    stop: async () => {
      await peer.stop(2000);
      liveServers.delete(server);
    },
  };
  liveServers.add(server);
  return server;
}

export const haveGearmandBinary = (): boolean => gearmandPath !== null;

/** `gearmand --version`, first line. */
export function gearmandVersion(): string {
  if (gearmandPath === null) return "not installed";
  const r = Bun.spawnSync([gearmandPath, "--version"], { stdout: "pipe", stderr: "pipe" });
  return (r.stdout.toString() || r.stderr.toString()).trim().split("\n")[0] ?? "unknown";
}

/** `status` of one function on each server, summed: queued+running jobs and available workers. */
export class StatusPoller {
  private readonly admins: Admin[];
  constructor(addresses: readonly string[]) {
    this.admins = addresses.map((a) => new Admin(a, { commandTimeout: 5000 }));
  }

  async read(fn: string): Promise<{ total: number; running: number; workers: number; perServerWorkers: number[] }> {
    const rows = await Promise.all(this.admins.map((a) => a.status()));
    let total = 0;
    let running = 0;
    let workers = 0;
    const perServerWorkers: number[] = [];
    for (const list of rows) {
      const row = list.find((r) => r.function === fn);
      total += row?.total ?? 0;
      running += row?.running ?? 0;
      workers += row?.workers ?? 0;
      perServerWorkers.push(row?.workers ?? 0);
    }
    return { total, running, workers, perServerWorkers };
  }

  /** Waits until every server lists at least `perServer` workers for `fn`. */
  async waitWorkers(fn: string, perServer: number, timeoutMs: number, alive: () => string | null): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const s = await this.read(fn);
      if (s.perServerWorkers.every((w) => w >= perServer)) return;
      const dead = alive();
      if (dead !== null) throw new Error(dead);
      if (performance.now() > deadline) {
        throw new Error(
          `workers did not register in ${timeoutMs} ms (workers per server: ${s.perServerWorkers.join(", ")}, want ${perServer})`,
        );
      }
      await Bun.sleep(5);
    }
  }

  /** Waits until no job of `fn` is queued or running; resolves with the time it saw that. */
  async waitDrained(fn: string, timeoutMs: number, alive: () => string | null): Promise<number> {
    const start = performance.now();
    const deadline = start + timeoutMs;
    for (;;) {
      const s = await this.read(fn);
      const now = performance.now();
      if (s.total === 0) return now;
      const dead = alive();
      if (dead !== null) throw new Error(dead);
      if (now > deadline) throw new Error(`queue did not drain in ${timeoutMs} ms (${s.total} jobs left)`);
      // Poll often enough to time the drain within ~0.5%, no more (each poll costs the server).
      await Bun.sleep(Math.min(50, Math.max(2, (now - start) / 200)));
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.admins.map((a) => a.close()));
  }
}

// ---------------------------------------------------------------------------------------------
// C peers

export interface CPeers {
  readonly worker: string;
  readonly submitter: string;
  /** The blocking foreground client of the gray-failure rows (bench/gray.ts). */
  readonly grayClient: string;
}

/**
 * Builds bench/peers/mss-shim.c (an LD_PRELOAD library for gearmand, see the file) into
 * bench/.build; null with the reason logged when there is no C compiler.
 */
export function buildMssShim(log: (line: string) => void): string | null {
  const cc = Bun.which("cc") ?? Bun.which("gcc") ?? Bun.which("clang");
  if (cc === null) {
    log("no C compiler: gearmand runs without the MSS shim (large payloads will crawl on loopback)");
    return null;
  }
  mkdirSync(BUILD_DIR, { recursive: true });
  const src = join(PEERS_DIR, "mss-shim.c");
  const lib = join(BUILD_DIR, "mss-shim.so");
  if (existsSync(lib) && statSync(lib).mtimeMs >= statSync(src).mtimeMs) return lib;
  const r = Bun.spawnSync([cc, "-O2", "-shared", "-fPIC", "-o", lib, src, "-ldl"], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) {
    log(`the MSS shim did not build (${cc}): ${r.stderr.toString()}`);
    return null;
  }
  return lib;
}

/**
 * Builds bench/peers/*.c into bench/.build with `cc -O2 … -lgearman` (again when the source is
 * newer). Returns null with the reason printed when libgearman-dev or a C compiler is missing.
 */
export function buildCPeers(log: (line: string) => void): CPeers | null {
  if (!existsSync("/usr/include/libgearman/gearman.h") && !existsSync("/usr/local/include/libgearman/gearman.h")) {
    log("SKIP libgearman C peers: libgearman-dev is not installed (/usr/include/libgearman/gearman.h missing)");
    return null;
  }
  const cc = Bun.which("cc") ?? Bun.which("gcc") ?? Bun.which("clang");
  if (cc === null) {
    log("SKIP libgearman C peers: no C compiler (cc) on PATH");
    return null;
  }
  mkdirSync(BUILD_DIR, { recursive: true });
  const out: Record<string, string> = {};
  for (const name of ["echo-worker", "submitter", "gray-client"]) {
    const src = join(PEERS_DIR, `${name}.c`);
    const bin = join(BUILD_DIR, name);
    out[name] = bin;
    if (existsSync(bin) && statSync(bin).mtimeMs >= statSync(src).mtimeMs) continue;
    const r = Bun.spawnSync([cc, "-O2", "-Wall", "-o", bin, src, "-lgearman"], { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) {
      log(`SKIP libgearman C peers: ${cc} failed for ${name}.c:\n${r.stderr.toString()}`);
      return null;
    }
  }
  return { worker: out["echo-worker"]!, submitter: out.submitter!, grayClient: out["gray-client"]! };
}

// ---------------------------------------------------------------------------------------------
// /proc accounting

// ---------------------------------------------------------------------------------------------
// Machine facts for RESULTS.md

export function machineInfo(): {
  nproc: number;
  cpu: string;
  bun: string;
  node: string;
  gearmand: string;
  kernel: string;
} {
  let cpu = "unknown";
  try {
    cpu = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? "unknown";
  } catch {
    // not Linux
  }
  const nodeBin = Bun.which("node");
  const node =
    nodeBin === null
      ? "not installed"
      : Bun.spawnSync([nodeBin, "--version"], { stdout: "pipe" }).stdout.toString().trim();
  const kernel = Bun.spawnSync(["uname", "-r"], { stdout: "pipe" }).stdout.toString().trim();
  return { nproc: navigator.hardwareConcurrency, cpu, bun: Bun.version, node, gearmand: gearmandVersion(), kernel };
}

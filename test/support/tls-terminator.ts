/**
 * A TLS terminator from the distribution in front of a plaintext server (real gearmand): stunnel4
 * or socat on a free loopback port, verifying client certificates against the test CA, stopped by
 * PID. stunnel is one process; socat forks a child per connection, so `kill()` also kills the
 * children (found by their parent PID) — a terminator that dies takes its connections with it.
 *
 * Missing stunnel/socat skips with a warning, or fails under GEARBUN_REQUIRE_GEARMAND=1 (CI
 * installs both).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./gearmand-process.ts";

export type TerminatorKind = "stunnel" | "socat";

const paths: Record<TerminatorKind, string | null> = {
  stunnel: Bun.which("stunnel4") ?? Bun.which("stunnel"),
  socat: Bun.which("socat"),
};

/** True when the terminator can be used; missing and required (CI): throws; missing: warns. */
export function haveTerminator(kind: TerminatorKind): boolean {
  if (paths[kind] !== null) return true;
  if (process.env.GEARBUN_REQUIRE_GEARMAND === "1") {
    throw new Error(`${kind} is not installed but GEARBUN_REQUIRE_GEARMAND=1: apt-get install stunnel4 socat`);
  }
  console.warn(`SKIP: ${kind} not found on PATH; tests through a TLS terminator are skipped`);
  return false;
}

export interface TerminatorFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** CA that client certificates must be signed by. */
  readonly caFile: string;
}

export interface Terminator extends AsyncDisposable {
  readonly kind: TerminatorKind;
  readonly port: number;
  /** "127.0.0.1:PORT" */
  readonly address: string;
  /** SIGKILL the terminator and its connections; waits for exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port. */
  restart(): Promise<void>;
  /**
   * SIGSTOP the terminator and its connections: every socket stays open and nothing is forwarded
   * or answered, not even a TLS handshake — a silent TLS peer. `resume()` (SIGCONT) ends it.
   */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
  log(): string;
}

/** Resolves once something accepts TCP connections on the port. */
async function waitListening(port: number, proc: ReturnType<typeof Bun.spawn>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`${what} exited with ${proc.exitCode}`);
    const open = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {}, error() {} } }).then(
      (s) => {
        s.terminate();
        return true;
      },
      () => false,
    );
    if (open) return;
    await Bun.sleep(20);
  }
  throw new Error(`${what} did not listen on 127.0.0.1:${port}`);
}

/** Child process ids of `pid` (socat's per-connection forks). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

/** Starts stunnel or socat on a free port, forwarding TLS connections to `target` ("host:port"). */
export async function startTerminator(
  kind: TerminatorKind,
  target: string,
  files: TerminatorFiles,
): Promise<Terminator> {
  const binary = paths[kind];
  if (binary === null) throw new Error(`${kind} is not installed`);
  const dir = mkdtempSync(join(tmpdir(), `gearbun-${kind}-`));
  const logFile = join(dir, `${kind}.log`);
  const port = freePort();
  let proc: ReturnType<typeof Bun.spawn> | null = null;

  const command = (): string[] => {
    if (kind === "socat") {
      return [
        binary,
        "-d",
        "-lf",
        logFile,
        `OPENSSL-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork,cert=${files.certFile},key=${files.keyFile},cafile=${files.caFile},verify=1`,
        `TCP:${target}`,
      ];
    }
    const config = join(dir, "stunnel.conf");
    writeFileSync(
      config,
      [
        "foreground = yes",
        "pid =",
        `output = ${logFile}`,
        "debug = notice",
        "[gearman]",
        `accept = 127.0.0.1:${port}`,
        `connect = ${target}`,
        `cert = ${files.certFile}`,
        `key = ${files.keyFile}`,
        `CAfile = ${files.caFile}`,
        "verifyChain = yes",
        "requireCert = yes",
        "",
      ].join("\n"),
    );
    return [binary, config];
  };

  const launch = async (): Promise<void> => {
    proc = Bun.spawn(command(), { stdout: "ignore", stderr: "ignore", stdin: "ignore" });
    await waitListening(port, proc, kind);
  };

  const end = async (signal: "SIGTERM" | "SIGKILL"): Promise<void> => {
    const p = proc;
    if (p === null || p.exitCode !== null || p.signalCode !== null) return;
    const children = childrenOf(p.pid);
    p.kill(signal);
    for (const child of children) {
      try {
        process.kill(child, signal);
      } catch {
        // Already gone.
      }
    }
    const timer = setTimeout(() => p.kill("SIGKILL"), 2000);
    await p.exited;
    clearTimeout(timer);
  };

  const signalAll = (signal: "SIGSTOP" | "SIGCONT"): void => {
    const p = proc;
    if (p === null || p.exitCode !== null || p.signalCode !== null) return;
    for (const pid of [p.pid, ...childrenOf(p.pid)]) {
      try {
        process.kill(pid, signal);
      } catch {
        // Already gone.
      }
    }
  };

  await launch();
  const stop = async (): Promise<void> => {
    // A stopped process would not act on SIGTERM.
    signalAll("SIGCONT");
    await end("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    kind,
    port,
    address: `127.0.0.1:${port}`,
    kill: () => end("SIGKILL"),
    restart: launch,
    pause: () => signalAll("SIGSTOP"),
    resume: () => signalAll("SIGCONT"),
    stop,
    log: () => {
      try {
        return readFileSync(logFile, "utf8");
      } catch {
        return "";
      }
    },
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * CPU pinning of the benchmark's processes (`--pin off|same|split`): the worker, client
 * and scale rows.
 *
 * On a small machine the one-job-at-a-time rows measure where the scheduler puts the processes
 * more than the code: a worker that shares gearmand's CPU hands each job over without a
 * cross-CPU wake-up (several times cheaper per job), and unpinned that placement differs from
 * run to run and from peer to peer. Pinning makes it the same for every peer:
 * - `split`: the worker processes on one CPU, the job server(s) and the load generator on another
 *   (workers and servers on separate cores is the production shape);
 * - `same`: every process of a row on one CPU (the cheapest handover, nothing runs in parallel);
 * - `off`: wherever the scheduler puts them.
 *
 * A new process is pinned by spawning it through `taskset -c N` (taskset execs the command, so the
 * PID is the process's own); one already running (gearmand, started by the shared test helper)
 * with `taskset -a -p -c N PID`, which sets every thread it has (its later threads inherit it).
 */
import { readdirSync, readFileSync } from "node:fs";

export type PinMode = "off" | "same" | "split";
export const PIN_MODES: readonly PinMode[] = ["off", "same", "split"];
/** @default "split" */
export const DEFAULT_PIN: PinMode = "split";

/** Which process of a row: the job server(s), the worker processes, the load generator. */
export type PinRole = "server" | "worker" | "loadgen";

export interface Pinning {
  /** What `--pin` asked for. */
  readonly requested: PinMode;
  /** What the run does: `off` when taskset or a second CPU is missing. */
  readonly mode: PinMode;
  /** Why `mode` differs from `requested`, else null. */
  readonly fallback: string | null;
  /** The CPU of each role, null when not pinned. */
  cpu(role: PinRole): number | null;
  /** `taskset -c N` for a role's new process, or nothing. */
  prefix(role: PinRole): string[];
  /** Pins a running process (every thread) to its role's CPU; nothing when not pinned. */
  pinRunning(pid: number, role: PinRole): void;
  /** One line for notes and titles, e.g. "split: worker processes on CPU 1, job servers and load generator on CPU 0". */
  describe(): string;
}

/**
 * The CPUs a process or thread may run on (`Cpus_allowed_list` of /proc/WHERE/status, e.g. "0-1,4"),
 * or null; `where`: "self", a PID, or "PID/task/TID".
 */
export function allowedCpus(where: string | number = "self"): number[] | null {
  try {
    const m = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${where}/status`, "utf8"));
    return m ? parseCpuList(m[1]!) : null;
  } catch {
    return null;
  }
}

/** "0-2,5" → [0, 1, 2, 5]. */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(",")) {
    const [a, b] = part.split("-").map(Number);
    if (a === undefined || !Number.isInteger(a)) continue;
    const end = b !== undefined && Number.isInteger(b) ? b : a;
    for (let c = a; c <= end; c++) out.push(c);
  }
  return out;
}

/**
 * The pinning a run gets for `requested`: the first two CPUs this process may use, through
 * taskset; `off` with the reason when taskset is not installed or fewer than 2 CPUs are allowed.
 */
export function resolvePinning(
  requested: PinMode,
  env: { taskset: string | null; cpus: readonly number[] | null } = {
    taskset: Bun.which("taskset"),
    cpus: allowedCpus(),
  },
): Pinning {
  let fallback: string | null = null;
  if (requested !== "off") {
    if (env.taskset === null) fallback = "taskset (util-linux) is not installed";
    else if (env.cpus === null || env.cpus.length < 2)
      fallback = `fewer than 2 CPUs (${env.cpus?.length ?? "unknown"})`;
  }
  const mode: PinMode = fallback === null ? requested : "off";
  const [first = 0, second = 1] = env.cpus ?? [];
  const cpu = (role: PinRole): number | null =>
    mode === "off" ? null : mode === "same" || role !== "worker" ? first : second;
  return {
    requested,
    mode,
    fallback,
    cpu,
    prefix: (role) => {
      const n = cpu(role);
      return n === null ? [] : [env.taskset!, "-c", String(n)];
    },
    pinRunning: (pid, role) => {
      const n = cpu(role);
      if (n === null) return;
      const r = Bun.spawnSync([env.taskset!, "-a", "-p", "-c", String(n), String(pid)], {
        stdout: "ignore",
        stderr: "pipe",
      });
      if (r.exitCode !== 0) throw new Error(`taskset -a -p -c ${n} ${pid} failed: ${r.stderr.toString().trim()}`);
    },
    describe: () => {
      if (mode === "off") return fallback === null ? "off: not pinned" : `off (${requested} asked; ${fallback})`;
      if (mode === "same") return `same: every process of a row on CPU ${first}`;
      return `split: worker processes on CPU ${second}, job servers and load generator on CPU ${first}`;
    },
  };
}

/**
 * Throws unless every thread of each process may run on `cpu` only: a pinning that silently did
 * not happen would make the rows measure the scheduler again.
 */
export function assertPinned(pids: readonly number[], cpu: number | null, what: string): void {
  if (cpu === null) return;
  for (const pid of pids) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue; // exited: the caller's liveness check says so
    }
    for (const tid of tids) {
      const cpus = allowedCpus(`${pid}/task/${tid}`);
      if (cpus !== null && (cpus.length !== 1 || cpus[0] !== cpu)) {
        throw new Error(`${what} pid ${pid} thread ${tid} may run on CPUs ${cpus.join(",")}, not only CPU ${cpu}`);
      }
    }
  }
}

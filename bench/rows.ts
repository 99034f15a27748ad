/**
 * What every benchmark section reports: the row, its spreads and the throughput run's result; the
 * statistics rows are made of (median, spread, number format); and the two ways a row is built
 * from its runs (the measured figures, or a failure that says why).
 */
import type { LoadgenId } from "./loadgens.ts";
import type { ThroughputOptions } from "./options.ts";

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface Row {
  /** "pool": bench/pool.ts's rows (gearbun worker's supervisor and its scaling); "server": bench/server-ref.ts's; "scale": bench/scale.ts's; "tls": bench/tls.ts's. */
  readonly section: "worker" | "client" | "pool" | "server" | "scale" | "tls" | "burst" | "gateway" | "gray" | "idle";
  readonly caseId: string;
  readonly caseTitle: string;
  /** Worker peer id (worker section) or load generator id (client section). */
  readonly peerId: string;
  readonly label: string;
  readonly bytes: number;
  readonly jobs: number;
  readonly status: "ok" | "failed" | "skipped";
  readonly note?: string;
  readonly jobsPerSecond?: Spread;
  /** Worker processes' CPU per job (worker section) or the load generator's (client section), µs. */
  readonly cpuUsPerJob?: number;
  /** Worker section: the worker processes' CPU per job; client section: the C workers'. */
  readonly workerCpuUsPerJob?: number;
  readonly workerPeakRssKb?: number;
  readonly serverCpuUsPerJob?: number;
  readonly serverCpuSpread?: Spread;
  /** Pool rows: the supervisor process's CPU per job, µs (included in `cpuUsPerJob`). */
  readonly supervisorCpuUsPerJob?: number;
  /** Server CPU time over wall time in the measured runs (1 = one core busy). */
  readonly serverCores?: number;
  /** Burst rows (bench/burst.ts): seconds from the first submit to the last JOB_CREATED. */
  readonly burstSeconds?: Spread;
  /** Burst rows: the load generator's peak RSS, and its RSS when the clock started, KiB. */
  readonly clientPeakRssKb?: number;
  readonly clientStartRssKb?: number;
  /** Burst rows, gearbun: RSS growth from the start to the end of the submit loop (all pending), bytes per submit. */
  readonly pendingRssBytesPerSubmit?: number;
  /** Burst rows: peak RSS growth over the start, bytes per submit. */
  readonly peakRssBytesPerSubmit?: number;
  /** Worker and scale rows: the worker processes' user and kernel CPU per job, µs (clock ticks over all measured runs). */
  readonly workerUserUsPerJob?: number;
  readonly workerSysUsPerJob?: number;
  /** Scale rows: the worker processes' JIT compiler threads' CPU per job, µs (part of the workers' CPU). */
  readonly workerJitUsPerJob?: number;
  /** Worker, client and scale rows: how the row's processes were pinned (bench/pin.ts `describe()`). */
  readonly pin?: string;
  /** Scale rows, gearbun workers: packets per job by packet name, as the worker counted them. */
  readonly packetsPerJob?: { readonly received: Record<string, number>; readonly sent: Record<string, number> };
  /** Gateway rows (bench/gateway.ts): concurrent HTTP requests (or submits), and latency percentiles, ms. */
  readonly concurrency?: number;
  readonly latencyMs?: { readonly p50: number; readonly p99: number };
  /** Gray worker rows (bench/gray.ts): jobs/s taken from the healthy server, the longest stretch of the freeze without one (ms), and whether the frozen server served again after SIGCONT. */
  readonly gray?: {
    readonly before: number;
    readonly duringMin: number;
    readonly duringMean: number;
    readonly after: number;
    readonly longestGapMs: number;
    readonly resumedServes: boolean;
  };
  /** Gray client rows: the submits started during the freeze, how many failed, and their latency (ms). */
  readonly grayClient?: {
    readonly submits: number;
    readonly failed: number;
    readonly p50: number;
    readonly p99: number;
    readonly max: number;
  };
  /** Idle rows (bench/idle.ts): the seconds measured and the process's CPU over them, ms. */
  readonly idleSeconds?: number;
  readonly idleCpuMs?: number;
  /** Ratios to the baseline row of the same case (libgearman; pool rows: the case's first row): jobs/s and CPU per job. */
  ratio?: { jobsPerSecond: number; cpu: number };
}

export interface ThroughputResult {
  rows: Row[];
  loadgen: LoadgenId;
  runs: number;
  notes: string[];
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
export const spread = (xs: number[]): Spread => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });
export const fmt = (n: number): string => Math.round(n).toLocaleString("en");

/** A row that could not be measured: the progress line and the row's note say why. */
export function failedRow(
  head: Omit<Row, "status">,
  error: unknown,
  progress: ThroughputOptions["progress"],
  what: string,
): Row {
  const message = error instanceof Error ? error.message : String(error);
  progress(`${what} · FAILED: ${message.split("\n")[0]}`, true);
  return { ...head, status: "failed", note: message.replace(/\s+/g, " ").slice(0, 300) };
}

export interface Measured {
  jobsPerSecond: number;
  workerCpuNs: number;
  serverCpuNs: number;
  wallMs: number;
}

/** A row's figures from its measured runs: medians per job, the spread of jobs/s, server cores. */
export function runFigures(
  runs: readonly Measured[],
  jobs: number,
): Pick<Row, "jobsPerSecond" | "workerCpuUsPerJob" | "serverCpuUsPerJob" | "serverCores"> {
  const wallSum = runs.reduce((s, m) => s + m.wallMs, 0);
  return {
    jobsPerSecond: spread(runs.map((m) => m.jobsPerSecond)),
    workerCpuUsPerJob: median(runs.map((m) => m.workerCpuNs / 1000 / jobs)),
    serverCpuUsPerJob: median(runs.map((m) => m.serverCpuNs / 1000 / jobs)),
    serverCores: runs.reduce((s, m) => s + m.serverCpuNs, 0) / 1e6 / wallSum,
  };
}

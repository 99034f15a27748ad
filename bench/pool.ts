/**
 * The worker pool's rows: `gearbun worker` (the supervisor and its child processes) draining a
 * background queue on one gearmand.
 *
 * - pool-cpu: a CPU-heavy handler (a hash loop calibrated once to ~0.5 ms of CPU per job),
 *   `--processes 1` vs `--processes 2`: on a machine with two cores or more, the second process
 *   should nearly double jobs/s (target ≥ 1.7×).
 * - pool-light: 16 B echo jobs, a pool of 1 vs a plain Worker process (bench/peers/gearbun-worker.ts)
 *   with the same handler: what the supervisor itself costs (target: jobs/s and CPU per job within 5 %).
 *
 * Each row has its own gearmand and workers, registered before anything is measured; a case's
 * rows run interleaved (run 1 of each row, then run 2…). Per run: the worker processes are paused
 * (SIGSTOP), the queue filled with background jobs, the workers resumed and timed until gearmand
 * reports the queue empty. CPU per job counts every process of
 * the row (supervisor and children); the supervisor's share is shown on its own. The pool runs
 * with `--log off`, its default when nothing reads the job lines.
 */
import { join } from "node:path";
import { BURN_ITERATIONS_ENV, calibrateBurn } from "./peers/burn.ts";
import {
  haveGearmandBinary,
  installCleanup,
  PEERS_DIR,
  ROOT,
  spawnPeer,
  startJobServer,
  StatusPoller,
  stopAll,
  type JobServer,
  type Peer,
} from "./support.ts";
import { childPids, cpuDeltaNs, cpuSnapshot, peakRssKb } from "./proc.ts";
import { runLoadgens } from "./loadgens.ts";
import type { ThroughputOptions } from "./options.ts";
import { failedRow, fmt, type Measured, median, type Row, runFigures } from "./rows.ts";

const BUN = process.execPath;
const CLI = join(ROOT, "src", "cli", "main.ts");
const HANDLERS = join(PEERS_DIR, "pool-handlers.ts");
/** CPU the heavy handler spends per job. */
export const BURN_US = 500;

/** One way of running the workers: a pool of N, or a plain Worker process. */
export interface PoolVariant {
  readonly id: string;
  readonly label: string;
  /** Worker processes that register (children of a pool, or the plain process itself). */
  readonly workers: number;
  /** A supervisor whose children are the workers (false: the process is the worker). */
  readonly supervised: boolean;
  command(server: string): string[];
}

export interface PoolCase {
  readonly id: string;
  readonly title: string;
  readonly fn: "burn" | "light";
  readonly jobs: number;
  /** The first variant is the baseline of the ratios. */
  readonly variants: readonly PoolVariant[];
  /** Whether the second row meets the target, in words, from the two rows. */
  verdict(base: Row, other: Row): string;
}

const pool = (processes: number): PoolVariant => ({
  id: `pool-${processes}`,
  label: `gearbun worker --processes ${processes}`,
  workers: processes,
  supervised: true,
  command: (server) => [
    BUN,
    CLI,
    "worker",
    HANDLERS,
    "--servers",
    server,
    "--processes",
    String(processes),
    "--log",
    "off",
  ],
});

/** A pool of 1 serving /metrics: children count every job and report over IPC each second. */
const poolWithMetrics: PoolVariant = {
  ...pool(1),
  id: "pool-1-metrics",
  label: "gearbun worker --processes 1 --metrics 127.0.0.1:0",
  command: (server) => [...pool(1).command(server), "--metrics", "127.0.0.1:0"],
};

const plainWorker: PoolVariant = {
  id: "plain-worker",
  label: "plain Worker process (no supervisor)",
  workers: 1,
  supervised: false,
  command: (server) => [BUN, join(PEERS_DIR, "gearbun-worker.ts"), "--servers", server, "--fn", "light"],
};

const pct = (x: number): string => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)} %`;

export function poolCases(quick: boolean): PoolCase[] {
  const q = <T>(full: T, short: T): T => (quick ? short : full);
  return [
    {
      id: "pool-cpu",
      title: `CPU-heavy handler (~${BURN_US} µs of CPU per job), background queue, 1 gearmand: 1 vs 2 processes`,
      fn: "burn",
      jobs: q(20_000, 1_000),
      variants: [pool(1), pool(2)],
      verdict: (base, other) => {
        const r = (other.jobsPerSecond?.median ?? 0) / (base.jobsPerSecond?.median ?? Number.NaN);
        return `2 processes: ${r.toFixed(2)}× the jobs/s of 1 (target ≥ 1.70×: ${r >= 1.7 ? "met" : "MISSED"})`;
      },
    },
    {
      id: "pool-light",
      title: "16 B echo jobs, background queue, 1 gearmand: the supervisor's cost (pool of 1 vs a plain Worker)",
      fn: "light",
      jobs: q(100_000, 5_000),
      variants: [plainWorker, pool(1)],
      // The supervisor may cost up to 5 %; a pool that comes out ahead is within the target too.
      verdict: (base, other) => {
        const speed = (other.jobsPerSecond?.median ?? 0) / (base.jobsPerSecond?.median ?? Number.NaN) - 1;
        const cpu = (other.cpuUsPerJob ?? Number.NaN) / (base.cpuUsPerJob ?? Number.NaN) - 1;
        const met = speed >= -0.05 && cpu <= 0.05;
        return `pool of 1 vs plain Worker: jobs/s ${pct(speed)}, CPU per job ${pct(cpu)} (target: at most 5 % fewer jobs/s and 5 % more CPU: ${met ? "met" : "MISSED"})`;
      },
    },
    {
      id: "pool-metrics",
      title: "16 B echo jobs, background queue, 1 gearmand: a pool of 1 with --metrics vs without (nobody scrapes)",
      fn: "light",
      jobs: q(100_000, 5_000),
      variants: [pool(1), poolWithMetrics],
      verdict: (base, other) => {
        const speed = (other.jobsPerSecond?.median ?? 0) / (base.jobsPerSecond?.median ?? Number.NaN) - 1;
        const cpu = (other.cpuUsPerJob ?? Number.NaN) / (base.cpuUsPerJob ?? Number.NaN) - 1;
        const met = speed >= -0.05 && cpu <= 0.05;
        return `metrics on vs off: jobs/s ${pct(speed)}, CPU per job ${pct(cpu)} (target: within noise, 5 %: ${met ? "met" : "MISSED"})`;
      },
    },
  ];
}

/** The unmeasured first run: a tenth of a run, at least 200 jobs. */
const warmupJobs = (jobs: number): number => Math.min(jobs, Math.max(Math.ceil(jobs / 10), 200));
/** Generous time for one fill or drain: 5 ms per job at worst, plus start-up. */
const runTimeout = (jobs: number): number => 30_000 + jobs * 5;

interface PoolMeasured extends Measured {
  /** The supervisor's CPU (0 for a plain Worker process). */
  supervisorCpuNs: number;
}

/** The processes that register as workers: the children of a supervisor, or the process itself. */
const workerPids = (variant: PoolVariant, peer: Peer): number[] =>
  variant.supervised ? childPids(peer.pid) : [peer.pid];

const gone = (peer: Peer, pids: readonly number[]) => (): string | null => {
  if (peer.proc.exitCode !== null || peer.proc.signalCode !== null) {
    return `${peer.name} (pid ${peer.pid}) exited (${peer.proc.exitCode ?? peer.proc.signalCode}): ${peer.stderr().slice(-800)}`;
  }
  const now = childPids(peer.pid);
  if (pids.length > 0 && pids.some((p) => !now.includes(p) && p !== peer.pid)) {
    return `a worker process of ${peer.name} died (children were ${pids.join(", ")}, now ${now.join(", ")}): ${peer.stderr().slice(-800)}`;
  }
  return null;
};

async function drain(
  kase: PoolCase,
  server: JobServer,
  poller: StatusPoller,
  peer: Peer,
  workers: readonly number[],
  jobs: number,
): Promise<PoolMeasured> {
  for (const pid of workers) process.kill(pid, "SIGSTOP");
  try {
    await runLoadgens("gearbun", null, [server.address], jobs, 16, 1000, true, runTimeout(jobs), kase.fn);
    const queued = await poller.read(kase.fn);
    if (queued.total < jobs) throw new Error(`only ${queued.total} of ${jobs} jobs queued before the workers resumed`);
  } catch (error) {
    for (const pid of workers) process.kill(pid, "SIGCONT");
    throw error;
  }
  const supervisor = workers.includes(peer.pid) ? null : peer.pid;
  const sBefore = cpuSnapshot(server.pid);
  const supBefore = supervisor === null ? null : cpuSnapshot(supervisor);
  const wBefore = workers.map((p) => cpuSnapshot(p));
  const t0 = performance.now();
  for (const pid of workers) process.kill(pid, "SIGCONT");
  const t1 = await poller.waitDrained(kase.fn, runTimeout(jobs), gone(peer, workers));
  return {
    jobsPerSecond: (jobs * 1000) / (t1 - t0),
    workerCpuNs: workers.reduce((sum, p, i) => sum + cpuDeltaNs(wBefore[i]!, cpuSnapshot(p)), 0),
    supervisorCpuNs: supervisor === null ? 0 : cpuDeltaNs(supBefore!, cpuSnapshot(supervisor)),
    serverCpuNs: cpuDeltaNs(sBefore, cpuSnapshot(server.pid)),
    wallMs: t1 - t0,
  };
}

/** One variant of a case, started: its gearmand, its processes, its runs so far. */
interface Live {
  readonly variant: PoolVariant;
  readonly head: Omit<Row, "status">;
  server: JobServer | null;
  poller: StatusPoller | null;
  peer: Peer | null;
  workers: number[];
  readonly runs: PoolMeasured[];
  error: unknown;
}

async function setUp(live: Live, kase: PoolCase, env: Record<string, string>): Promise<void> {
  const server = await startJobServer("gearmand");
  live.server = server;
  live.poller = new StatusPoller([server.address]);
  const peer = spawnPeer(live.variant.id, live.variant.command(server.address), env);
  live.peer = peer;
  await live.poller.waitWorkers(kase.fn, live.variant.workers, 30_000, gone(peer, []));
  live.workers = workerPids(live.variant, peer);
  if (live.workers.length !== live.variant.workers) {
    throw new Error(
      `${live.variant.workers} worker processes expected, found ${live.workers.length} (${live.workers.join(", ")})`,
    );
  }
}

/** The variant's row from its runs; stops its processes (their exit code is part of the row). */
async function finish(live: Live, jobs: number, opts: ThroughputOptions, what: string): Promise<Row> {
  if (live.error !== null) return failedRow(live.head, live.error, opts.progress, what);
  const { runs, workers, peer } = live;
  const rss = Math.max(...workers.map((p) => peakRssKb(p)));
  const code = await peer!.stop(10_000);
  const row: Row = {
    ...live.head,
    status: "ok",
    ...(code !== 0 ? { note: `exit code ${code} when stopped` } : {}),
    ...runFigures(runs, jobs),
    cpuUsPerJob: median(runs.map((m) => (m.workerCpuNs + m.supervisorCpuNs) / 1000 / jobs)),
    ...(live.variant.supervised
      ? { supervisorCpuUsPerJob: median(runs.map((m) => m.supervisorCpuNs / 1000 / jobs)) }
      : {}),
    workerPeakRssKb: rss,
  };
  opts.progress(`${what} · ${fmt(row.jobsPerSecond!.median)} jobs/s`, true);
  return row;
}

/**
 * A case's rows: every variant started (each on its own gearmand), warmed up, then the runs
 * interleaved — run 1 of each variant, run 2 of each… — so a slow spell of a shared machine
 * falls on all of them rather than on one row.
 */
async function caseRows(
  kase: PoolCase,
  env: Record<string, string>,
  opts: ThroughputOptions,
  step: (variant: PoolVariant) => string,
): Promise<Row[]> {
  const jobs = opts.jobsOverride ?? kase.jobs;
  const lives: Live[] = kase.variants.map((variant) => ({
    variant,
    head: {
      section: "pool",
      caseId: kase.id,
      caseTitle: kase.title,
      peerId: variant.id,
      label: variant.label,
      bytes: 16,
      jobs,
    },
    server: null,
    poller: null,
    peer: null,
    workers: [],
    runs: [],
    error: null,
  }));
  const what = (live: Live): string => `${step(live.variant)} ${kase.id} · ${live.variant.label}`;
  /** Runs `f` for each variant that has not failed; a failure is kept for its row. */
  const each = async (label: (live: Live) => string, f: (live: Live) => Promise<void>): Promise<void> => {
    for (const live of lives) {
      if (live.error !== null) continue;
      opts.progress(`${what(live)} · ${label(live)}`);
      try {
        await f(live);
      } catch (error) {
        live.error = error;
      }
    }
  };
  const drainOnce = (live: Live, n: number): Promise<PoolMeasured> =>
    drain(kase, live.server!, live.poller!, live.peer!, live.workers, n);
  try {
    await each(
      () => "starting",
      (live) => setUp(live, kase, env),
    );
    const warmup = warmupJobs(jobs);
    await each(
      () => `warm-up (${fmt(warmup)} jobs)`,
      async (live) => void (await drainOnce(live, warmup)),
    );
    for (let r = 1; r <= opts.runs; r++) {
      await each(
        (live) =>
          `run ${r}/${opts.runs} (${fmt(jobs)} jobs)${live.runs.length ? ` · last ${fmt(live.runs.at(-1)!.jobsPerSecond)} jobs/s` : ""}`,
        async (live) => void live.runs.push(await drainOnce(live, jobs)),
      );
    }
    const rows: Row[] = [];
    for (const live of lives) rows.push(await finish(live, jobs, opts, what(live)));
    return rows;
  } finally {
    for (const live of lives) {
      await live.peer?.stop(5000);
      await live.poller?.close();
      await live.server?.stop();
    }
  }
}

/** The pool rows the options select (`--case pool-cpu,pool-light`, `--peer pool-2,...`). */
export function poolPlan(opts: Pick<ThroughputOptions, "quick" | "caseFilter" | "peerFilter">): PoolCase[] {
  return poolCases(opts.quick)
    .filter((k) => opts.caseFilter === null || opts.caseFilter.includes(k.id) || opts.caseFilter.includes("pool"))
    .map((k) => ({
      ...k,
      variants: k.variants.filter((v) => opts.peerFilter === null || opts.peerFilter.includes(v.id)),
    }))
    .filter((k) => k.variants.length > 0);
}

/** Runs the selected pool rows; never throws for a failing row (the row says why). */
export async function runPool(opts: ThroughputOptions): Promise<{ rows: Row[]; notes: string[] }> {
  installCleanup();
  const plan = poolPlan(opts);
  const total = plan.reduce((n, k) => n + k.variants.length, 0);
  if (opts.dryRun) {
    for (const kase of plan) {
      const jobs = opts.jobsOverride ?? kase.jobs;
      for (const v of kase.variants) {
        opts.log(
          `${kase.id.padEnd(16)} ${v.id.padEnd(16)} ${fmt(jobs).padStart(8)} jobs/run × ${opts.runs} + warm-up ${fmt(warmupJobs(jobs))}`,
        );
      }
    }
    opts.log(`${total} pool rows`);
    return { rows: [], notes: [] };
  }
  if (total === 0) return { rows: [], notes: [] };
  if (!haveGearmandBinary()) {
    opts.log("SKIP pool rows: gearmand is not installed (apt-get install gearman-job-server)");
    return { rows: [], notes: ["gearmand is not installed: no pool figures"] };
  }
  const notes: string[] = [];
  const env: Record<string, string> = {};
  if (plan.some((k) => k.fn === "burn")) {
    opts.progress("pool: calibrating the CPU-heavy handler…");
    const iterations = calibrateBurn(BURN_US);
    env[BURN_ITERATIONS_ENV] = String(iterations);
    notes.push(
      `pool-cpu: the hash loop runs ${fmt(iterations)} rounds per job (calibrated to ${BURN_US} µs of CPU here)`,
    );
    if (navigator.hardwareConcurrency < 2) notes.push("pool-cpu: this machine has one core: 2 processes cannot scale");
  }
  const rows: Row[] = [];
  let done = 0;
  try {
    for (const kase of plan) {
      const first = done;
      const step = (v: PoolVariant): string => `[pool ${first + kase.variants.indexOf(v) + 1}/${total}]`;
      rows.push(...withVerdict(kase, await caseRows(kase, env, opts, step)));
      done += kase.variants.length;
    }
  } finally {
    await stopAll();
  }
  return { rows, notes };
}

/** Ratios to the case's first row; the last row's note says whether the target is met. */
function withVerdict(kase: PoolCase, rows: Row[]): Row[] {
  const base = rows[0];
  if (base?.jobsPerSecond === undefined || kase.variants[0]?.id !== base.peerId) return rows;
  return rows.map((r, i) => {
    if (i === 0 || r.jobsPerSecond === undefined) return r;
    const ratio = {
      jobsPerSecond: r.jobsPerSecond.median / base.jobsPerSecond!.median,
      cpu: (r.cpuUsPerJob ?? Number.NaN) / (base.cpuUsPerJob ?? Number.NaN),
    };
    const verdict = kase.verdict(base, r);
    return { ...r, ratio, note: r.note === undefined ? verdict : `${r.note}; ${verdict}` };
  });
}

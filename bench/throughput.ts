/**
 * End-to-end throughput: echo workers side by side on the same job server in the same run.
 *
 *   bun bench/throughput.ts [--quick] [--runs 3] [--loadgen c|gearbun] [--case ID,...] [--peer ID,...]
 *                           [--jobs N] [--no-mss-shim] [--dry-run] [--pin off|same|split]
 *
 * Every row starts fresh job server(s) and fresh worker process(es), pins them (`--pin`, bench/pin.ts;
 * default split: the worker processes on one CPU, the job servers and the load generator on the
 * other), waits until the workers are registered, warms up (a tenth of a run, then up to 10,000
 * jobs in all within 3 s, since a fresh Bun worker keeps getting cheaper per job for its first
 * several thousand jobs), then `runs` measured runs:
 * - foreground ("fg") rows: one load generator per server keeps its share of the in-flight window
 *   full until its jobs are done; jobs/s is jobs over the slowest generator's own clock;
 * - background ("drain") rows: the workers are paused (SIGSTOP), the queue is filled with
 *   background jobs, the workers resumed (SIGCONT); jobs/s is jobs over the time until the
 *   servers report the function's queue empty. Only the worker and the server work then.
 * CPU is read from /proc (every thread's schedstat) of the worker process(es) and of the server
 * process before and after each measured run; peak RSS is VmHWM of each worker process. When the
 * workers stop, each reports how many jobs it did: the sum must equal the jobs submitted.
 * The libgearman client (bench/peers/submitter.c) is the one load generator of the worker rows;
 * the "client" section swaps it for gearbun's client, with the same C worker.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { assertPinned, DEFAULT_PIN, PIN_MODES, type PinMode, type Pinning, resolvePinning } from "./pin.ts";
import {
  buildCPeers,
  buildMssShim,
  cpuDeltaNs,
  cpuSnapshot,
  haveGearmandBinary,
  installCleanup,
  PEERS_DIR,
  peakRssKb,
  spawnPeer,
  startJobServer,
  StatusPoller,
  stopAll,
  type CPeers,
  type JobServer,
  type Peer,
  type Target,
  userSysMeter,
} from "./support.ts";
import { moreWarmupJobs } from "./warmup.ts";

const FN = "echo";
/** The Bun running this benchmark runs the Bun peers too. */
const BUN = process.execPath;
const KiB = 1024;
const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Peers (workers) and load generators

export interface WorkerPeer {
  readonly id: string;
  readonly label: string;
  /** A Node library worker: slow, so its rows use the case's smaller job count. */
  readonly slow: boolean;
  command(servers: readonly string[]): string[];
}

function npmPeer(lib: string, runtime: "node" | "bun", concurrency?: number): WorkerPeer {
  const runtimeLabel = runtime === "node" ? "Node" : "Bun";
  return {
    id: `${lib}-${runtime}`,
    label: `${lib} (${runtimeLabel}${concurrency !== undefined ? `, maxJobs ${concurrency}` : ""})`,
    slow: true,
    command: (servers) => [
      runtime === "bun" ? BUN : runtime,
      join(PEERS_DIR, `${lib}-worker.mjs`),
      "--servers",
      servers.join(","),
      "--fn",
      FN,
      ...(concurrency !== undefined ? ["--concurrency", String(concurrency)] : []),
    ],
  };
}

function gearbunPeer(concurrency: number): WorkerPeer {
  return {
    id: `gearbun-c${concurrency}`,
    label: `gearbun (concurrency ${concurrency})`,
    slow: false,
    command: (servers) => [
      BUN,
      join(PEERS_DIR, "gearbun-worker.ts"),
      "--servers",
      servers.join(","),
      "--fn",
      FN,
      "--concurrency",
      String(concurrency),
    ],
  };
}

function peerTable(c: CPeers | null): Map<string, WorkerPeer> {
  const peers: WorkerPeer[] = [];
  if (c !== null) {
    peers.push({
      id: "c",
      label: "libgearman C",
      slow: false,
      command: (servers) => [c.worker, "-s", servers.join(","), "-f", FN],
    });
  }
  peers.push(gearbunPeer(1), gearbunPeer(16));
  const node = Bun.which("node") !== null;
  for (const runtime of node ? (["node", "bun"] as const) : (["bun"] as const)) {
    peers.push(npmPeer("abraxas", runtime, 16), npmPeer("gearmanode", runtime), npmPeer("gearman", runtime));
  }
  return new Map(peers.map((p) => [p.id, p]));
}

/** "bun-floor": bench/peers/floor-submitter.ts, the least a Bun client can do (foreground, one server). */
export type LoadgenId = "c" | "gearbun" | "bun-floor";

export interface LoadgenRun {
  jobs: number;
  ok: number;
  failed: number;
  elapsed_ms: number;
  cpu_us: number;
  maxrss_kb: number;
}

function loadgenCommand(
  id: LoadgenId,
  c: CPeers | null,
  server: string,
  jobs: number,
  bytes: number,
  window: number,
  background: boolean,
  fn: string,
  warmup: number,
): string[] {
  // The Bun load generators run `warmup` jobs in the same process before their clock starts: a
  // client lives long in production, and a fresh process would measure its JIT warming up.
  const warm = warmup > 0 ? ["--warmup", String(warmup)] : [];
  if (id === "c") {
    if (c === null) throw new Error("the libgearman load generator is not built");
    return [
      c.submitter,
      "-s",
      server,
      "-f",
      fn,
      "-n",
      String(jobs),
      "-p",
      String(bytes),
      "-w",
      String(window),
      ...(background ? ["-b"] : []),
    ];
  }
  if (id === "bun-floor") {
    if (background) throw new Error("the Bun floor client submits foreground jobs only");
    return [
      BUN,
      join(PEERS_DIR, "floor-submitter.ts"),
      "--servers",
      server,
      "--fn",
      fn,
      "--jobs",
      String(jobs),
      "--bytes",
      String(bytes),
      "--window",
      String(window),
      ...warm,
    ];
  }
  return [
    BUN,
    join(PEERS_DIR, "gearbun-submitter.ts"),
    "--servers",
    server,
    "--fn",
    fn,
    "--jobs",
    String(jobs),
    "--bytes",
    String(bytes),
    "--window",
    String(window),
    ...(background ? ["--background"] : []),
    ...warm,
  ];
}

/**
 * Runs one load generator per server concurrently (jobs and window split evenly); all must succeed.
 * `prefix` goes before each command (e.g. `taskset -c 0`).
 */
export async function runLoadgens(
  id: LoadgenId,
  c: CPeers | null,
  servers: readonly string[],
  jobs: number,
  bytes: number,
  window: number,
  background: boolean,
  timeoutMs: number,
  fn: string = FN,
  prefix: readonly string[] = [],
  warmup = 0,
): Promise<LoadgenRun> {
  const n = servers.length;
  const gens = servers.map((server, i) => {
    const share = Math.floor(jobs / n) + (i < jobs % n ? 1 : 0);
    const w = Math.max(1, Math.floor(window / n));
    return spawnPeer(`loadgen-${id}`, [
      ...prefix,
      ...loadgenCommand(id, c, server, share, bytes, w, background, fn, warmup),
    ]);
  });
  const timer = setTimeout(() => {
    for (const g of gens) g.proc.kill("SIGKILL");
  }, timeoutMs);
  try {
    const codes = await Promise.all(gens.map((g) => g.proc.exited));
    const reports = await Promise.all(gens.map((g) => g.firstJson(1000)));
    const sum: LoadgenRun = { jobs: 0, ok: 0, failed: 0, elapsed_ms: 0, cpu_us: 0, maxrss_kb: 0 };
    for (let i = 0; i < gens.length; i++) {
      const r = reports[i] as Partial<LoadgenRun> | null;
      const g = gens[i]!;
      if (r === null || codes[i] !== 0 || r.ok !== r.jobs) {
        const why = g.proc.signalCode === "SIGKILL" ? `timed out after ${timeoutMs} ms` : `exit ${codes[i]}`;
        throw new Error(`load generator ${id} failed (${why}): ${JSON.stringify(r)} ${g.stderr().slice(-800)}`);
      }
      sum.jobs += r.jobs ?? 0;
      sum.ok += r.ok ?? 0;
      sum.failed += r.failed ?? 0;
      sum.elapsed_ms = Math.max(sum.elapsed_ms, r.elapsed_ms ?? 0);
      sum.cpu_us += r.cpu_us ?? 0;
      sum.maxrss_kb = Math.max(sum.maxrss_kb, r.maxrss_kb ?? 0);
    }
    return sum;
  } finally {
    clearTimeout(timer);
    await Promise.all(gens.map((g) => g.stop(500)));
  }
}

// ---------------------------------------------------------------------------------------------
// Cases

export type Mode = "fg" | "drain";

export interface Case {
  readonly id: string;
  readonly title: string;
  readonly mode: Mode;
  readonly target: Target;
  readonly servers: number;
  readonly procs: number;
  readonly bytes: number;
  readonly window: number;
  /** Jobs per measured run for fast peers (C, gearbun) and for the Node library peers. */
  readonly jobs: number;
  readonly slowJobs: number;
  readonly peers: readonly string[];
  /** gearmand with the MSS shim (bench/peers/mss-shim.c): the large-payload cases. */
  readonly mssShim: boolean;
}

const NPM_NODE = ["abraxas-node", "gearmanode-node", "gearman-node"];
const NPM_ALL = [...NPM_NODE, "abraxas-bun", "gearmanode-bun", "gearman-bun"];
const FAST = ["c", "gearbun-c1", "gearbun-c16"];

export function cases(quick: boolean): Case[] {
  const q = <T>(full: T, short: T): T => (quick ? short : full);
  const base = { target: "gearmand" as Target, servers: 1, procs: 1, bytes: 16, window: 1000, mssShim: false };
  return [
    {
      ...base,
      id: "fg-16b",
      title: "16 B foreground, 1,000 in flight, 1 gearmand, 1 worker process",
      mode: "fg",
      jobs: q(100_000, 5_000),
      slowJobs: q(20_000, 2_000),
      peers: q([...FAST, ...NPM_ALL], [...FAST, ...NPM_NODE]),
    },
    {
      ...base,
      id: "bg-16b",
      title: "16 B background: drain a queue (workers paused while it fills), 1 gearmand, 1 worker process",
      mode: "drain",
      jobs: q(100_000, 5_000),
      slowJobs: q(20_000, 2_000),
      peers: q([...FAST, ...NPM_ALL], FAST),
    },
    {
      ...base,
      id: "fg-16b-2srv",
      title: "16 B foreground, 1,000 in flight, 2 gearmand, 1 worker process on both",
      mode: "fg",
      servers: 2,
      jobs: q(100_000, 5_000),
      slowJobs: q(20_000, 2_000),
      peers: q([...FAST, ...NPM_NODE], FAST),
    },
    {
      ...base,
      id: "fg-16b-4proc",
      title: "16 B foreground, 1,000 in flight, 1 gearmand, 4 worker processes",
      mode: "fg",
      procs: 4,
      jobs: q(100_000, 5_000),
      slowJobs: q(20_000, 2_000),
      peers: q([...FAST, ...NPM_NODE], FAST),
    },
    {
      ...base,
      id: "fg-64k",
      title: "64 KiB foreground, 1,000 in flight, 1 gearmand, 1 worker process",
      mode: "fg",
      bytes: 64 * KiB,
      mssShim: true,
      jobs: q(10_000, 1_000),
      slowJobs: q(2_000, 300),
      peers: q([...FAST, ...NPM_NODE], FAST),
    },
    {
      ...base,
      id: "fg-4m",
      title: "4 MiB foreground, 16 in flight, 1 gearmand, 1 worker process",
      mode: "fg",
      bytes: 4 * MiB,
      window: 16,
      mssShim: true,
      jobs: q(1_000, 20),
      slowJobs: q(100, 10),
      peers: q([...FAST, ...NPM_NODE], FAST),
    },
    {
      ...base,
      id: "fg-16b-embedded",
      title: "16 B foreground, 1,000 in flight, gearbun's embedded server (own process), 1 worker process",
      mode: "fg",
      target: "embedded",
      jobs: q(100_000, 5_000),
      slowJobs: q(20_000, 2_000),
      peers: q([...FAST, ...NPM_NODE], FAST),
    },
  ];
}

/** The client section: the load generator differs, the worker is the C worker (4 processes). */
export interface ClientCase {
  readonly id: string;
  readonly title: string;
  readonly background: boolean;
  readonly window: number;
  readonly jobs: number;
}

export function clientCases(quick: boolean): ClientCase[] {
  const q = <T>(full: T, short: T): T => (quick ? short : full);
  return [
    {
      id: "client-bg",
      title: "background submits, 1,000 in flight",
      background: true,
      window: 1000,
      jobs: q(100_000, 5_000),
    },
    {
      id: "client-fg-1000",
      title: "foreground round trips, 1,000 in flight",
      background: false,
      window: 1000,
      jobs: q(100_000, 5_000),
    },
    {
      id: "client-fg-1",
      title: "foreground round trips, 1 in flight",
      background: false,
      window: 1,
      jobs: q(10_000, 1_000),
    },
  ];
}

export const CLIENT_WORKER_PROCS = 4;

// ---------------------------------------------------------------------------------------------
// Results

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface Row {
  /** "pool": bench/pool.ts's rows (gearbun worker's supervisor and its scaling); "server": bench/server-ref.ts's; "scale": bench/scale.ts's; "tls": bench/tls.ts's. */
  readonly section: "worker" | "client" | "pool" | "server" | "scale" | "tls" | "burst";
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
  /** Worker and scale rows: the worker processes' user and kernel CPU per job, µs (clock ticks over all measured runs). */
  readonly workerUserUsPerJob?: number;
  readonly workerSysUsPerJob?: number;
  /** Worker, client and scale rows: how the row's processes were pinned (bench/pin.ts `describe()`). */
  readonly pin?: string;
  /** Scale rows, gearbun workers: packets per job by packet name, as the worker counted them. */
  readonly packetsPerJob?: { readonly received: Record<string, number>; readonly sent: Record<string, number> };
  /** Ratios to the baseline row of the same case (libgearman; pool rows: the case's first row): jobs/s and CPU per job. */
  ratio?: { jobsPerSecond: number; cpu: number };
}

export interface ThroughputOptions {
  quick: boolean;
  runs: number;
  loadgen: LoadgenId | "auto";
  caseFilter: readonly string[] | null;
  peerFilter: readonly string[] | null;
  /** Overrides every case's job counts (smoke runs). */
  jobsOverride: number | null;
  /** Use the MSS shim for gearmand in the large-payload cases (default true). */
  mssShim: boolean;
  /** Print the planned rows (case, peer, jobs per run) and run nothing. */
  dryRun: boolean;
  /** CPU pinning of the worker, client and scale rows' processes (bench/pin.ts). @default "split" */
  pin: PinMode;
  progress(line: string, final?: boolean): void;
  log(line: string): void;
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

/** The unmeasured first run: a tenth of a run, at least 200 small jobs (JIT, connections, caches). */
const warmupJobs = (jobs: number, bytes: number): number =>
  Math.min(jobs, Math.max(Math.ceil(jobs / 10), bytes >= MiB ? 2 : 200));

/** Generous time for one run: the peers are slow at worst a few hundred jobs/s. */
const runTimeout = (jobs: number, bytes: number): number => 30_000 + jobs * 20 + Math.ceil((jobs * bytes) / MiB) * 50;

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

// ---------------------------------------------------------------------------------------------
// One worker row

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

async function startWorkers(peer: WorkerPeer, addresses: string[], procs: number, pin: Pinning): Promise<Peer[]> {
  const workers: Peer[] = [];
  for (let i = 0; i < procs; i++)
    workers.push(spawnPeer(peer.id, [...pin.prefix("worker"), ...peer.command(addresses)]));
  return workers;
}

const deadWorker = (workers: Peer[]) => (): string | null => {
  for (const w of workers) {
    if (w.proc.exitCode !== null || w.proc.signalCode !== null) {
      return `worker ${w.name} (pid ${w.pid}) exited (${w.proc.exitCode ?? w.proc.signalCode}): ${w.stderr().slice(-800)}`;
    }
  }
  return null;
};

const snapshotAll = (pids: number[]): Map<number, number>[] => pids.map((p) => cpuSnapshot(p));
const deltaAll = (before: Map<number, number>[], pids: number[]): number =>
  pids.reduce((sum, p, i) => sum + cpuDeltaNs(before[i]!, cpuSnapshot(p)), 0);

async function measureFg(
  kase: Case,
  c: CPeers | null,
  loadgen: LoadgenId,
  addresses: string[],
  workers: Peer[],
  servers: JobServer[],
  jobs: number,
  pin: Pinning,
): Promise<Measured> {
  const wpids = workers.map((w) => w.pid);
  const spids = servers.map((s) => s.pid);
  const wBefore = snapshotAll(wpids);
  const sBefore = snapshotAll(spids);
  const t0 = performance.now();
  const run = await runLoadgens(
    loadgen,
    c,
    addresses,
    jobs,
    kase.bytes,
    kase.window,
    false,
    runTimeout(jobs, kase.bytes),
    FN,
    pin.prefix("loadgen"),
  );
  const wallMs = performance.now() - t0;
  const workerCpuNs = deltaAll(wBefore, wpids);
  const serverCpuNs = deltaAll(sBefore, spids);
  const dead = deadWorker(workers)();
  if (dead !== null) throw new Error(dead);
  return { jobsPerSecond: (jobs * 1000) / run.elapsed_ms, workerCpuNs, serverCpuNs, wallMs: run.elapsed_ms || wallMs };
}

async function measureDrain(
  kase: Case,
  c: CPeers | null,
  loadgen: LoadgenId,
  addresses: string[],
  workers: Peer[],
  servers: JobServer[],
  poller: StatusPoller,
  jobs: number,
  pin: Pinning,
): Promise<Measured> {
  const wpids = workers.map((w) => w.pid);
  const spids = servers.map((s) => s.pid);
  for (const w of workers) w.proc.kill("SIGSTOP");
  try {
    await runLoadgens(
      loadgen,
      c,
      addresses,
      jobs,
      kase.bytes,
      kase.window,
      true,
      runTimeout(jobs, kase.bytes),
      FN,
      pin.prefix("loadgen"),
    );
    const queued = await poller.read(FN);
    if (queued.total < jobs) throw new Error(`only ${queued.total} of ${jobs} jobs queued before the workers resumed`);
  } catch (error) {
    for (const w of workers) w.proc.kill("SIGCONT");
    throw error;
  }
  const wBefore = snapshotAll(wpids);
  const sBefore = snapshotAll(spids);
  const t0 = performance.now();
  for (const w of workers) w.proc.kill("SIGCONT");
  const t1 = await poller.waitDrained(FN, runTimeout(jobs, kase.bytes), deadWorker(workers));
  const workerCpuNs = deltaAll(wBefore, wpids);
  const serverCpuNs = deltaAll(sBefore, spids);
  return { jobsPerSecond: (jobs * 1000) / (t1 - t0), workerCpuNs, serverCpuNs, wallMs: t1 - t0 };
}

/** A worker row's run: the figures every row has, and the worker processes' user and kernel time. */
interface WorkerMeasured extends Measured {
  worker: { userNs: number; sysNs: number };
}

async function workerRow(
  kase: Case,
  peer: WorkerPeer,
  c: CPeers | null,
  loadgen: LoadgenId,
  shim: string | null,
  opts: ThroughputOptions,
  pin: Pinning,
  step: string,
): Promise<Row> {
  const jobs = opts.jobsOverride ?? (peer.slow ? kase.slowJobs : kase.jobs);
  const warmup = warmupJobs(jobs, kase.bytes);
  const head = {
    section: "worker" as const,
    caseId: kase.id,
    caseTitle: kase.title,
    peerId: peer.id,
    label: peer.label,
    bytes: kase.bytes,
    jobs,
    pin: pin.describe(),
  };
  const servers: JobServer[] = [];
  let workers: Peer[] = [];
  let poller: StatusPoller | null = null;
  try {
    const preload = kase.mssShim && kase.target === "gearmand" ? shim : null;
    // gearmand and the embedded server are started by shared helpers: pinned once they run.
    for (let i = 0; i < kase.servers; i++) {
      const server = await startJobServer(kase.target, preload);
      servers.push(server);
      pin.pinRunning(server.pid, "server");
    }
    const addresses = servers.map((s) => s.address);
    poller = new StatusPoller(addresses);
    opts.progress(`${step} ${kase.id} · ${peer.label} · starting`);
    workers = await startWorkers(peer, addresses, kase.procs, pin);
    await poller.waitWorkers(FN, kase.procs, 30_000, deadWorker(workers));
    assertPinned(
      servers.map((s) => s.pid),
      pin.cpu("server"),
      "job server",
    );
    const wpids = workers.map((w) => w.pid);
    assertPinned(wpids, pin.cpu("worker"), "worker");

    const measure = async (n: number): Promise<WorkerMeasured> => {
      const userSys = userSysMeter(wpids);
      const m =
        kase.mode === "fg"
          ? await measureFg(kase, c, loadgen, addresses, workers, servers, n, pin)
          : await measureDrain(kase, c, loadgen, addresses, workers, servers, poller!, n, pin);
      return { ...m, worker: userSys() };
    };

    opts.progress(`${step} ${kase.id} · ${peer.label} · warm-up (${fmt(warmup)} jobs)`);
    const first = await measure(warmup);
    const more = moreWarmupJobs(jobs, warmup, first.jobsPerSecond);
    if (more > 0) {
      opts.progress(`${step} ${kase.id} · ${peer.label} · warm-up (${fmt(more)} more jobs)`);
      await measure(more);
    }
    const runs: WorkerMeasured[] = [];
    for (let r = 1; r <= opts.runs; r++) {
      const last = runs.at(-1);
      opts.progress(
        `${step} ${kase.id} · ${peer.label} · run ${r}/${opts.runs} (${fmt(jobs)} jobs)${last ? ` · last ${fmt(last.jobsPerSecond)} jobs/s, ${(last.workerCpuNs / 1000 / jobs).toFixed(1)} µs/job` : ""}`,
      );
      runs.push(await measure(jobs));
    }
    const rss = Math.max(...workers.map((w) => peakRssKb(w.pid)));

    // Each worker reports the jobs it did; together they must have done every job.
    const expected = warmup + more + jobs * opts.runs;
    const reports = await Promise.all(
      workers.map(async (w) => {
        await w.stop(5000);
        return w.firstJson(100);
      }),
    );
    const done = reports.reduce((sum, r) => sum + (typeof r?.jobs === "number" ? r.jobs : Number.NaN), 0);
    let note: string | undefined;
    if (Number.isNaN(done)) note = "worker did not report its job count";
    else if (done !== expected) note = `workers report ${fmt(done)} jobs done, ${fmt(expected)} submitted`;
    const notes = [
      ...(pin.fallback !== null ? [`not pinned: ${pin.fallback}`] : []),
      ...(more > 0 ? [`warm-up ${fmt(warmup + more)} jobs`] : []),
      ...(note !== undefined ? [note] : []),
    ];
    const figures = runFigures(runs, jobs);
    // User and kernel time come in clock ticks: summed over the measured runs, not a median.
    const measured = jobs * runs.length;
    const row: Row = {
      ...head,
      status: note !== undefined && !Number.isNaN(done) && done < expected ? "failed" : "ok",
      ...(notes.length > 0 ? { note: notes.join("; ") } : {}),
      ...figures,
      cpuUsPerJob: figures.workerCpuUsPerJob,
      workerUserUsPerJob: runs.reduce((sum, m) => sum + m.worker.userNs, 0) / 1000 / measured,
      workerSysUsPerJob: runs.reduce((sum, m) => sum + m.worker.sysNs, 0) / 1000 / measured,
      workerPeakRssKb: rss,
    };
    opts.progress(`${step} ${kase.id} · ${peer.label} · ${fmt(row.jobsPerSecond!.median)} jobs/s`, true);
    return row;
  } catch (error) {
    return failedRow(head, error, opts.progress, `${step} ${kase.id} · ${peer.label}`);
  } finally {
    await Promise.allSettled(workers.map((w) => w.stop(2000)));
    await poller?.close();
    await Promise.allSettled(servers.map((s) => s.stop()));
  }
}

// ---------------------------------------------------------------------------------------------
// One client row: the load generator differs, the worker is the C worker

async function clientRow(
  kase: ClientCase,
  loadgen: LoadgenId,
  c: CPeers,
  opts: ThroughputOptions,
  step: string,
): Promise<Row> {
  const label =
    loadgen === "c"
      ? "libgearman client"
      : loadgen === "gearbun"
        ? "gearbun client"
        : "Bun floor client (bare sockets)";
  const jobs = opts.jobsOverride ?? kase.jobs;
  const pin = resolvePinning(opts.pin);
  const warmup = warmupJobs(jobs, 16);
  const head = {
    section: "client" as const,
    caseId: kase.id,
    caseTitle: kase.title,
    peerId: loadgen,
    label,
    bytes: 16,
    jobs,
  };
  let server: JobServer | null = null;
  const workers: Peer[] = [];
  let poller: StatusPoller | null = null;
  try {
    server = await startJobServer("gearmand");
    // The measured process is the client: it gets a CPU of its own ("worker" CPU), gearmand and
    // the C workers share the other.
    pin.pinRunning(server.pid, "server");
    poller = new StatusPoller([server.address]);
    for (let i = 0; i < CLIENT_WORKER_PROCS; i++)
      workers.push(spawnPeer("c", [...pin.prefix("server"), c.worker, "-s", server.address, "-f", FN]));
    await poller.waitWorkers(FN, CLIENT_WORKER_PROCS, 30_000, deadWorker(workers));
    assertPinned([server.pid, ...workers.map((w) => w.pid)], pin.cpu("server"), "gearmand and C workers");
    const once = async (n: number) => {
      const wpids = workers.map((w) => w.pid);
      const before = snapshotAll(wpids);
      const run = await runLoadgens(
        loadgen,
        c,
        [server!.address],
        n,
        16,
        kase.window,
        kase.background,
        runTimeout(n + (loadgen === "c" ? 0 : n), 16),
        FN,
        pin.prefix("worker"),
        loadgen === "c" ? 0 : n,
      );
      // Background jobs are done once created; let the workers drain them before the next run.
      if (kase.background) await poller!.waitDrained(FN, runTimeout(n, 16), deadWorker(workers));
      return { run, workerCpuNs: deltaAll(before, wpids) };
    };
    opts.progress(`${step} ${kase.id} · ${label} · warm-up`);
    await once(warmup);
    const runs: { run: LoadgenRun; workerCpuNs: number }[] = [];
    for (let r = 1; r <= opts.runs; r++) {
      opts.progress(`${step} ${kase.id} · ${label} · run ${r}/${opts.runs} (${fmt(jobs)} jobs)`);
      runs.push(await once(jobs));
    }
    const row: Row = {
      ...head,
      status: "ok",
      jobsPerSecond: spread(runs.map((m) => (jobs * 1000) / m.run.elapsed_ms)),
      cpuUsPerJob: median(runs.map((m) => m.run.cpu_us / jobs)),
      workerCpuUsPerJob: median(runs.map((m) => m.workerCpuNs / 1000 / jobs)),
      pin:
        pin.mode === "off"
          ? pin.describe()
          : `${pin.mode}: the client on CPU ${pin.cpu("worker")}, gearmand and the C workers on CPU ${pin.cpu("server")}`,
      ...(pin.fallback !== null ? { note: `not pinned: ${pin.fallback}` } : {}),
    };
    opts.progress(`${step} ${kase.id} · ${label} · ${fmt(row.jobsPerSecond!.median)}/s`, true);
    return row;
  } catch (error) {
    return failedRow(head, error, opts.progress, `${step} ${kase.id} · ${label}`);
  } finally {
    await Promise.allSettled(workers.map((w) => w.stop(2000)));
    await poller?.close();
    await server?.stop();
  }
}

// ---------------------------------------------------------------------------------------------

function addRatios(rows: Row[], baselineId: string): void {
  const byCase = new Map<string, Row>();
  for (const r of rows) if (r.peerId === baselineId && r.status === "ok") byCase.set(`${r.section}/${r.caseId}`, r);
  for (const r of rows) {
    const base = byCase.get(`${r.section}/${r.caseId}`);
    if (base === undefined || r.jobsPerSecond === undefined || base.jobsPerSecond === undefined) continue;
    r.ratio = {
      jobsPerSecond: r.jobsPerSecond.median / base.jobsPerSecond.median,
      cpu: (r.cpuUsPerJob ?? Number.NaN) / (base.cpuUsPerJob ?? Number.NaN),
    };
  }
}

/** Runs every selected case; never throws for a failing row (the row says why). */
export async function runThroughput(opts: ThroughputOptions): Promise<ThroughputResult> {
  installCleanup();
  const notes: string[] = [];
  if (!haveGearmandBinary()) {
    opts.log("SKIP throughput: gearmand is not installed (apt-get install gearman-job-server)");
    return {
      rows: [],
      loadgen: "gearbun",
      runs: opts.runs,
      notes: ["gearmand is not installed: no end-to-end figures"],
    };
  }
  const c = buildCPeers(opts.log);
  if (c === null) notes.push("libgearman-dev missing: no C worker/client rows, no ratios");
  const loadgen: LoadgenId = opts.loadgen === "auto" ? (c !== null ? "c" : "gearbun") : opts.loadgen;
  if (loadgen === "c" && c === null) throw new Error("--loadgen c needs libgearman-dev (the C submitter)");
  const table = peerTable(c);
  const shim = opts.mssShim ? buildMssShim(opts.log) : null;
  const largeCases = cases(opts.quick).some(
    (k) => k.mssShim && (opts.caseFilter === null || opts.caseFilter.includes(k.id)),
  );
  if (!largeCases) {
    // no large-payload case in this run: nothing to say about the shim
  } else if (shim !== null) {
    notes.push(
      "Large-payload cases (64 KiB, 4 MiB): gearmand runs with bench/peers/mss-shim.c preloaded, which sets TCP_MAXSEG 1448 on its " +
        "listening socket. gearmand fixes its socket buffers at 32 KiB; with loopback's ~64 KiB segments a large packet then moves " +
        "one segment per delayed ACK (~40 ms per 64 KiB, seconds per 4 MiB job) whatever the peers do. Ethernet-sized segments remove that stall.",
    );
  } else {
    notes.push(
      "Large-payload cases ran on plain gearmand (no MSS shim): on loopback they are bound by gearmand's 32 KiB socket buffers and delayed ACKs, not by the peers.",
    );
  }
  if (Bun.which("node") === null) notes.push("node is not installed: the Node library peers ran under Bun only");

  const plan: { kind: "worker"; kase: Case; peer: WorkerPeer }[] = [];
  for (const kase of cases(opts.quick)) {
    if (opts.caseFilter !== null && !opts.caseFilter.includes(kase.id)) continue;
    for (const id of kase.peers) {
      const peer = table.get(id);
      if (peer === undefined) continue;
      if (opts.peerFilter !== null && !opts.peerFilter.includes(id)) continue;
      plan.push({ kind: "worker", kase, peer });
    }
  }
  const clientPlan: { kase: ClientCase; loadgen: LoadgenId }[] = [];
  if (c !== null) {
    for (const kase of clientCases(opts.quick)) {
      if (opts.caseFilter !== null && !opts.caseFilter.includes(kase.id) && !opts.caseFilter.includes("client"))
        continue;
      for (const lg of ["c", "gearbun", "bun-floor"] as const) {
        if (lg === "bun-floor" && kase.background) continue;
        if (opts.peerFilter !== null && !opts.peerFilter.includes(`client-${lg}`)) continue;
        clientPlan.push({ kase, loadgen: lg });
      }
    }
  } else {
    notes.push("client section skipped: it compares against the libgearman client with the C worker");
  }

  const total = plan.length + clientPlan.length;
  if (opts.dryRun) {
    for (const { kase, peer } of plan) {
      const jobs = opts.jobsOverride ?? (peer.slow ? kase.slowJobs : kase.jobs);
      const warm = warmupJobs(jobs, kase.bytes);
      const to = Math.min(10_000, 5 * jobs);
      opts.log(
        `${kase.id.padEnd(16)} ${peer.id.padEnd(16)} ${fmt(jobs).padStart(8)} jobs/run × ${opts.runs} + warm-up ${fmt(warm)}${to > warm ? ` (to ${fmt(to)} within 3 s)` : ""}`,
      );
    }
    for (const { kase, loadgen: lg } of clientPlan) {
      const jobs = opts.jobsOverride ?? kase.jobs;
      opts.log(
        `${kase.id.padEnd(16)} client-${lg.padEnd(9)} ${fmt(jobs).padStart(8)} jobs/run × ${opts.runs} + warm-up ${fmt(warmupJobs(jobs, 16))}`,
      );
    }
    opts.log(`${total} rows`);
    return { rows: [], loadgen, runs: opts.runs, notes };
  }
  const pin = resolvePinning(opts.pin);
  if (plan.length > 0 && pin.fallback !== null)
    opts.log(`worker rows: --pin ${pin.requested} not possible (${pin.fallback}): not pinned`);
  const rows: Row[] = [];
  let i = 0;
  try {
    for (const item of plan) {
      i++;
      rows.push(await workerRow(item.kase, item.peer, c, loadgen, shim, opts, pin, `[${i}/${total}]`));
    }
    for (const item of clientPlan) {
      i++;
      rows.push(await clientRow(item.kase, item.loadgen, c!, opts, `[${i}/${total}]`));
    }
  } finally {
    await stopAll();
  }
  addRatios(
    rows.filter((r) => r.section === "worker"),
    "c",
  );
  addRatios(
    rows.filter((r) => r.section === "client"),
    "c",
  );
  return { rows, loadgen, runs: opts.runs, notes };
}

// ---------------------------------------------------------------------------------------------
// Command line

export function parseThroughputArgs(argv: string[]): Omit<ThroughputOptions, "progress" | "log"> {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      runs: { type: "string" },
      loadgen: { type: "string", default: "auto" },
      case: { type: "string" },
      peer: { type: "string" },
      jobs: { type: "string" },
      "no-mss-shim": { type: "boolean", default: false },
      "dry-run": { type: "boolean", default: false },
      pin: { type: "string", default: DEFAULT_PIN },
    },
    allowPositionals: false,
  });
  const runs = values.runs !== undefined ? Number(values.runs) : 3;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a whole number >= 1, got ${values.runs}`);
  const loadgen = values.loadgen;
  if (loadgen !== "auto" && loadgen !== "c" && loadgen !== "gearbun")
    throw new Error(`--loadgen must be c, gearbun or auto, got ${loadgen}`);
  const jobs = values.jobs !== undefined ? Number(values.jobs) : null;
  if (jobs !== null && (!Number.isInteger(jobs) || jobs < 1))
    throw new Error(`--jobs must be a whole number >= 1, got ${values.jobs}`);
  const pin = values.pin as PinMode;
  if (!PIN_MODES.includes(pin)) throw new Error(`--pin must be ${PIN_MODES.join(", ")}, got ${values.pin}`);
  const list = (s: string | undefined): string[] | null =>
    s === undefined
      ? null
      : s
          .split(",")
          .map((x) => x.trim())
          .filter(Boolean);
  return {
    quick: values.quick,
    runs,
    loadgen,
    caseFilter: list(values.case),
    peerFilter: list(values.peer),
    jobsOverride: jobs,
    mssShim: !values["no-mss-shim"],
    dryRun: values["dry-run"],
    pin,
  };
}

if (import.meta.main) {
  const { progressPrinter, printTable } = await import("./report.ts");
  const printer = progressPrinter();
  const result = await runThroughput({
    ...parseThroughputArgs(process.argv.slice(2)),
    progress: printer.progress,
    log: printer.log,
  });
  printer.done();
  printTable(result);
}

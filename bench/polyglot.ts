/**
 * The polyglot rows (`bun run bench --case polyglot`): a trivial handler (return the payload) in
 * TypeScript in the worker process, in Python and in PHP under `gearbun worker` (one handler
 * process per job slot, docs/handler-protocol.md), and the same PHP handler under pecl-gearman's
 * own worker loop (`GearmanWorker::work()`, what GearmanManager runs); 1 and 2 worker processes,
 * concurrency 1 (one job at a time per process, as the pecl worker), on one gearmand; and one
 * Bun child with two Python or PHP handler processes (`--concurrency 2`) beside pecl × 2.
 *
 *   bun run bench --case polyglot --skip-codec                 # 10,000 jobs per run (--quick: 2,000)
 *   bun run bench --case polyglot --skip-codec --jobs 3000 --runs 3
 *
 * Per run, as the pool rows: the worker processes are paused (SIGSTOP), a background queue of
 * 16 B jobs filled, the workers resumed and timed until gearmand reports the queue empty. CPU
 * per job counts every process of the row — the supervisor, its Bun children and their handler
 * processes (or the pecl parent and its workers) — from /proc schedstat, and split by process
 * (supervisor, Bun children, handler processes). The notes give what the issue targets: the
 * handler-process hop's CPU (a language's row minus the TypeScript row of the same process count:
 * the protocol, the channel and the interpreter's loop; the handler itself does nothing) against
 * 50 µs per job, and gearbun's PHP jobs/s against the pecl worker's. `--pin` (bench/pin.ts) as for
 * the worker rows: with `split` (the default) every process of the row is on one CPU — a Bun child
 * and its handler processes hand each job over without a cross-CPU wake-up — and gearmand and the
 * load generator on the other; `--pin off` leaves them to the scheduler.
 */
import { join } from "node:path";
import { childPids, cpuDeltaNs, cpuSnapshot, peakRssKb } from "./proc.ts";
import { runLoadgens } from "./loadgens.ts";
import type { ThroughputOptions } from "./options.ts";
import { assertPinned, type Pinning, resolvePinning } from "./pin.ts";
import { failedRow, fmt, median, type Row, runFigures } from "./rows.ts";
import {
  BUN,
  haveGearmandBinary,
  installCleanup,
  PEERS_DIR,
  ROOT,
  spawnPeer,
  StatusPoller,
  startJobServer,
  stopAll,
  type JobServer,
  type Peer,
} from "./support.ts";

const CASE_ID = "polyglot";
const FN = "poly";
const JOBS = { full: 10_000, quick: 2_000 } as const;
const DIR = join(PEERS_DIR, "polyglot");
const CLI = join(ROOT, "src", "cli", "main.ts");
/** What CI installs (Debian's), not whatever comes first on PATH. */
const INTERPRETERS = { GEARBUN_PYTHON: "/usr/bin/python3", GEARBUN_PHP: "/usr/bin/php" };
/** The hop's CPU target per job, µs. */
const HOP_TARGET_US = 50;

interface Variant {
  readonly id: string;
  readonly lang: "ts" | "py" | "php" | "pecl";
  readonly processes: number;
  readonly label: string;
  command(server: string): string[];
}

const gearbun = (
  lang: "ts" | "py" | "php",
  file: string,
  name: string,
  processes: number,
  concurrency = 1,
): Variant => ({
  id: `${lang}-${processes}${concurrency > 1 ? `x${concurrency}` : ""}`,
  lang,
  processes,
  label: `${name}, gearbun worker --processes ${processes}${concurrency > 1 ? ` --concurrency ${concurrency}` : ""}`,
  command: (server) => [
    BUN,
    CLI,
    "worker",
    join(DIR, file),
    "--servers",
    server,
    "--processes",
    String(processes),
    "--concurrency",
    String(concurrency),
    "--log",
    "off",
  ],
});

function variants(): Variant[] {
  const out: Variant[] = [];
  for (const n of [1, 2]) {
    out.push(
      gearbun("ts", "echo.ts", "TypeScript in process", n),
      gearbun("py", "echo.py", "Python handler process", n),
      gearbun("php", "echo.php", "PHP handler process", n),
      {
        id: `pecl-${n}`,
        lang: "pecl",
        processes: n,
        label: `PHP, pecl-gearman GearmanWorker::work() × ${n}`,
        command: (server) => [INTERPRETERS.GEARBUN_PHP, join(DIR, "pecl-worker.php"), String(n), server],
      },
    );
  }
  // Two handler processes under one Bun child: as many PHP processes as pecl × 2.
  out.push(
    gearbun("py", "echo.py", "Python handler processes", 1, 2),
    gearbun("php", "echo.php", "PHP handler processes", 1, 2),
  );
  return out;
}

export function polyglotSelected(opts: Pick<ThroughputOptions, "caseFilter">): boolean {
  return opts.caseFilter === null || opts.caseFilter.includes(CASE_ID);
}

/** `pid` and every process under it. */
function descendants(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...childPids(out[i]!));
  return out;
}

interface Live {
  readonly variant: Variant;
  server: JobServer | null;
  poller: StatusPoller | null;
  peer: Peer | null;
  /** The processes that register (paused while the queue fills). */
  workers: number[];
  /** Every process of the row (CPU counted). */
  all: number[];
  readonly runs: {
    jobsPerSecond: number;
    workerCpuNs: number;
    serverCpuNs: number;
    wallMs: number;
    /** Of workerCpuNs: the top process (supervisor, pecl parent), the worker processes, their children (handler processes). */
    split: { top: number; workers: number; handlers: number };
  }[];
  error: unknown;
}

const gone = (peer: Peer) => (): string | null =>
  peer.proc.exitCode !== null || peer.proc.signalCode !== null
    ? `${peer.name} exited (${peer.proc.exitCode ?? peer.proc.signalCode}): ${peer.stderr().slice(-800)}`
    : null;

async function setUp(live: Live, pin: Pinning): Promise<void> {
  const server = await startJobServer("gearmand");
  live.server = server;
  pin.pinRunning(server.pid, "server");
  live.poller = new StatusPoller([server.address]);
  // Pinned, every process of the row (supervisor, Bun children, handler processes; the pecl
  // parent and workers) inherits the CPU of the first.
  const peer = spawnPeer(
    live.variant.id,
    [...pin.prefix("worker"), ...live.variant.command(server.address)],
    INTERPRETERS,
  );
  live.peer = peer;
  await live.poller.waitWorkers(FN, live.variant.processes, 30_000, gone(peer));
  live.workers = childPids(peer.pid);
  live.all = descendants(peer.pid);
  assertPinned(live.all, pin.cpu("worker"), live.variant.label);
  assertPinned([server.pid], pin.cpu("server"), "gearmand");
  const want = live.variant.processes;
  if (live.workers.length !== want) throw new Error(`${want} worker processes expected, found ${live.workers.length}`);
}

async function drain(live: Live, jobs: number, pin: Pinning): Promise<Live["runs"][number]> {
  const { server, poller, peer, workers } = {
    server: live.server!,
    poller: live.poller!,
    peer: live.peer!,
    workers: live.workers,
  };
  const timeout = 30_000 + jobs * 5;
  for (const pid of workers) process.kill(pid, "SIGSTOP");
  try {
    await runLoadgens("gearbun", null, [server.address], jobs, 16, 1000, true, timeout, FN, pin.prefix("loadgen"));
    const queued = await poller.read(FN);
    if (queued.total < jobs) throw new Error(`only ${queued.total} of ${jobs} jobs queued before the workers resumed`);
  } catch (error) {
    for (const pid of workers) process.kill(pid, "SIGCONT");
    throw error;
  }
  // Handler processes respawned since the last run count too.
  live.all = descendants(peer.pid);
  const before = live.all.map((p) => cpuSnapshot(p));
  const sBefore = cpuSnapshot(server.pid);
  const t0 = performance.now();
  for (const pid of workers) process.kill(pid, "SIGCONT");
  const t1 = await poller.waitDrained(FN, timeout, gone(peer));
  const split = { top: 0, workers: 0, handlers: 0 };
  live.all.forEach((p, i) => {
    const ns = cpuDeltaNs(before[i]!, cpuSnapshot(p));
    if (p === peer.pid) split.top += ns;
    else if (workers.includes(p)) split.workers += ns;
    else split.handlers += ns;
  });
  return {
    jobsPerSecond: (jobs * 1000) / (t1 - t0),
    workerCpuNs: split.top + split.workers + split.handlers,
    split,
    serverCpuNs: cpuDeltaNs(sBefore, cpuSnapshot(server.pid)),
    wallMs: t1 - t0,
  };
}

function rowOf(live: Live, jobs: number, opts: ThroughputOptions): Row {
  const head = {
    section: "pool" as const,
    caseId: CASE_ID,
    caseTitle:
      "a trivial handler in TypeScript, Python and PHP under gearbun, and PHP under pecl-gearman's worker loop",
    peerId: live.variant.id,
    label: live.variant.label,
    bytes: 16,
    jobs,
  };
  if (live.error !== null) return failedRow(head, live.error, opts.progress, `${CASE_ID} · ${live.variant.label}`);
  const us = (part: keyof Live["runs"][number]["split"]): string =>
    fmt(median(live.runs.map((m) => m.split[part] / 1000 / jobs)));
  const split =
    live.variant.lang === "pecl"
      ? `CPU µs/job: parent ${us("top")}, workers ${us("workers")}`
      : `CPU µs/job: supervisor ${us("top")}, Bun children ${us("workers")}${live.variant.lang === "ts" ? "" : `, handler processes ${us("handlers")}`}`;
  return {
    ...head,
    status: "ok",
    ...runFigures(live.runs, jobs),
    cpuUsPerJob: median(live.runs.map((m) => m.workerCpuNs / 1000 / jobs)),
    workerPeakRssKb: Math.max(...live.all.map((p) => peakRssKb(p))),
    note: split,
  };
}

/** The targets, in words: the hop's CPU against the TypeScript row, PHP against pecl. */
function verdicts(rows: Row[]): Row[] {
  const by = new Map(rows.map((r) => [r.peerId, r]));
  return rows.map((r) => {
    const [lang, shape] = r.peerId.split("-") as [string, string];
    // "1x2": one Bun child with two handler processes, against the TypeScript row of one process
    // and the pecl row of two PHP processes.
    const [n, c = "1"] = shape.split("x");
    const ts = by.get(`ts-${n}`);
    if (r.status !== "ok" || ts?.cpuUsPerJob === undefined || r.cpuUsPerJob === undefined) return r;
    const notes: string[] = [];
    const ratio = {
      jobsPerSecond: r.jobsPerSecond!.median / ts.jobsPerSecond!.median,
      cpu: r.cpuUsPerJob / ts.cpuUsPerJob,
    };
    if (lang === "py" || lang === "php") {
      const hop = r.cpuUsPerJob - ts.cpuUsPerJob;
      notes.push(
        `hop ${hop.toFixed(1)} µs CPU/job over TypeScript (target < ${HOP_TARGET_US}: ${hop < HOP_TARGET_US ? "met" : "MISSED"})`,
      );
    }
    const pecl = by.get(`pecl-${Number(n) * Number(c)}`);
    if (lang === "php" && pecl?.jobsPerSecond !== undefined) {
      const x = r.jobsPerSecond!.median / pecl.jobsPerSecond.median;
      notes.push(`${x.toFixed(2)}× pecl-gearman's jobs/s (target ≥ 1: ${x >= 1 ? "met" : "MISSED"})`);
    }
    if (r.note !== undefined) notes.unshift(r.note);
    return lang === "ts" ? r : { ...r, ratio, ...(notes.length ? { note: notes.join("; ") } : {}) };
  });
}

/** Runs the polyglot rows; never throws for a failing row (the row says why). */
export async function runPolyglot(opts: ThroughputOptions): Promise<{ rows: Row[]; notes: string[] }> {
  if (!polyglotSelected(opts)) return { rows: [], notes: [] };
  const jobs = opts.jobsOverride ?? (opts.quick ? JOBS.quick : JOBS.full);
  const all = variants().filter((v) => opts.peerFilter === null || opts.peerFilter.includes(v.id));
  if (opts.dryRun) {
    for (const v of all)
      opts.log(`${CASE_ID.padEnd(16)} ${v.id.padEnd(16)} ${fmt(jobs).padStart(8)} jobs/run × ${opts.runs}`);
    opts.log(`${all.length} polyglot rows`);
    return { rows: [], notes: [] };
  }
  if (!haveGearmandBinary()) {
    opts.log("SKIP polyglot rows: gearmand is not installed (apt-get install gearman-job-server)");
    return { rows: [], notes: ["gearmand is not installed: no polyglot figures"] };
  }
  installCleanup();
  const lives: Live[] = all.map((variant) => ({
    variant,
    server: null,
    poller: null,
    peer: null,
    workers: [],
    all: [],
    runs: [],
    error: null,
  }));
  const warmup = Math.max(200, Math.ceil(jobs / 10));
  const pin = resolvePinning(opts.pin);
  try {
    // One row at a time is started, measured and stopped: every row's processes at once would
    // share the cores with the measured one.
    for (const [i, live] of lives.entries()) {
      const step = (what: string, done = false): void =>
        opts.progress(`[polyglot ${i + 1}/${lives.length}] ${live.variant.label} · ${what}`, done);
      try {
        step("starting");
        await setUp(live, pin);
        step(`warm-up (${fmt(warmup)} jobs)`);
        await drain(live, warmup, pin);
        for (let r = 1; r <= opts.runs; r++) {
          step(`run ${r}/${opts.runs} (${fmt(jobs)} jobs)`);
          live.runs.push(await drain(live, jobs, pin));
        }
        step(`${fmt(median(live.runs.map((m) => m.jobsPerSecond)))} jobs/s`, true);
      } catch (error) {
        live.error = error;
      } finally {
        await live.peer?.stop(5000);
        await live.poller?.close();
        await live.server?.stop();
      }
    }
  } finally {
    await stopAll();
  }
  return {
    rows: verdicts(lives.map((l) => rowOf(l, jobs, opts))),
    notes: [
      `polyglot pinning: ${pin.describe()}`,
      "polyglot: 16 B background jobs drained at concurrency 1 per worker process; CPU per job counts every process of the row (supervisor, Bun children, handler processes; or the pecl parent and its workers); the hop is a language's CPU per job minus the TypeScript row's with the same process count",
    ],
  };
}

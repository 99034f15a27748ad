/**
 * Scale rows: the same worker against many servers, and many worker processes on one server.
 *
 * - servers-emb-N (N = 1, 8, 64): N embedded servers in one Bun process (bench/peers/gearbun-server.ts
 *   --count N); servers-gd-N (N = 1, 4, 16): N gearmand processes (`--threads 1`). One worker
 *   process connected to all of them: gearbun at concurrency 1 and 16 beside the libgearman C
 *   worker. One gearbun client (bench/peers/gearbun-submitter.ts) spreads 16-byte foreground jobs
 *   round-robin over every server, 1,000 in flight.
 * - workers-W[-wakeup1] (W = 1, 10, 40): one gearmand `--threads 1` (default wake-up: every
 *   sleeping worker is woken per job; `-wakeup1`: `--worker-wakeup 1`), W worker processes at
 *   concurrency 1, and a load generator sending jobs one at a time, so each job finds every
 *   worker asleep: what the wake-ups cost the workers together.
 *
 * Per row: jobs/s (median of the measured runs, min – max), the worker processes' CPU per job and
 * the servers' (/proc schedstat, over the measured runs), the workers' user and kernel CPU per job
 * (/proc stat clock ticks, summed over the measured runs), and for gearbun the packets per job by
 * type in each direction, counted by the worker itself (worker.stats(), warm-up included): the
 * number that tells where the cost comes from.
 *
 * The processes are pinned to CPUs (`--pin`, bench/pin.ts; default `split`: the workers on one
 * core, the job servers and the load generator on the other), because on a small machine the
 * one-job-at-a-time rows otherwise measure where the scheduler put each process.
 *
 *   bun run bench --case servers            # every servers-* row (or servers-emb-64,...)
 *   bun run bench --case workers --peer c,gearbun-c1 --pin same
 */
import { join } from "node:path";
import { assertPinned, type Pinning, resolvePinning } from "./pin.ts";
import {
  BUN,
  buildCPeers,
  ECHO_FN,
  haveGearmandBinary,
  installCleanup,
  type JobServer,
  PEERS_DIR,
  type Peer,
  spawnPeer,
  startJobServer,
  StatusPoller,
  stopAll,
} from "./support.ts";
import { cpuDeltaNs, cpuSnapshot, threadCpuSnapshot, userSysMeter } from "./proc.ts";
import { moreWarmupJobs, perProcessWarmupJobs } from "./warmup.ts";
import { type LoadgenId, runLoadgens } from "./loadgens.ts";
import type { ThroughputOptions } from "./options.ts";
import { fmt, median, type Row, spread } from "./rows.ts";

const FN = ECHO_FN;
const BYTES = 16;

interface ScalePeer {
  readonly id: string;
  readonly label: string;
  command(servers: readonly string[]): string[];
}

export interface ScaleCase {
  readonly id: string;
  readonly title: string;
  readonly axis: "servers" | "workers";
  readonly target: "embedded" | "gearmand";
  readonly servers: number;
  /** Worker processes. */
  readonly procs: number;
  /** Submits in flight (1: one job at a time). */
  readonly window: number;
  /** gearmand flags besides `--threads 1`. */
  readonly gearmandArgs: readonly string[];
  readonly jobs: number;
  readonly peers: readonly string[];
}

export function scaleCases(quick: boolean): ScaleCase[] {
  const q = <T>(full: T, short: T): T => (quick ? short : full);
  const out: ScaleCase[] = [];
  const servers = (target: "embedded" | "gearmand", n: number): ScaleCase => ({
    id: `servers-${target === "embedded" ? "emb" : "gd"}-${n}`,
    title: `16 B foreground, 1,000 in flight round-robin over ${n} ${target === "embedded" ? "embedded server(s) in one process" : "gearmand --threads 1"}, 1 worker process on all`,
    axis: "servers",
    target,
    servers: n,
    procs: 1,
    window: 1000,
    gearmandArgs: [],
    jobs: q(50_000, 5_000),
    // The floor grabs on every server at once (no concurrency limit): a reference at one server only.
    peers: n === 1 ? ["c", "gearbun-c1", "gearbun-c16", "bun-floor"] : ["c", "gearbun-c1", "gearbun-c16"],
  });
  for (const n of [1, 8, 64]) out.push(servers("embedded", n));
  for (const n of [1, 4, 16]) out.push(servers("gearmand", n));
  for (const wakeup of [false, true]) {
    for (const w of [1, 10, 40]) {
      out.push({
        id: `workers-${w}${wakeup ? "-wakeup1" : ""}`,
        title: `16 B foreground, one job at a time, 1 gearmand --threads 1${wakeup ? " --worker-wakeup 1" : " (wakes every sleeping worker)"}, ${w} worker process(es) at concurrency 1`,
        axis: "workers",
        target: "gearmand",
        servers: 1,
        procs: w,
        window: 1,
        gearmandArgs: wakeup ? ["--worker-wakeup", "1"] : [],
        jobs: q(2_000, 300),
        peers: ["c", "gearbun-c1", "bun-floor"],
      });
    }
  }
  return out;
}

function scalePeers(cWorker: string | null): Map<string, ScalePeer> {
  const peers: ScalePeer[] = [];
  if (cWorker !== null) {
    peers.push({ id: "c", label: "libgearman C", command: (s) => [cWorker, "-s", s.join(","), "-f", FN] });
  }
  for (const c of [1, 16]) {
    peers.push({
      id: `gearbun-c${c}`,
      label: `gearbun (concurrency ${c})`,
      command: (s) => [
        BUN,
        join(PEERS_DIR, "gearbun-worker.ts"),
        "--servers",
        s.join(","),
        "--fn",
        FN,
        "--concurrency",
        String(c),
      ],
    });
  }
  peers.push({
    id: "bun-floor",
    label: "Bun floor (bare sockets)",
    command: (s) => [BUN, join(PEERS_DIR, "floor-worker.ts"), "--servers", s.join(","), "--fn", FN],
  });
  return new Map(peers.map((p) => [p.id, p]));
}

/** The rows the options select: `--case servers|workers|<id>,...`, `--peer c,gearbun-c1,...`. */
export function scalePlan(
  opts: Pick<ThroughputOptions, "quick" | "caseFilter" | "peerFilter">,
): { kase: ScaleCase; peerId: string }[] {
  const plan: { kase: ScaleCase; peerId: string }[] = [];
  for (const kase of scaleCases(opts.quick)) {
    const f = opts.caseFilter;
    if (f !== null && !f.includes(kase.id) && !f.includes(kase.axis)) continue;
    for (const peerId of kase.peers) {
      if (opts.peerFilter === null || opts.peerFilter.includes(peerId)) plan.push({ kase, peerId });
    }
  }
  return plan;
}

/** gearmand's default wake-up NOOPs every sleeping worker per job; `--worker-wakeup 1` one. */
const wakesAll = (kase: ScaleCase): boolean => !kase.gearmandArgs.includes("--worker-wakeup");
const warmupJobs = (jobs: number): number => Math.min(jobs, Math.max(Math.ceil(jobs / 10), 200));
/** Generous: the slowest rows (40 woken workers per job) do a few hundred jobs/s. */
const runTimeout = (jobs: number): number => 30_000 + jobs * 20;

/** Several processes' CPU, ns, between two calls. */
function cpuMeter(pids: readonly number[], snapshot = cpuSnapshot): () => number {
  const before = pids.map((p) => snapshot(p));
  return () => pids.reduce((sum, p, i) => sum + cpuDeltaNs(before[i]!, snapshot(p)), 0);
}

/** The JavaScriptCore compiler threads' share of a Bun process's CPU (0 for a C worker). */
const jitSnapshot = (pid: number): Map<number, number> => threadCpuSnapshot(pid, "JITWorker");

const exited = (workers: readonly Peer[]) => (): string | null => {
  for (const w of workers) {
    if (w.proc.exitCode !== null || w.proc.signalCode !== null) {
      return `worker ${w.name} (pid ${w.pid}) exited (${w.proc.exitCode ?? w.proc.signalCode}): ${w.stderr().slice(-800)}`;
    }
  }
  return null;
};

type Counts = Record<string, number>;

/** The embedded servers, `count` of them in one process. */
async function startEmbedded(
  count: number,
  pin: Pinning,
): Promise<{ addresses: string[]; pids: number[]; stop(): Promise<void> }> {
  const peer = spawnPeer("gearbun-server", [
    ...pin.prefix("server"),
    BUN,
    join(PEERS_DIR, "gearbun-server.ts"),
    "--count",
    String(count),
  ]);
  const hello = await peer.firstJson(30_000);
  const ports = hello?.ports ?? (hello?.port !== undefined ? [hello.port] : null);
  if (!Array.isArray(ports)) {
    await peer.stop(500);
    throw new Error(`embedded servers did not start: ${peer.stderr().slice(-2000)}`);
  }
  return {
    addresses: ports.map((p) => `127.0.0.1:${p}`),
    pids: [peer.pid],
    stop: async () => void (await peer.stop(2000)),
  };
}

/** gearmand is started by the shared helper, so it is pinned once it runs (every thread). */
async function startGearmands(
  count: number,
  args: readonly string[],
  pin: Pinning,
): Promise<{ addresses: string[]; pids: number[]; stop(): Promise<void> }> {
  const servers: JobServer[] = [];
  for (let i = 0; i < count; i++) {
    const server = await startJobServer("gearmand", null, ["--threads", "1", ...args]);
    servers.push(server);
    pin.pinRunning(server.pid, "server");
  }
  return {
    addresses: servers.map((s) => s.address),
    pids: servers.map((s) => s.pid),
    stop: async () => void (await Promise.allSettled(servers.map((s) => s.stop()))),
  };
}

async function scaleRow(
  kase: ScaleCase,
  peer: ScalePeer,
  loadgen: LoadgenId,
  cPeers: ReturnType<typeof buildCPeers>,
  opts: ThroughputOptions,
  pin: Pinning,
  step: string,
): Promise<Row> {
  const jobs = opts.jobsOverride ?? kase.jobs;
  const warmup = warmupJobs(jobs);
  const head = {
    section: "scale" as const,
    caseId: kase.id,
    caseTitle: kase.title,
    peerId: peer.id,
    label: peer.label,
    bytes: BYTES,
    jobs,
    pin: pin.describe(),
  };
  let servers: Awaited<ReturnType<typeof startEmbedded>> | null = null;
  const workers: Peer[] = [];
  let poller: StatusPoller | null = null;
  try {
    servers =
      kase.target === "embedded"
        ? await startEmbedded(kase.servers, pin)
        : await startGearmands(kase.servers, kase.gearmandArgs, pin);
    const addresses = servers.addresses;
    poller = new StatusPoller(addresses);
    opts.progress(`${step} ${kase.id} · ${peer.label} · starting`);
    for (let i = 0; i < kase.procs; i++) {
      workers.push(spawnPeer(peer.id, [...pin.prefix("worker"), ...peer.command(addresses)]));
    }
    await poller.waitWorkers(FN, kase.procs, 60_000, exited(workers));
    assertPinned(servers.pids, pin.cpu("server"), "job server");
    assertPinned(
      workers.map((w) => w.pid),
      pin.cpu("worker"),
      "worker",
    );
    // One load generator over every server (the gearbun client goes round-robin); the axis of
    // many workers has one server, where the libgearman client costs least.
    const targets = kase.axis === "servers" ? [addresses.join(",")] : addresses;
    const gen: LoadgenId = kase.axis === "servers" ? "gearbun" : loadgen;
    const once = async (n: number) => {
      const workerCpu = cpuMeter(workers.map((w) => w.pid));
      const workerJit = cpuMeter(
        workers.map((w) => w.pid),
        jitSnapshot,
      );
      const workerUserSys = userSysMeter(workers.map((w) => w.pid));
      const serverCpu = cpuMeter(servers!.pids);
      const loadgenPin = pin.prefix("loadgen");
      const run = await runLoadgens(gen, cPeers, targets, n, BYTES, kase.window, false, runTimeout(n), FN, loadgenPin);
      const dead = exited(workers)();
      if (dead !== null) throw new Error(dead);
      return {
        jobsPerSecond: (n * 1000) / run.elapsed_ms,
        workerNs: workerCpu(),
        jitNs: workerJit(),
        serverNs: serverCpu(),
        worker: workerUserSys(),
      };
    };
    opts.progress(`${step} ${kase.id} · ${peer.label} · warm-up (${fmt(warmup)} jobs)`);
    const first = await once(warmup);
    let more = moreWarmupJobs(jobs, warmup, first.jobsPerSecond);
    let warmNs = first.workerNs;
    if (more > 0) {
      opts.progress(`${step} ${kase.id} · ${peer.label} · warm-up (${fmt(more)} more jobs)`);
      const second = await once(more);
      warmNs += second.workerNs;
      const third = perProcessWarmupJobs(jobs, kase.procs, wakesAll(kase), warmup + more, second.jobsPerSecond);
      if (third > 0) {
        opts.progress(
          `${step} ${kase.id} · ${peer.label} · warm-up (${fmt(third)} more jobs, ${kase.procs} processes)`,
        );
        warmNs += (await once(third)).workerNs;
        more += third;
      }
    }
    const warmNote = `warm-up ${fmt(warmup + more)} jobs: ${(warmNs / 1e6 / kase.procs).toFixed(0)} ms CPU per worker process`;
    const runs = [];
    for (let r = 1; r <= opts.runs; r++) {
      opts.progress(`${step} ${kase.id} · ${peer.label} · run ${r}/${opts.runs} (${fmt(jobs)} jobs)`);
      runs.push(await once(jobs));
    }
    const expected = warmup + more + jobs * opts.runs;
    const reports = await Promise.all(
      workers.map(async (w) => {
        await w.stop(5000);
        return w.firstJson(100);
      }),
    );
    let done = 0;
    const received: Counts = {};
    const sent: Counts = {};
    let counted = false;
    for (const r of reports) {
      done += typeof r?.jobs === "number" ? r.jobs : Number.NaN;
      const packets = r?.packets as { received: Counts; sent: Counts } | undefined;
      if (packets === undefined) continue;
      counted = true;
      for (const [k, v] of Object.entries(packets.received)) received[k] = (received[k] ?? 0) + v / expected;
      for (const [k, v] of Object.entries(packets.sent)) sent[k] = (sent[k] ?? 0) + v / expected;
    }
    let note: string | undefined;
    if (Number.isNaN(done)) note = "worker did not report its job count";
    else if (done !== expected) note = `workers report ${fmt(done)} jobs done, ${fmt(expected)} submitted`;
    // User and kernel time come in clock ticks: summed over the measured runs, not a median.
    const measured = jobs * runs.length;
    const userUs = runs.reduce((sum, m) => sum + m.worker.userNs, 0) / 1000 / measured;
    const sysUs = runs.reduce((sum, m) => sum + m.worker.sysNs, 0) / 1000 / measured;
    const row: Row = {
      ...head,
      status: note !== undefined && !Number.isNaN(done) && done < expected ? "failed" : "ok",
      note: [pinNote(pin), warmNote, ...(note !== undefined ? [note] : [])].join("; "),
      jobsPerSecond: spread(runs.map((m) => m.jobsPerSecond)),
      cpuUsPerJob: median(runs.map((m) => m.workerNs / 1000 / jobs)),
      workerCpuUsPerJob: median(runs.map((m) => m.workerNs / 1000 / jobs)),
      workerUserUsPerJob: userUs,
      workerSysUsPerJob: sysUs,
      workerJitUsPerJob: median(runs.map((m) => m.jitNs / 1000 / jobs)),
      serverCpuUsPerJob: median(runs.map((m) => m.serverNs / 1000 / jobs)),
      ...(counted ? { packetsPerJob: { received, sent } } : {}),
    };
    opts.progress(
      `${step} ${kase.id} · ${peer.label} · ${fmt(row.jobsPerSecond!.median)} jobs/s, ${row.workerCpuUsPerJob!.toFixed(1)} µs/job (user ${userUs.toFixed(1)}, sys ${sysUs.toFixed(1)})`,
      true,
    );
    return row;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    opts.progress(`${step} ${kase.id} · ${peer.label} · FAILED: ${message.split("\n")[0]}`, true);
    return { ...head, status: "failed", note: message.replace(/\s+/g, " ").slice(0, 300) };
  } finally {
    await Promise.allSettled(workers.map((w) => w.stop(2000)));
    await poller?.close();
    await servers?.stop();
  }
}

/** The pinning in a row's note: the mode, and why it is off when it was asked for. */
const pinNote = (pin: Pinning): string =>
  pin.fallback === null ? `pin ${pin.mode}` : `pin off (${pin.requested} asked; ${pin.fallback})`;

/** Runs the selected scale rows; never throws for a failing row (the row says why). */
export async function runScale(opts: ThroughputOptions): Promise<{ rows: Row[]; notes: string[] }> {
  installCleanup();
  const plan = scalePlan(opts);
  if (opts.dryRun) {
    for (const { kase, peerId } of plan) {
      const jobs = opts.jobsOverride ?? kase.jobs;
      opts.log(
        `${kase.id.padEnd(18)} ${peerId.padEnd(14)} ${fmt(jobs).padStart(8)} jobs/run × ${opts.runs} + warm-up ${fmt(warmupJobs(jobs))} (to ${fmt(Math.min(10_000, 5 * jobs))} within 3 s${kase.procs > 1 ? `, then to ${fmt(perProcessWarmupJobs(jobs, kase.procs, wakesAll(kase), 0, Number.POSITIVE_INFINITY))} within 60 s` : ""})`,
      );
    }
    opts.log(`${plan.length} scale rows`);
    return { rows: [], notes: [] };
  }
  if (plan.length === 0) return { rows: [], notes: [] };
  if (!haveGearmandBinary()) {
    opts.log("SKIP scale rows: gearmand is not installed (apt-get install gearman-job-server)");
    return { rows: [], notes: ["gearmand is not installed: no scale figures"] };
  }
  const cPeers = buildCPeers(opts.log);
  const peers = scalePeers(cPeers?.worker ?? null);
  const loadgen: LoadgenId = opts.loadgen === "auto" ? (cPeers !== null ? "c" : "gearbun") : opts.loadgen;
  const pin = resolvePinning(opts.pin);
  if (pin.fallback !== null) opts.log(`scale rows: --pin ${pin.requested} not possible (${pin.fallback}): not pinned`);
  const rows: Row[] = [];
  let i = 0;
  try {
    for (const { kase, peerId } of plan) {
      i++;
      const peer = peers.get(peerId);
      if (peer === undefined) continue;
      rows.push(await scaleRow(kase, peer, loadgen, cPeers, opts, pin, `[scale ${i}/${plan.length}]`));
    }
  } finally {
    await stopAll();
  }
  const byCase = new Map<string, Row>();
  for (const r of rows) if (r.peerId === "c" && r.status === "ok") byCase.set(r.caseId, r);
  for (const r of rows) {
    const base = byCase.get(r.caseId);
    if (base?.jobsPerSecond === undefined || r.jobsPerSecond === undefined) continue;
    r.ratio = {
      jobsPerSecond: r.jobsPerSecond.median / base.jobsPerSecond.median,
      cpu: (r.cpuUsPerJob ?? Number.NaN) / (base.cpuUsPerJob ?? Number.NaN),
    };
  }
  const notes = [
    "Scale rows: servers-* spread foreground jobs round-robin over every server with one gearbun client (1,000 in flight); " +
      `workers-* send one job at a time with the ${loadgen === "c" ? "libgearman" : "gearbun"} client. Packets per job are counted by the gearbun worker (warm-up included).`,
    `Scale rows: --pin ${pin.describe()}. On a 2-core machine the one-job-at-a-time rows depend on placement more than on code: ` +
      "a worker on the job server's CPU takes each job without a cross-CPU wake-up, several times cheaper per job.",
  ];
  return { rows, notes };
}

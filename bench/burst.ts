/**
 * The client burst rows: a bulk enqueue of background submits made in one loop that awaits none,
 * into one gearmand `--threads 1` with no worker (the jobs stay queued), beside the libgearman
 * client doing the same (bench/peers/submitter.c with the window at the job count: every task is
 * added before run_tasks sends them).
 *
 * - gearbun: client.submitBackground() × N in a synchronous loop, each settled by shared handlers;
 * - gearbun-window: the same with `maxInFlight: 10000`;
 * - c: libgearman's add_task_background × N, then run_tasks.
 *
 * Per row: the time from the first submit to the last JOB_CREATED (the load generator's clock),
 * its CPU per submit, its peak RSS (VmHWM) and its RSS when the clock started. For gearbun also
 * what the issue-26 target is about: RSS growth per pending background submit, taken when the loop
 * ends — every submit made and none answered (replies are read only once the loop returns) —
 * minus RSS when it started, over the submit count; and the peak's growth per submit beside it,
 * which adds what reading 300,000 replies costs until the collector frees it. Each run starts its
 * own gearmand, so every run enqueues into an empty server.
 *
 *   bun run bench --case burst            # the three rows (1,000,000 submits; --quick: 100,000)
 *   bun run bench --case burst --peer gearbun,c --jobs 200000
 */
import { join } from "node:path";
import {
  buildCPeers,
  haveGearmandBinary,
  installCleanup,
  PEERS_DIR,
  spawnPeer,
  startJobServer,
  stopAll,
  type CPeers,
} from "./support.ts";
import type { ThroughputOptions } from "./options.ts";
import { fmt, median, type Row, spread } from "./rows.ts";

const FN = "burst";
const BYTES = 16;

interface BurstPeer {
  readonly id: string;
  readonly label: string;
  /** Runs at most (libgearman takes minutes per million: its task list is walked per packet). */
  readonly maxRuns?: number;
  command(server: string, jobs: number, c: CPeers | null): string[];
}

const gearbun = (maxInFlight: number): BurstPeer => ({
  id: maxInFlight === 0 ? "gearbun" : "gearbun-window",
  label: maxInFlight === 0 ? "gearbun Client" : `gearbun Client, maxInFlight ${fmt(maxInFlight)}`,
  command: (server, jobs) => [
    process.execPath,
    join(PEERS_DIR, "gearbun-submitter.ts"),
    "--servers",
    server,
    "--fn",
    FN,
    "--jobs",
    String(jobs),
    "--bytes",
    String(BYTES),
    "--background",
    "--burst",
    "--max-in-flight",
    String(maxInFlight),
  ],
});

const libgearman: BurstPeer = {
  id: "c",
  label: "libgearman client (add_task_background × N, run_tasks)",
  maxRuns: 1,
  command: (server, jobs, c) => {
    if (c === null) throw new Error("the libgearman load generator is not built");
    return [c.submitter, "-s", server, "-f", FN, "-n", String(jobs), "-p", String(BYTES), "-w", String(jobs), "-b"];
  },
};

export const BURST_PEERS: readonly BurstPeer[] = [gearbun(0), gearbun(10_000), libgearman];

interface BurstRun {
  elapsedMs: number;
  cpuUs: number;
  maxRssKb: number;
  rssStartKb: number;
  /** RSS when the submit loop ended (gearbun only). */
  rssPendingKb: number | undefined;
}

/** KiB of growth as bytes per submit. */
const perSubmit = (kb: number, jobs: number): number => (kb * 1024) / jobs;

async function runOnce(peer: BurstPeer, jobs: number, c: CPeers | null): Promise<BurstRun> {
  const server = await startJobServer("gearmand", null, ["--threads", "1"]);
  try {
    const gen = spawnPeer(`burst-${peer.id}`, peer.command(server.address, jobs, c));
    const killer = setTimeout(() => gen.proc.kill("SIGKILL"), 600_000);
    const code = await gen.proc.exited;
    clearTimeout(killer);
    const r = (await gen.firstJson(1000)) as Record<string, number> | null;
    if (r === null || code !== 0 || r.ok !== jobs) {
      throw new Error(`${peer.label} failed (exit ${code}): ${JSON.stringify(r)} ${gen.stderr().slice(-800)}`);
    }
    return {
      elapsedMs: r.elapsed_ms!,
      cpuUs: r.cpu_us!,
      maxRssKb: r.maxrss_kb!,
      rssStartKb: r.rss_start_kb ?? 0,
      rssPendingKb: r.rss_pending_kb,
    };
  } finally {
    await server.stop();
  }
}

export function burstPlan(opts: Pick<ThroughputOptions, "caseFilter" | "peerFilter">): BurstPeer[] {
  if (opts.caseFilter !== null && !opts.caseFilter.includes("burst")) return [];
  return BURST_PEERS.filter((p) => opts.peerFilter === null || opts.peerFilter.includes(p.id));
}

/** Runs the selected burst rows; never throws for a failing row (the row says why). */
export async function runBurst(opts: ThroughputOptions): Promise<{ rows: Row[]; notes: string[] }> {
  installCleanup();
  const plan = burstPlan(opts);
  const jobs = opts.jobsOverride ?? (opts.quick ? 100_000 : 1_000_000);
  const runsOf = (p: BurstPeer): number => Math.min(opts.runs, p.maxRuns ?? opts.runs);
  if (opts.dryRun) {
    for (const p of plan)
      opts.log(`${"burst".padEnd(16)} ${p.id.padEnd(16)} ${fmt(jobs).padStart(8)} jobs/run × ${runsOf(p)}`);
    opts.log(`${plan.length} burst rows`);
    return { rows: [], notes: [] };
  }
  if (plan.length === 0) return { rows: [], notes: [] };
  if (!haveGearmandBinary()) {
    opts.log("SKIP burst rows: gearmand is not installed (apt-get install gearman-job-server)");
    return { rows: [], notes: ["gearmand is not installed: no burst figures"] };
  }
  const c = plan.some((p) => p.id === "c") ? buildCPeers(opts.log) : null;
  const title = `${fmt(jobs)} background submits in one loop that awaits none, 16 B, into 1 gearmand --threads 1 (no worker)`;
  const rows: Row[] = [];
  try {
    for (const [i, peer] of plan.entries()) {
      const what = `[burst ${i + 1}/${plan.length}] ${peer.label}`;
      const head = {
        section: "burst",
        caseId: "burst",
        caseTitle: title,
        peerId: peer.id,
        label: peer.label,
        bytes: BYTES,
        jobs,
      } as const;
      const runs: BurstRun[] = [];
      try {
        for (let r = 1; r <= runsOf(peer); r++) {
          opts.progress(`${what} · run ${r}/${runsOf(peer)} (${fmt(jobs)} submits)`);
          runs.push(await runOnce(peer, jobs, c));
        }
        const row: Row = {
          ...head,
          status: "ok",
          jobsPerSecond: spread(runs.map((m) => (jobs * 1000) / m.elapsedMs)),
          burstSeconds: spread(runs.map((m) => m.elapsedMs / 1000)),
          cpuUsPerJob: median(runs.map((m) => m.cpuUs / jobs)),
          clientPeakRssKb: Math.max(...runs.map((m) => m.maxRssKb)),
          clientStartRssKb: median(runs.map((m) => m.rssStartKb)),
          peakRssBytesPerSubmit: median(runs.map((m) => perSubmit(m.maxRssKb - m.rssStartKb, jobs))),
          ...(runs.every((m) => m.rssPendingKb !== undefined)
            ? { pendingRssBytesPerSubmit: median(runs.map((m) => perSubmit(m.rssPendingKb! - m.rssStartKb, jobs))) }
            : {}),
          ...(runs.length < opts.runs ? { note: `${runs.length} run (libgearman takes minutes per million)` } : {}),
        };
        opts.progress(`${what} · ${(row.burstSeconds!.median).toFixed(2)} s`, true);
        rows.push(row);
      } catch (error) {
        opts.progress(`${what} · FAILED`, true);
        rows.push({
          ...head,
          status: "failed",
          note: error instanceof Error ? error.message.slice(0, 300) : String(error),
        });
      }
    }
  } finally {
    await stopAll();
  }
  const base = rows.find((r) => r.peerId === "c" && r.status === "ok");
  for (const r of rows) {
    if (base === undefined || r === base || r.jobsPerSecond === undefined) continue;
    r.ratio = {
      jobsPerSecond: r.jobsPerSecond.median / base.jobsPerSecond!.median,
      cpu: (r.cpuUsPerJob ?? Number.NaN) / (base.cpuUsPerJob ?? Number.NaN),
    };
  }
  const notes: string[] = [];
  const g = rows.find((r) => r.peerId === "gearbun" && r.status === "ok");
  if (g !== undefined && g.pendingRssBytesPerSubmit !== undefined) {
    notes.push(
      `burst: gearbun's RSS growth with all ${fmt(jobs)} background submits pending is ${g.pendingRssBytesPerSubmit.toFixed(0)} bytes per submit (target ≤ 300); its peak RSS over its start, once the replies were read too, ${g.peakRssBytesPerSubmit!.toFixed(0)} bytes per submit`,
    );
  }
  return { rows, notes };
}

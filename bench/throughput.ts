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
 *
 * This module plans the rows and runs them; the parts live beside it: bench/options.ts (command
 * line), bench/cases.ts, bench/worker-peers.ts, bench/loadgens.ts, bench/worker-rows.ts,
 * bench/client-rows.ts, bench/row-runs.ts and bench/rows.ts (the row and its statistics).
 */
import { type Case, type ClientCase, cases, clientCases } from "./cases.ts";
import { clientRow } from "./client-rows.ts";
import type { LoadgenId } from "./loadgens.ts";
import { parseThroughputArgs, type ThroughputOptions } from "./options.ts";
import { resolvePinning } from "./pin.ts";
import { warmupJobs } from "./row-runs.ts";
import { fmt, type Row, type ThroughputResult } from "./rows.ts";
import { buildCPeers, buildMssShim, haveGearmandBinary, installCleanup, stopAll } from "./support.ts";
import { peerTable, type WorkerPeer } from "./worker-peers.ts";
import { workerRow } from "./worker-rows.ts";

/** Each row's jobs/s and CPU per job against the baseline peer's row of the same section and case. */
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

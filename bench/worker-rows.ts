/**
 * One worker row: fresh job server(s) and worker process(es), pinned, warmed up, then measured
 * runs, foreground (load generators keep the window full) or drain (a queue filled while the
 * workers are paused). Reports jobs/s, the workers' and servers' CPU per job and peak RSS, and
 * checks that the workers did every job submitted.
 */
import type { Case } from "./cases.ts";
import { type LoadgenId, runLoadgens } from "./loadgens.ts";
import type { ThroughputOptions } from "./options.ts";
import { assertPinned, type Pinning } from "./pin.ts";
import { deadWorker, deltaAll, runTimeout, snapshotAll, warmupJobs } from "./row-runs.ts";
import { failedRow, fmt, type Measured, type Row, runFigures } from "./rows.ts";
import { type CPeers, ECHO_FN, type JobServer, type Peer, spawnPeer, StatusPoller, startJobServer } from "./support.ts";
import { peakRssKb, userSysMeter } from "./proc.ts";
import { moreWarmupJobs } from "./warmup.ts";
import type { WorkerPeer } from "./worker-peers.ts";

async function startWorkers(peer: WorkerPeer, addresses: string[], procs: number, pin: Pinning): Promise<Peer[]> {
  const workers: Peer[] = [];
  for (let i = 0; i < procs; i++)
    workers.push(spawnPeer(peer.id, [...pin.prefix("worker"), ...peer.command(addresses)]));
  return workers;
}

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
    ECHO_FN,
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
      ECHO_FN,
      pin.prefix("loadgen"),
    );
    const queued = await poller.read(ECHO_FN);
    if (queued.total < jobs) throw new Error(`only ${queued.total} of ${jobs} jobs queued before the workers resumed`);
  } catch (error) {
    for (const w of workers) w.proc.kill("SIGCONT");
    throw error;
  }
  const wBefore = snapshotAll(wpids);
  const sBefore = snapshotAll(spids);
  const t0 = performance.now();
  for (const w of workers) w.proc.kill("SIGCONT");
  const t1 = await poller.waitDrained(ECHO_FN, runTimeout(jobs, kase.bytes), deadWorker(workers));
  const workerCpuNs = deltaAll(wBefore, wpids);
  const serverCpuNs = deltaAll(sBefore, spids);
  return { jobsPerSecond: (jobs * 1000) / (t1 - t0), workerCpuNs, serverCpuNs, wallMs: t1 - t0 };
}

/** A worker row's run: the figures every row has, and the worker processes' user and kernel time. */
interface WorkerMeasured extends Measured {
  worker: { userNs: number; sysNs: number };
}

export async function workerRow(
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
    await poller.waitWorkers(ECHO_FN, kase.procs, 30_000, deadWorker(workers));
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

/**
 * One client row: the load generator differs (libgearman, gearbun, the Bun floor client), the
 * worker is the C worker in several processes. The client gets a CPU of its own and is the
 * measured process.
 */
import { CLIENT_WORKER_PROCS, type ClientCase } from "./cases.ts";
import { type LoadgenId, type LoadgenRun, runLoadgens } from "./loadgens.ts";
import type { ThroughputOptions } from "./options.ts";
import { assertPinned, resolvePinning } from "./pin.ts";
import { deadWorker, deltaAll, runTimeout, snapshotAll, warmupJobs } from "./row-runs.ts";
import { failedRow, fmt, median, type Row, spread } from "./rows.ts";
import { type CPeers, ECHO_FN, type JobServer, type Peer, spawnPeer, StatusPoller, startJobServer } from "./support.ts";

export async function clientRow(
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
      workers.push(spawnPeer("c", [...pin.prefix("server"), c.worker, "-s", server.address, "-f", ECHO_FN]));
    await poller.waitWorkers(ECHO_FN, CLIENT_WORKER_PROCS, 30_000, deadWorker(workers));
    assertPinned([server.pid, ...workers.map((w) => w.pid)], pin.cpu("server"), "gearmand and C workers");
    const once = async (n: number) => {
      // A Bun client first runs `n` jobs in-process before its clock starts (its JIT warm-up); the
      // C workers run those jobs too, so their CPU is measured over 2n jobs.
      const inProcessWarmup = loadgen === "c" ? 0 : n;
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
        runTimeout(n + inProcessWarmup, 16),
        ECHO_FN,
        pin.prefix("worker"),
        inProcessWarmup,
      );
      // Background jobs are done once created; let the workers drain them before the next run.
      if (kase.background) await poller!.waitDrained(ECHO_FN, runTimeout(n, 16), deadWorker(workers));
      return { run, workerCpuNs: deltaAll(before, wpids), workerJobs: n + inProcessWarmup };
    };
    opts.progress(`${step} ${kase.id} · ${label} · warm-up`);
    await once(warmup);
    const runs: { run: LoadgenRun; workerCpuNs: number; workerJobs: number }[] = [];
    for (let r = 1; r <= opts.runs; r++) {
      opts.progress(`${step} ${kase.id} · ${label} · run ${r}/${opts.runs} (${fmt(jobs)} jobs)`);
      runs.push(await once(jobs));
    }
    const row: Row = {
      ...head,
      status: "ok",
      jobsPerSecond: spread(runs.map((m) => (jobs * 1000) / m.run.elapsed_ms)),
      cpuUsPerJob: median(runs.map((m) => m.run.cpu_us / jobs)),
      workerCpuUsPerJob: median(runs.map((m) => m.workerCpuNs / 1000 / m.workerJobs)),
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

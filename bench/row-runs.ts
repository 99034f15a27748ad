/**
 * What the worker and client rows share around their measured runs: the size of the warm-up, how
 * long a run may take, whether a worker process died, and the CPU a group of processes used.
 */
import type { Peer } from "./support.ts";
import { cpuDeltaNs, cpuSnapshot } from "./proc.ts";

const MiB = 1024 * 1024;

/** The unmeasured first run: a tenth of a run, at least 200 small jobs (JIT, connections, caches). */
export const warmupJobs = (jobs: number, bytes: number): number =>
  Math.min(jobs, Math.max(Math.ceil(jobs / 10), bytes >= MiB ? 2 : 200));

/** Generous time for one run: the peers are slow at worst a few hundred jobs/s. */
export const runTimeout = (jobs: number, bytes: number): number =>
  30_000 + jobs * 20 + Math.ceil((jobs * bytes) / MiB) * 50;

/** Why a worker process is gone (for the poller's wait to fail fast), or null while all run. */
export const deadWorker = (workers: Peer[]) => (): string | null => {
  for (const w of workers) {
    if (w.proc.exitCode !== null || w.proc.signalCode !== null) {
      return `worker ${w.name} (pid ${w.pid}) exited (${w.proc.exitCode ?? w.proc.signalCode}): ${w.stderr().slice(-800)}`;
    }
  }
  return null;
};

/** CPU of a group of processes: a snapshot per process before a run, summed nanoseconds after it. */
export const snapshotAll = (pids: number[]): Map<number, number>[] => pids.map((p) => cpuSnapshot(p));
export const deltaAll = (before: Map<number, number>[], pids: number[]): number =>
  pids.reduce((sum, p, i) => sum + cpuDeltaNs(before[i]!, cpuSnapshot(p)), 0);

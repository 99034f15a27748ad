/** Warm-up rules shared by the rows whose worker processes are fresh Bun (JIT) processes. */

/**
 * A JIT runtime keeps getting cheaper per job for its first several thousand jobs (gearbun at one
 * job at a time: ~40 µs/job over jobs 200–4,000, ~21–26 µs/job past 10,000), so after the first
 * warm-up a second one brings the total to 10,000 jobs, at most 3 s at the rate just seen and at
 * most 5 runs' worth (keeps `--jobs` smoke runs short).
 */
export const moreWarmupJobs = (jobs: number, warmup: number, jobsPerSecond: number): number =>
  Math.max(0, Math.min(10_000, 5 * jobs, Math.round(jobsPerSecond * 3)) - warmup);

/**
 * Each of many worker processes compiles the same code on its own share of the events. One gearbun
 * worker's JIT (BUN_JSC_reportCompileTimes) compiles 243 ms in all, 217 ms of it FTL, between its
 * 1,000th and ~15,000th job, then nothing more; before that, code also runs in slower tiers. At 10
 * workers with --worker-wakeup 1, warmed 1,500 jobs per process, the JIT threads still took 39
 * µs/job of 157; warmed 15,000 per process, none, and the workers cost 127 µs/job against C's 119.
 * So the workers rows warm every process to ~15,000 events: under the default wake-up every job
 * wakes every process (15,000 jobs); with one woken per job a process sees ~2.8 events per job
 * over all of them (~5,500 jobs per process). Bounded by 60 s at the rate seen and 100 runs'
 * worth; the warm-up's CPU per process is reported beside the steady figure.
 */
export const perProcessWarmupJobs = (
  jobs: number,
  procs: number,
  wakesAll: boolean,
  done: number,
  jobsPerSecond: number,
): number =>
  procs <= 1
    ? 0
    : Math.max(0, Math.min(wakesAll ? 15_000 : 5_500 * procs, 100 * jobs, Math.round(jobsPerSecond * 60)) - done);

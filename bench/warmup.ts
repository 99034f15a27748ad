/** Warm-up rules shared by the rows whose worker processes are fresh Bun (JIT) processes. */

/**
 * A JIT runtime keeps getting cheaper per job for its first several thousand jobs (gearbun at one
 * job at a time: ~40 µs/job over jobs 200–4,000, ~21–26 µs/job past 10,000), so after the first
 * warm-up a second one brings the total to 10,000 jobs, at most 3 s at the rate just seen and at
 * most 5 runs' worth (keeps `--jobs` smoke runs short).
 */
export const moreWarmupJobs = (jobs: number, warmup: number, jobsPerSecond: number): number =>
  Math.max(0, Math.min(10_000, 5 * jobs, Math.round(jobsPerSecond * 3)) - warmup);

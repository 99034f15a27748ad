/**
 * The CPU-heavy job of the pool benchmark: a deterministic hash loop (FNV-1a over the payload,
 * then `iterations` rounds of multiply-xor-shift). The benchmark calibrates `iterations` once on
 * this machine so one call costs about the CPU it wants per job, and hands it to the workers.
 */

/** Environment variable carrying the calibrated iteration count to the pool's children. */
export const BURN_ITERATIONS_ENV = "GEARBUN_BENCH_BURN_ITERATIONS";

export function burn(seed: Uint8Array, iterations: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed[i]!, 0x01000193);
  for (let i = 0; i < iterations; i++) h = Math.imul(h ^ (i & 0xff), 0x01000193) ^ (h >>> 13);
  return h >>> 0;
}

/**
 * Iterations of `burn` that cost `targetUs` of this process's CPU: doubles until a batch of calls
 * takes long enough to time, then scales, and checks the result once more.
 */
export function calibrateBurn(targetUs: number): number {
  const seed = new Uint8Array(16).fill(97);
  let iterations = 10_000;
  let sink = 0;
  const perCallUs = (n: number, calls: number): number => {
    const start = process.cpuUsage();
    for (let i = 0; i < calls; i++) sink ^= burn(seed, n);
    const used = process.cpuUsage(start);
    return (used.user + used.system) / calls;
  };
  perCallUs(iterations, 200); // JIT warm-up
  for (let round = 0; round < 3; round++) {
    const calls = Math.max(20, Math.ceil(100_000 / targetUs)); // ~100 ms of CPU per round
    const us = perCallUs(iterations, calls);
    iterations = Math.max(1, Math.round((iterations * targetUs) / Math.max(us, 0.001)));
  }
  if (sink === 0.5) console.log("unreachable"); // keeps the loop's result alive
  return iterations;
}

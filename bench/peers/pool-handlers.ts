/**
 * Handlers of the pool benchmark (bench/pool.ts), run by `gearbun worker`:
 * - `burn`: the CPU-heavy job, `GEARBUN_BENCH_BURN_ITERATIONS` rounds of bench/peers/burn.ts;
 * - `light`: echoes the payload (the same work as bench/peers/gearbun-worker.ts), so the
 *   supervisor's own cost is what differs from a plain Worker process.
 */
import { burn, BURN_ITERATIONS_ENV } from "./burn.ts";

const iterations = Number(process.env[BURN_ITERATIONS_ENV] ?? "0");
if (!Number.isInteger(iterations) || iterations < 0) throw new Error(`${BURN_ITERATIONS_ENV} must be a whole number`);

export default {
  burn: (job: { payload: Uint8Array }) => String(burn(job.payload, iterations)),
  light: (job: { payload: Uint8Array }) => job.payload,
};

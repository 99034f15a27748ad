/**
 * The load generators: the libgearman C submitter, gearbun's client and the Bun floor client, each
 * a process of its own that submits a count of echo jobs and prints one JSON report. One runs per
 * job server, all at once, and their reports are summed into one run.
 */
import { join } from "node:path";
import { BUN, type CPeers, ECHO_FN, PEERS_DIR, spawnPeer } from "./support.ts";

/** "bun-floor": bench/peers/floor-submitter.ts, the least a Bun client can do (foreground, one server). */
export type LoadgenId = "c" | "gearbun" | "bun-floor";

export interface LoadgenRun {
  jobs: number;
  ok: number;
  failed: number;
  elapsed_ms: number;
  cpu_us: number;
  maxrss_kb: number;
}

function loadgenCommand(
  id: LoadgenId,
  c: CPeers | null,
  server: string,
  jobs: number,
  bytes: number,
  window: number,
  background: boolean,
  fn: string,
  warmup: number,
): string[] {
  // The Bun load generators run `warmup` jobs in the same process before their clock starts: a
  // client lives long in production, and a fresh process would measure its JIT warming up.
  const warm = warmup > 0 ? ["--warmup", String(warmup)] : [];
  if (id === "c") {
    if (c === null) throw new Error("the libgearman load generator is not built");
    return [
      c.submitter,
      "-s",
      server,
      "-f",
      fn,
      "-n",
      String(jobs),
      "-p",
      String(bytes),
      "-w",
      String(window),
      ...(background ? ["-b"] : []),
    ];
  }
  // The two Bun load generators take the same arguments; only gearbun's does background jobs.
  if (id === "bun-floor" && background) throw new Error("the Bun floor client submits foreground jobs only");
  const script = id === "bun-floor" ? "floor-submitter.ts" : "gearbun-submitter.ts";
  return [
    BUN,
    join(PEERS_DIR, script),
    "--servers",
    server,
    "--fn",
    fn,
    "--jobs",
    String(jobs),
    "--bytes",
    String(bytes),
    "--window",
    String(window),
    ...(background ? ["--background"] : []),
    ...warm,
  ];
}

/**
 * Runs one load generator per server concurrently (jobs and window split evenly); all must succeed.
 * `prefix` goes before each command (e.g. `taskset -c 0`).
 */
export async function runLoadgens(
  id: LoadgenId,
  c: CPeers | null,
  servers: readonly string[],
  jobs: number,
  bytes: number,
  window: number,
  background: boolean,
  timeoutMs: number,
  fn: string = ECHO_FN,
  prefix: readonly string[] = [],
  warmup = 0,
): Promise<LoadgenRun> {
  const n = servers.length;
  const gens = servers.map((server, i) => {
    const share = Math.floor(jobs / n) + (i < jobs % n ? 1 : 0);
    const w = Math.max(1, Math.floor(window / n));
    return spawnPeer(`loadgen-${id}`, [
      ...prefix,
      ...loadgenCommand(id, c, server, share, bytes, w, background, fn, warmup),
    ]);
  });
  const timer = setTimeout(() => {
    for (const g of gens) g.proc.kill("SIGKILL");
  }, timeoutMs);
  try {
    const codes = await Promise.all(gens.map((g) => g.proc.exited));
    const reports = await Promise.all(gens.map((g) => g.firstJson(1000)));
    const sum: LoadgenRun = { jobs: 0, ok: 0, failed: 0, elapsed_ms: 0, cpu_us: 0, maxrss_kb: 0 };
    for (let i = 0; i < gens.length; i++) {
      const r = reports[i] as Partial<LoadgenRun> | null;
      const g = gens[i]!;
      if (r === null || codes[i] !== 0 || r.ok !== r.jobs) {
        const why = g.proc.signalCode === "SIGKILL" ? `timed out after ${timeoutMs} ms` : `exit ${codes[i]}`;
        throw new Error(`load generator ${id} failed (${why}): ${JSON.stringify(r)} ${g.stderr().slice(-800)}`);
      }
      sum.jobs += r.jobs ?? 0;
      sum.ok += r.ok ?? 0;
      sum.failed += r.failed ?? 0;
      sum.elapsed_ms = Math.max(sum.elapsed_ms, r.elapsed_ms ?? 0);
      sum.cpu_us += r.cpu_us ?? 0;
      sum.maxrss_kb = Math.max(sum.maxrss_kb, r.maxrss_kb ?? 0);
    }
    return sum;
  } finally {
    clearTimeout(timer);
    await Promise.all(gens.map((g) => g.stop(500)));
  }
}

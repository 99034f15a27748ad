/**
 * `bun run bench`: the codec micro-benchmarks (mitata), then the end-to-end comparison of echo
 * workers and clients (bench/throughput.ts) and the worker pool's rows (bench/pool.ts), with a
 * progress line; prints the tables and writes bench/RESULTS.md and bench/results.svg.
 *
 *   bun run bench                 # the full run (long: 100,000-job runs, every peer)
 *   bun run bench --quick         # a short run (small job counts, fewer peers per case)
 *   bun run bench --skip-codec    # end-to-end only; also: --runs N --loadgen c|gearbun
 *                                 # --case fg-16b,... --peer c,gearbun-c16,... --jobs N --rounds N
 *                                 # --no-mss-shim (see bench/peers/mss-shim.c)
 *   bun run bench --case pool-cpu,pool-light,pool-metrics   # only the worker pool's rows (bench/pool.ts)
 *   bun run bench --case server-ref   # only the job servers side by side (bench/server-ref.ts)
 *   bun run bench --case servers,workers       # the scale rows (bench/scale.ts): many servers, many workers
 *   bun run bench --case burst    # a bulk enqueue of 1,000,000 background submits, gearbun vs libgearman (bench/burst.ts)
 *   bun run bench --case gray     # a frozen server's cost to the healthy one, worker and client, gearbun vs libgearman (bench/gray.ts)
 *   bun run bench --case gateway  # the HTTP gateway beside Client.submit and a bare Bun.serve route (bench/gateway.ts)
 *   bun run bench --case polyglot # a trivial handler in TS, Python and PHP under gearbun, and PHP under pecl-gearman (bench/polyglot.ts)
 *   bun run bench --case idle     # an idle worker's CPU beside the Bun floor's, 60 s (--jobs N: N seconds; bench/idle.ts)
 *   bun run bench --case tls      # TLS against plaintext on the embedded server (bench/tls.ts; bun run bench:tls)
 *   bun run bench --quick --dry-run   # list the rows a run would measure, run nothing
 *   bun run bench --no-write      # print only, leave RESULTS.md and results.svg alone
 *   bun run bench --help          # the options and their defaults
 */
import { runBurst } from "./burst.ts";
import { runCodecBench, type CodecFigure } from "./codec.bench.ts";
import { runGateway } from "./gateway.ts";
import { runGray } from "./gray.ts";
import { runIdle } from "./idle.ts";
import { printTable, progressPrinter, writeResults } from "./report.ts";
import { DEFAULT_PIN } from "./pin.ts";
import { runPolyglot } from "./polyglot.ts";
import { runPool } from "./pool.ts";
import { runServerRef } from "./server-ref.ts";
import { runScale } from "./scale.ts";
import { installCleanup } from "./support.ts";
import { parseThroughputArgs } from "./options.ts";
import { mergeRounds } from "./rounds.ts";
import type { ThroughputResult } from "./rows.ts";
import { runThroughput } from "./throughput.ts";
import { runTls } from "./tls.ts";

const HELP = `bun run bench [options]: codec micro-benchmarks, then end-to-end rows against real peers

  --quick                  small job counts, fewer peers per case
  --skip-codec             end-to-end rows only
  --no-write               print only, leave bench/RESULTS.md and bench/results.svg alone
  --dry-run                list the rows a run would measure, run nothing
  --case ID,...            only these cases (or groups: client, pool, server-ref, servers, workers, burst, tls, gateway, polyglot, gray, idle)
  --peer ID,...            only these peers (c, gearbun-c1, gearbun-c16, bun-floor, ...)
  --runs N                 measured runs per row (default 3)
  --rounds N               run the whole selection N times, peers alternating; report medians over
                           the rounds and each round's own ratios' median (default 1)
  --jobs N                 jobs per run for every row (default: each case's own)
  --loadgen c|gearbun      load generator of the worker rows (default auto: c when libgearman-dev is installed)
  --no-mss-shim            gearmand without the MSS shim in the large-payload cases
  --pin off|same|split     CPU pinning of the worker, client and scale rows with taskset (default ${DEFAULT_PIN}):
                           split = worker processes on CPU 1, job servers and load generator on CPU 0;
                           same = all on CPU 0; off = wherever the scheduler puts them`;

const argv = process.argv.slice(2);
if (argv.includes("--help") || argv.includes("-h")) {
  console.log(HELP);
  process.exit(0);
}
const own = new Set(["--skip-codec", "--no-write"]);
const skipCodec = argv.includes("--skip-codec") || argv.includes("--dry-run");
const write = !argv.includes("--no-write") && !argv.includes("--dry-run");
const options = parseThroughputArgs(argv.filter((a) => !own.has(a)));

installCleanup();
const startedAt = new Date();
const printer = progressPrinter();

let codec: CodecFigure[] = [];
if (!skipCodec) {
  printer.progress("codec micro-benchmarks (mitata)…");
  codec = await runCodecBench({ print: false });
  printer.progress(`codec micro-benchmarks: ${codec.length} figures`, true);
}

/** Every section once: one round. */
async function round(): Promise<ThroughputResult> {
  const result = await runThroughput({ ...options, progress: printer.progress, log: printer.log });
  const pool = await runPool({ ...options, progress: printer.progress, log: printer.log });
  result.rows.push(...pool.rows);
  result.notes.push(...pool.notes);
  if (!options.dryRun && (options.caseFilter === null || options.caseFilter.includes("server-ref"))) {
    const ref = await runServerRef({
      jobs: options.jobsOverride ?? (options.quick ? 5_000 : 50_000),
      runs: options.runs,
      servers: 1,
      pairs: null,
      pin: options.pin,
      progress: printer.progress,
      log: printer.log,
    });
    result.rows.push(...ref.rows);
    result.notes.push(...ref.notes);
  }
  const scale = await runScale({ ...options, progress: printer.progress, log: printer.log });
  result.rows.push(...scale.rows);
  result.notes.push(...scale.notes);
  const burst = await runBurst({ ...options, progress: printer.progress, log: printer.log });
  result.rows.push(...burst.rows);
  result.notes.push(...burst.notes);
  const tls = await runTls({ ...options, progress: printer.progress, log: printer.log });
  result.rows.push(...tls.rows);
  result.notes.push(...tls.notes);
  const gray = await runGray({ ...options, progress: printer.progress, log: printer.log });
  result.rows.push(...gray.rows);
  result.notes.push(...gray.notes);
  const gateway = await runGateway({ ...options, progress: printer.progress, log: printer.log });
  result.rows.push(...gateway.rows);
  result.notes.push(...gateway.notes);
  const polyglot = await runPolyglot({ ...options, progress: printer.progress, log: printer.log });
  result.rows.push(...polyglot.rows);
  result.notes.push(...polyglot.notes);
  const idle = await runIdle({ ...options, progress: printer.progress, log: printer.log });
  result.rows.push(...idle.rows);
  result.notes.push(...idle.notes);
  return result;
}

const rounds: ThroughputResult[] = [];
for (let r = 1; r <= (options.dryRun ? 1 : options.rounds); r++) {
  if (options.rounds > 1) printer.progress(`round ${r}/${options.rounds}`, true);
  rounds.push(await round());
}
const result: ThroughputResult = {
  ...rounds[0]!,
  rows: mergeRounds(rounds.map((x) => x.rows)),
  notes: [...new Set(rounds.flatMap((x) => x.notes))],
};
if (rounds.length > 1)
  result.notes.push(
    `--rounds ${rounds.length}: every row ran once per round, the peers of a case back to back; jobs/s and CPU are medians over the rounds (min – max over all runs), ratios the median of each round's own ratio.`,
  );
printer.done();
printTable(result, codec);

if (write) {
  const durationS = (Date.now() - startedAt.getTime()) / 1000;
  const command = `bun run bench${argv.length ? ` ${argv.join(" ")}` : ""}`;
  writeResults({ result, codec, command, startedAt, durationS });
  console.log("wrote bench/RESULTS.md and bench/results.svg");
}
process.exit(result.rows.some((r) => r.status === "failed") ? 1 : 0);

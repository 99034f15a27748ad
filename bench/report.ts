/**
 * Output of the benchmark: the progress line, the final table on the terminal, bench/RESULTS.md
 * and bench/results.svg (a bar chart drawn here, no chart library).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CodecFigure } from "./codec.bench.ts";
import {
  burstTable,
  grayTables,
  clientTable,
  codecTable,
  groupBy,
  int,
  markdownTable,
  poolTable,
  scaleTables,
  serverTable,
  type Table,
  textTable,
  tlsTable,
  gatewayTable,
  idleTable,
  workerTables,
} from "./report-tables.ts";
import { BENCH_DIR, machineInfo } from "./support.ts";
import type { Row, ThroughputResult } from "./rows.ts";

export { workerTables };

// ---------------------------------------------------------------------------------------------
// Progress

/** One status line, rewritten in place on a terminal; finished steps stay as lines of their own. */
export function progressPrinter(): {
  progress(line: string, final?: boolean): void;
  log(line: string): void;
  done(): void;
} {
  const tty = process.stderr.isTTY === true;
  const started = performance.now();
  let last = "";
  const stamp = (): string => {
    const s = Math.round((performance.now() - started) / 1000);
    return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
  };
  const clear = (): void => {
    if (tty && last !== "") process.stderr.write("\r\x1b[2K");
    last = "";
  };
  return {
    progress(line, final = false) {
      const text = `${stamp()} ${line}`;
      if (tty) {
        clear();
        if (final) process.stderr.write(`${text}\n`);
        else {
          const cols = process.stderr.columns ?? 120;
          last = text.length >= cols ? `${text.slice(0, cols - 2)}…` : text;
          process.stderr.write(last);
        }
      } else if (final) {
        process.stderr.write(`${text}\n`);
      }
    },
    log(line) {
      clear();
      process.stderr.write(`${line}\n`);
    },
    done() {
      clear();
    },
  };
}

/** The final table on stdout. */
export function printTable(result: ThroughputResult, codec: readonly CodecFigure[] = []): void {
  const tables = [
    ...workerTables(result.rows),
    clientTable(result.rows),
    burstTable(result.rows),
    ...grayTables(result.rows),
    poolTable(result.rows),
    serverTable(result.rows),
    ...scaleTables(result.rows),
    tlsTable(result.rows),
    gatewayTable(result.rows),
    idleTable(result.rows),
    codecTable(codec),
  ].filter((t): t is Table => t !== null);
  console.log("");
  for (const t of tables) console.log(`${textTable(t)}\n`);
  for (const n of result.notes) console.log(`note: ${n}`);
}

// ---------------------------------------------------------------------------------------------
// RESULTS.md and results.svg

export interface ReportInput {
  result: ThroughputResult;
  codec: readonly CodecFigure[];
  command: string;
  startedAt: Date;
  durationS: number;
}

export function writeResults(input: ReportInput): { markdown: string; svg: string } {
  const m = machineInfo();
  const { result } = input;
  const loadgen =
    result.loadgen === "c"
      ? "the libgearman client (bench/peers/submitter.c)"
      : "gearbun's client (bench/peers/gearbun-submitter.ts)";
  const parts: string[] = [];
  parts.push("# Benchmark results", "");
  parts.push(
    `Latest run: ${input.startedAt.toISOString().replace("T", " ").slice(0, 19)} UTC, ${Math.round(input.durationS)} s.`,
    "",
  );
  parts.push("Command:", "", "```sh", input.command, "```", "");
  parts.push(
    `Machine: ${m.nproc} cores (\`nproc\`), ${m.cpu}, Linux ${m.kernel}; Bun ${m.bun}, Node ${m.node}, ${m.gearmand} (default flags: 4 I/O threads).`,
    "",
  );
  parts.push("![jobs/s per peer](results.svg)", "");
  parts.push(
    "How to read it: every row starts its own job server(s) and worker process(es), pins them with taskset (--pin, shown in each " +
      "title; split: the worker processes on one CPU, the job servers and the load generator on the other) and waits until the " +
      "workers are registered; an unmeasured warm-up (a tenth of a run, then up to 10,000 jobs in all within 3 s: a fresh Bun " +
      `worker keeps getting cheaper per job for its first several thousand jobs), then ${result.runs} measured runs: jobs/s is their median, with min – max. ` +
      `The load generator of the worker rows is ${loadgen}, one process per server, so only the worker differs between rows. ` +
      "Foreground rows time the load generator's own clock from the first submit to the last result; background rows pause the " +
      "workers (SIGSTOP), fill the queue, resume them and time until the server reports the queue empty. " +
      "CPU is the worker process(es)' and the server's own accounting (/proc/PID/task/*/schedstat) over the measured runs, per job; " +
      "worker user/sys is utime/stime of /proc/PID/stat (10 ms ticks, summed over the measured runs); " +
      "peak RSS is the largest VmHWM of the worker processes; server cores is server CPU time over wall time, i.e. the row's jobs/s as a " +
      "fraction of what the server could do with one core at that CPU per job (1,000,000 / server µs per job): near 1, gearmand is the bound " +
      "(it has I/O threads besides its main thread, so it can pass 1). × C is the ratio to the libgearman C worker row of the same case (for CPU: below 1 is cheaper). " +
      "Every worker reports the jobs it did when stopped: the sum must equal the jobs submitted (warm-up included), or the row says so. " +
      "The Node library peers (bench/peers/*.mjs) run with TCP_NODELAY forced on their sockets (Node's default Nagle delay would " +
      "otherwise cost them ~40 ms per job) and with a smaller job count per run, shown in the jobs/run column.",
    "",
  );
  for (const t of workerTables(result.rows)) parts.push(`## ${t.title}`, "", markdownTable(t), "");
  const ct = clientTable(result.rows);
  if (ct !== null) parts.push(`## ${ct.title}`, "", markdownTable(ct), "");
  const bt = burstTable(result.rows);
  if (bt !== null) parts.push(`## ${bt.title}`, "", BURST_HOW, "", markdownTable(bt), "");
  for (const t of grayTables(result.rows)) parts.push(`## ${t.title}`, "", GRAY_HOW, "", markdownTable(t), "");
  const pt = poolTable(result.rows);
  if (pt !== null) {
    parts.push(`## ${pt.title}`, "", POOL_HOW, "", markdownTable(pt), "");
  }
  const st = serverTable(result.rows);
  if (st !== null) parts.push(`## ${st.title}`, "", SERVER_HOW, "", markdownTable(st), "");
  for (const t of scaleTables(result.rows)) parts.push(`## ${t.title}`, "", SCALE_HOW, "", markdownTable(t), "");
  const tt = tlsTable(result.rows);
  if (tt !== null) parts.push(`## ${tt.title}`, "", TLS_HOW, "", markdownTable(tt), "");
  const gt = gatewayTable(result.rows);
  if (gt !== null) parts.push(`## ${gt.title}`, "", GATEWAY_HOW, "", markdownTable(gt), "");
  const it = idleTable(result.rows);
  if (it !== null) parts.push(`## ${it.title}`, "", IDLE_HOW, "", markdownTable(it), "");
  const cd = codecTable(input.codec);
  if (cd !== null) parts.push(`## ${cd.title}`, "", markdownTable(cd), "");
  if (result.notes.length > 0) parts.push("## Notes", "", ...result.notes.map((n) => `- ${n}`), "");
  const markdown = parts.join("\n");
  const svg = resultsSvg(result.rows);
  writeFileSync(join(BENCH_DIR, "RESULTS.md"), markdown);
  writeFileSync(join(BENCH_DIR, "results.svg"), svg);
  return { markdown, svg };
}

const BURST_HOW =
  "bench/burst.ts: each run starts its own gearmand --threads 1 with no worker; the load generator makes every background " +
  "submit in one loop that awaits none (libgearman: add_task_background for all, then run_tasks) and its own clock runs from " +
  "the first submit to the last JOB_CREATED. CPU and peak RSS (VmHWM) are the load generator's; RSS at start is taken when " +
  "its clock starts (Bun's runtime alone is ~40 MiB). RSS per pending submit (gearbun): RSS when the submit loop ends — every " +
  "submit made, none answered — minus RSS at start, over the submit count; the target for gearbun is ≤ 300 bytes. Peak RSS " +
  "per submit adds what reading the replies costs until the collector runs.";

const GRAY_HOW =
  "bench/gray.ts (only with --case gray): two gearmand, one SIGSTOPped for 10 s, then SIGCONT. Worker rows: both servers hold " +
  "background jobs that take 10 ms each; the healthy server's queue is read every 100 ms (admin status): jobs/s taken from it in " +
  "the 3 s before the freeze, its worst second and mean during the freeze, the 5 s after; the longest stretch of the freeze with " +
  "no job taken from it; whether the frozen one serves again after SIGCONT. Client rows: a gearbun echo worker (concurrency 16) " +
  "on both servers; 100 foreground submits a second without unique keys (libgearman: gearman_client_do one after the other, " +
  "its blocking call, I/O timeout 10 s; gearbun: Client.submit without waiting for earlier ones, default options); figures " +
  "over the submits started during the freeze.";

const SCALE_HOW =
  "bench/scale.ts: servers-emb-N runs N embedded servers in one process, servers-gd-N N gearmand processes (--threads 1); one " +
  "worker process is connected to all of them and one gearbun client spreads the jobs round-robin. workers-W runs W worker " +
  "processes (concurrency 1) on one gearmand --threads 1 (-wakeup1: --worker-wakeup 1) and sends one job at a time, so every " +
  "job wakes sleeping workers. CPU per job is all worker processes' together, and the servers' (schedstat); the workers' " +
  "user/sys split is utime/stime of /proc/PID/stat (10 ms clock ticks, summed over the measured runs). Packets per job " +
  "are counted by the gearbun worker (stats().servers[].packets), warm-up included, summed over its servers and processes. " +
  "Processes are pinned with taskset (--pin; default split: the worker processes on one CPU, the job servers and the load " +
  "generator on the other; same: all on one CPU; off: not pinned), since on 2 cores the one-job-at-a-time rows otherwise " +
  "measure where the scheduler placed each process. Each row warms up with up to 10,000 jobs (at most 3 s) before " +
  "its measured runs (many worker processes: more, up to 60 s, bench/warmup.ts): a Bun worker's CPU per job keeps falling " +
  "for its first several thousand jobs (JIT). \"Of which JIT\" is the part of the workers' CPU spent by JavaScriptCore's " +
  "compiler threads (JITWorker) during the measured runs: code still being compiled, not run.";

const TLS_HOW =
  "bench/tls.ts: each row starts `gearbun server` as its own process (plaintext, or --ssl with a CA: every connection mutual TLS, " +
  "P-256 certificates) and runs a gearbun Worker (concurrency 16) and Client in the bench process over loopback; 16 B echo jobs, " +
  "at most 256 in flight. CPU per job: the worker + client process (process.cpuUsage) and the server process (/proc schedstat) " +
  "over the measured runs. No target: the rows show what TLS costs.";

const IDLE_HOW =
  "bench/idle.ts (only with --case idle): every process connects to one gearmand --threads 1 at once and sleeps; no job is " +
  "submitted; CPU is each process's own (/proc/PID/task/*/schedstat) over the same seconds, after 5 s of settling. The floor " +
  "with gearbun's modules loaded shows what the runtime's periodic garbage collection costs for the code a real worker keeps " +
  "loaded; the heartbeat-off row shows what the heartbeat costs.";

const GATEWAY_HOW =
  "bench/gateway.ts: one job server and one gearbun echo worker process (concurrency 64) serve every row; each row's subject is a " +
  "process of its own: a Bun.serve route answering the body without a job (the HTTP floor), a Client submitting directly (no HTTP), " +
  "or the gateway (serveGateway → Client). A separate Bun load generator on 127.0.0.1 (bench/peers/http-loadgen.ts) keeps N " +
  "keep-alive requests going (the direct row drives its own submits); p50/p99 are its clocks per request. Subject CPU is the " +
  "subject process's /proc schedstat over a run, per request; the target at 64 concurrent: gateway ≤ (floor + direct) × 1.2 (see the notes).";

const POOL_HOW =
  "Each row has its own gearmand and workers; a case's rows run interleaved (run 1 of each, then run 2…). Per run the worker " +
  "processes are paused (SIGSTOP), the queue filled with background jobs, the workers resumed and timed until gearmand reports " +
  "the queue empty (bench/pool.ts). pool-cpu: a hash loop calibrated to ~0.5 ms " +
  "of CPU per job, `--processes 1` vs `2` (target ≥ 1.7× jobs/s). pool-light: 16 B echo jobs, a pool of one child vs a plain " +
  "Worker process with the same handler: the supervisor's own cost (target: jobs/s and CPU per job within 5 %). CPU per job " +
  "counts every process of the row, the supervisor's included; the pool runs with `--log off`.";

const SERVER_HOW =
  "gearmand `--threads 1` is gearmand at its best on a small machine and the reference of the ratios; the default-flag row " +
  "(4 I/O threads) is what a plain `gearmand` costs. Per pairing (load generator + worker) each server runs with its own " +
  "worker, warmed up, and the measured runs go round the servers so noise hits them alike (bench/server-ref.ts). Server CPU is " +
  "the server process's schedstat per job; jobs/s is the load generator's clock. Targets for the embedded server (issue 26): CPU per job " +
  "≤ 1.3× and jobs/s ≥ 1× gearmand `--threads 1`'s. The Bun floor server (bench/peers/floor-server.ts) is the least code a " +
  "Bun job server needs for this load: what the runtime costs, beside what the embedded server adds.";

const xml = (s: string): string =>
  s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");

function barColor(peerId: string): string {
  if (peerId === "c") return "#7f8c8d";
  if (peerId.startsWith("gearbun")) return peerId.endsWith("c1") ? "#f39c12" : "#d35400";
  if (peerId.endsWith("-node")) return "#2e86c1";
  return "#85c1e9";
}

/** Horizontal bars of median jobs/s, one panel per worker case (each scaled to its own maximum). */
export function resultsSvg(rows: readonly Row[]): string {
  const W = 960;
  const labelW = 250;
  const valueW = 110;
  const barMax = W - labelW - valueW - 20;
  const barH = 16;
  const gap = 4;
  const out: string[] = [];
  let y = 36;
  out.push(
    `<text x="10" y="22" font-size="16" font-weight="bold">Median jobs/s per echo worker, whiskers min – max (longer is better; each panel has its own scale)</text>`,
  );
  const byCase = groupBy(
    rows.filter((r) => r.section === "worker"),
    (r) => r.caseId,
  );
  for (const [id, list] of byCase) {
    const title = `${id}: ${list[0]!.caseTitle}`;
    y += 18;
    out.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">${xml(title)}</text>`);
    y += 6;
    const max = Math.max(1, ...list.map((r) => r.jobsPerSecond?.max ?? 0));
    for (const r of list) {
      const v = r.jobsPerSecond?.median;
      const w = v === undefined ? 0 : Math.max(1, (v / max) * barMax);
      let textX = labelW + w + 6;
      out.push(`<text x="${labelW - 8}" y="${y + barH - 4}" font-size="12" text-anchor="end">${xml(r.label)}</text>`);
      if (v !== undefined) {
        out.push(
          `<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${barColor(r.peerId)}"/>`,
        );
        if (r.jobsPerSecond !== undefined && r.jobsPerSecond.max > r.jobsPerSecond.min) {
          const x1 = labelW + (r.jobsPerSecond.min / max) * barMax;
          const x2 = labelW + (r.jobsPerSecond.max / max) * barMax;
          out.push(
            `<line x1="${x1.toFixed(1)}" x2="${x2.toFixed(1)}" y1="${y + barH / 2}" y2="${y + barH / 2}" stroke="#222" stroke-width="1"/>`,
          );
          for (const x of [x1, x2]) {
            out.push(
              `<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${y + 4}" y2="${y + barH - 4}" stroke="#222" stroke-width="1"/>`,
            );
          }
          textX = Math.max(textX, x2 + 6);
        }
      }
      const text =
        v === undefined ? r.status : `${int(v)}${r.ratio ? ` (${r.ratio.jobsPerSecond.toFixed(2)}× C)` : ""}`;
      out.push(`<text x="${textX.toFixed(1)}" y="${y + barH - 4}" font-size="12">${xml(text)}</text>`);
      y += barH + gap;
    }
    y += 6;
  }
  y += 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...out,
    "</svg>",
    "",
  ].join("\n");
}

/**
 * The seed scenario, solved, on screen: two job servers, worker processes each connected to
 * both, clients submitting foreground jobs in rounds. With workers that drop a wake-up
 * (python-gearman), some stop receiving jobs after a round or two; gearbun's never do.
 */
import { join } from "node:path";
import { Client } from "../client/client.ts";
import { parseServers } from "../connection/servers.ts";
import { startServer, type EmbeddedServer } from "../server/server.ts";

export interface DemoOptions {
  /** Worker processes. @default 8 */
  workers: number;
  /** Clients, each submitting `jobs` per round. @default 2 */
  clients: number;
  /** Jobs per client per round. @default 500 */
  jobs: number;
  /** @default 6 */
  rounds: number;
  /** Simulated work per job in ms. @default 2 */
  workMs: number;
  /** External servers ("h:p,h:p") instead of two embedded ones. */
  servers?: string;
  /** Also run python-gearman-style naive workers and compare. */
  naive?: boolean;
  /** Where lines go. @default console.log */
  print?: (line: string) => void;
  /** Milliseconds between rounds. @default 200 */
  pauseMs?: number;
}

/** Per round: jobs per worker id, jobs per server. */
export interface RoundTally {
  byWorker: Map<string, number>;
  byServer: Map<string, number>;
  wrong: number;
  failed: number;
  ms: number;
}

export interface DemoResult {
  kind: "gearbun" | "naive";
  workerIds: string[];
  servers: string[];
  rounds: RoundTally[];
  /** Workers that got no job in some round, with the first such round (1-based). */
  starved: { worker: string; round: number }[];
  jobsPerSecond: number;
  ok: boolean;
}

interface WorkerProcess {
  id: string;
  proc: ReturnType<typeof Bun.spawn>;
}

async function waitForLine(proc: ReturnType<typeof Bun.spawn>, want: string, timeoutMs: number): Promise<void> {
  const stdout = proc.stdout;
  if (!(stdout instanceof ReadableStream)) throw new Error("worker stdout is not piped");
  const reader = stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + timeoutMs;
  try {
    while (!text.split("\n").some((l) => l.trim() === want)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`worker did not print "${want}" within ${timeoutMs} ms`);
      const chunk = await Promise.race([reader.read(), Bun.sleep(left).then(() => null)]);
      if (chunk === null) continue;
      if (chunk.done) throw new Error(`worker exited before printing "${want}"`);
      text += decoder.decode(chunk.value);
    }
  } finally {
    reader.releaseLock();
  }
}

function spawnWorkers(count: number, servers: string, workMs: number, script: string): WorkerProcess[] {
  const out: WorkerProcess[] = [];
  for (let i = 1; i <= count; i++) {
    const id = `W${i}`;
    const proc = Bun.spawn([process.execPath, script, servers, id, String(workMs)], {
      stdout: "pipe",
      stderr: "inherit",
      stdin: "ignore",
    });
    out.push({ id, proc });
  }
  return out;
}

async function stopWorkers(workers: WorkerProcess[]): Promise<void> {
  for (const w of workers) w.proc.kill("SIGTERM");
  await Promise.all(
    workers.map(async (w) => {
      const timer = setTimeout(() => w.proc.kill("SIGKILL"), 3000);
      await w.proc.exited;
      clearTimeout(timer);
    }),
  );
}

function bar(done: number, total: number, width = 30): string {
  const filled = Math.round((done / total) * width);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${String(done).padStart(String(total).length)}/${total}`;
}

/** Runs the rounds against already running workers; returns the tallies. */
async function runRounds(
  kind: DemoResult["kind"],
  workerIds: string[],
  servers: string[],
  options: DemoOptions,
): Promise<DemoResult> {
  const print = options.print ?? ((line: string) => console.log(line));
  const clients = Array.from({ length: options.clients }, () => new Client({ servers, timeout: 30_000 }));
  const tty = process.stdout.isTTY === true && options.print === undefined;
  const rounds: RoundTally[] = [];
  const run = Math.random().toString(36).slice(2, 8);
  const started = performance.now();
  let totalJobs = 0;
  try {
    // Start with every client connected to every server, so round 1 spreads like the others.
    const deadline = Date.now() + 10_000;
    while (!clients.every((c) => c.servers().every((s) => s.state === "ready")) && Date.now() < deadline) {
      await Bun.sleep(10);
    }
    for (let r = 1; r <= options.rounds; r++) {
      const tally: RoundTally = { byWorker: new Map(), byServer: new Map(), wrong: 0, failed: 0, ms: 0 };
      const total = options.clients * options.jobs;
      let done = 0;
      const t0 = performance.now();
      const label = `${kind.padEnd(7)} round ${r}/${options.rounds} `;
      const progress = setInterval(() => {
        if (tty) process.stdout.write(`\r${label}${bar(done, total)}`);
      }, 50);
      const jobs: Promise<void>[] = [];
      for (let c = 0; c < clients.length; c++) {
        const client = clients[c]!;
        for (let i = 0; i < options.jobs; i++) {
          const payload = `${r}:${c}:${i}`;
          const task = client.submit("demo", payload, { unique: `${run}-${kind}-r${r}-c${c}-j${i}` });
          jobs.push(
            task.text().then(
              (text) => {
                const bar = text.indexOf("|");
                const worker = text.slice(0, bar);
                if (text.slice(bar + 1) !== payload) tally.wrong++;
                tally.byWorker.set(worker, (tally.byWorker.get(worker) ?? 0) + 1);
                const server = task.server ?? "?";
                tally.byServer.set(server, (tally.byServer.get(server) ?? 0) + 1);
                done++;
              },
              () => {
                tally.failed++;
                done++;
              },
            ),
          );
        }
      }
      await Promise.all(jobs);
      clearInterval(progress);
      tally.ms = performance.now() - t0;
      totalJobs += total;
      rounds.push(tally);
      const line = `${label}${bar(done, total)} ${tally.ms.toFixed(0)} ms`;
      if (tty) process.stdout.write(`\r${line}\n`);
      else print(line);
      if (r < options.rounds) await Bun.sleep(options.pauseMs ?? 200);
    }
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
  const seconds = (performance.now() - started) / 1000;
  const starved: DemoResult["starved"] = [];
  for (const id of workerIds) {
    const round = rounds.findIndex((t) => (t.byWorker.get(id) ?? 0) === 0);
    if (round >= 0) starved.push({ worker: id, round: round + 1 });
  }
  const clean = rounds.every((t) => t.wrong === 0 && t.failed === 0);
  return {
    kind,
    workerIds,
    servers,
    rounds,
    starved,
    jobsPerSecond: totalJobs / seconds,
    ok: starved.length === 0 && clean,
  };
}

/** The table: jobs per worker per round, per server, jobs/s, and the verdict. */
export function formatResult(result: DemoResult): string[] {
  const lines: string[] = [];
  const head = ["", ...result.rounds.map((_, i) => `R${i + 1}`), "total"];
  const rows: string[][] = [head];
  for (const id of result.workerIds) {
    const counts = result.rounds.map((t) => t.byWorker.get(id) ?? 0);
    rows.push([id, ...counts.map(String), String(counts.reduce((a, b) => a + b, 0))]);
  }
  for (const server of result.servers) {
    const counts = result.rounds.map((t) => t.byServer.get(server) ?? 0);
    rows.push([server, ...counts.map(String), String(counts.reduce((a, b) => a + b, 0))]);
  }
  const widths = head.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  lines.push(`${result.kind}: jobs per worker and per server, by round`);
  rows.forEach((row, i) => {
    lines.push(`  ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ")}`);
    if (i === 0 || i === result.workerIds.length) lines.push(`  ${widths.map((w) => "-".repeat(w)).join("  ")}`);
  });
  const wrong = result.rounds.reduce((a, t) => a + t.wrong, 0);
  const failed = result.rounds.reduce((a, t) => a + t.failed, 0);
  lines.push(`  ${result.jobsPerSecond.toFixed(0)} jobs/s overall; ${wrong} wrong results, ${failed} failed jobs`);
  lines.push(`  verdict: ${verdict(result)}`);
  return lines;
}

export function verdict(result: DemoResult): string {
  if (result.starved.length === 0) {
    const bad = result.rounds.reduce((a, t) => a + t.wrong + t.failed, 0);
    return bad === 0
      ? `${result.kind}: every worker received jobs in every round`
      : `${result.kind}: every worker received jobs, but ${bad} jobs went wrong`;
  }
  return `${result.kind}: ${result.starved.map((s) => `${s.worker} received no job in round ${s.round}`).join("; ")}`;
}

/** Runs the demo; returns true when the verdict is good. */
export async function runDemo(options: DemoOptions): Promise<boolean> {
  const print = options.print ?? ((line: string) => console.log(line));
  const embedded: EmbeddedServer[] = [];
  let servers: string[];
  if (options.servers) {
    servers = parseServers(options.servers).map((s) => s.key);
  } else {
    embedded.push(await startServer({ port: 0, host: "127.0.0.1" }), await startServer({ port: 0, host: "127.0.0.1" }));
    servers = embedded.map((s) => s.address);
  }
  print(
    `gearbun demo: ${options.workers} worker processes on ${servers.join(" + ")}, ` +
      `${options.clients} clients x ${options.jobs} foreground jobs x ${options.rounds} rounds` +
      (options.servers ? "" : " (embedded job servers)"),
  );
  const script = join(import.meta.dir, "worker-process.ts");
  const workers = spawnWorkers(options.workers, servers.join(","), options.workMs, script);
  try {
    await Promise.all(workers.map((w) => waitForLine(w.proc, "ready", 15_000)));
    const result = await runRounds(
      "gearbun",
      workers.map((w) => w.id),
      servers,
      options,
    );
    for (const line of formatResult(result)) print(line);
    return result.ok;
  } finally {
    await stopWorkers(workers);
    await Promise.all(embedded.map((s) => s.stop()));
  }
}

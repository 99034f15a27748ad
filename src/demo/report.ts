/**
 * What the demo measured and how it is shown: per round, jobs per worker and per server; the
 * table; the verdict. A worker that stops receiving jobs from one server while that server still
 * has work is the multi-server stall, and the verdict names the worker and the server.
 */

/** Per round: jobs per worker, per server and per worker per server; jobs that never finished. */
export interface RoundTally {
  byWorker: Map<string, number>;
  byServer: Map<string, number>;
  /** worker id → server → jobs. */
  byWorkerServer: Map<string, Map<string, number>>;
  /** Jobs not done when the round gave up, by the server holding them ("?" when none took them). */
  unfinished: Map<string, number>;
  wrong: number;
  failed: number;
  ms: number;
  /** True when the round ended because no job completed for a while, not because all were done. */
  timedOut: boolean;
}

export function emptyTally(): RoundTally {
  return {
    byWorker: new Map(),
    byServer: new Map(),
    byWorkerServer: new Map(),
    unfinished: new Map(),
    wrong: 0,
    failed: 0,
    ms: 0,
    timedOut: false,
  };
}

export function countJob(tally: RoundTally, worker: string, server: string): void {
  tally.byWorker.set(worker, (tally.byWorker.get(worker) ?? 0) + 1);
  tally.byServer.set(server, (tally.byServer.get(server) ?? 0) + 1);
  let servers = tally.byWorkerServer.get(worker);
  if (servers === undefined) tally.byWorkerServer.set(worker, (servers = new Map()));
  servers.set(server, (servers.get(server) ?? 0) + 1);
}

/** A worker that received no job from `server` after round `after` (0: never), while it had work. */
export interface Stall {
  worker: string;
  server: string;
  after: number;
}

export interface DemoResult {
  kind: "gearbun" | "naive";
  workerIds: string[];
  servers: string[];
  /** How servers are named in the table and verdict, by address (addresses when absent). */
  names?: Map<string, string>;
  /** Show each worker's jobs per server ("from A + from B") instead of its total per round. */
  perServer?: boolean;
  rounds: RoundTally[];
  /** Workers that got no job in some round, with the first such round (1-based). */
  starved: { worker: string; round: number }[];
  stalls: Stall[];
  /** Jobs never done within their round. */
  unfinished: number;
  jobsPerSecond: number;
  ok: boolean;
}

/** Worker/server pairs where the worker got nothing from the server in the last rounds, though the server had work. */
export function findStalls(workerIds: string[], servers: string[], rounds: RoundTally[]): Stall[] {
  const stalls: Stall[] = [];
  const busy = (t: RoundTally, server: string): boolean =>
    (t.byServer.get(server) ?? 0) + (t.unfinished.get(server) ?? 0) > 0;
  for (const server of servers) {
    for (const worker of workerIds) {
      let last = 0;
      rounds.forEach((t, i) => {
        if ((t.byWorkerServer.get(worker)?.get(server) ?? 0) > 0) last = i + 1;
      });
      if (last < rounds.length && rounds.slice(last).some((t) => busy(t, server)))
        stalls.push({ worker, server, after: last });
    }
  }
  return stalls.sort((x, y) => x.after - y.after || x.worker.localeCompare(y.worker, "en", { numeric: true }));
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function nameOf(result: DemoResult, server: string): string {
  return result.names?.get(server) ?? server;
}

/** The table: jobs per worker per round, per server, jobs/s, and the verdict. */
export function formatResult(result: DemoResult): string[] {
  const lines: string[] = [];
  const split = result.perServer === true;
  const cell = (counts: number[]): string => (split ? counts.join("+") : String(sum(counts)));
  const head = ["", ...result.rounds.map((_, i) => `R${i + 1}`), "total"];
  const rows: string[][] = [head];
  for (const id of result.workerIds) {
    if (!split) {
      const counts = result.rounds.map((t) => t.byWorker.get(id) ?? 0);
      rows.push([id, ...counts.map(String), String(sum(counts))]);
      continue;
    }
    const perRound = result.rounds.map((t) => result.servers.map((s) => t.byWorkerServer.get(id)?.get(s) ?? 0));
    const totals = result.servers.map((_, i) => sum(perRound.map((c) => c[i]!)));
    rows.push([id, ...perRound.map(cell), cell(totals)]);
  }
  for (const server of result.servers) {
    const counts = result.rounds.map((t) => t.byServer.get(server) ?? 0);
    rows.push([nameOf(result, server), ...counts.map(String), String(sum(counts))]);
  }
  const unfinished = result.unfinished > 0 || result.rounds.some((t) => t.timedOut);
  if (unfinished) {
    const perRound = result.rounds.map((t) => result.servers.map((s) => t.unfinished.get(s) ?? 0));
    const stray = sum(result.rounds.map((t) => t.unfinished.get("?") ?? 0));
    const totals = result.servers.map((_, i) => sum(perRound.map((c) => c[i]!)));
    rows.push(["never done", ...perRound.map(cell), cell(totals) + (stray > 0 ? ` (+${stray} unsent)` : "")]);
  }
  const widths = head.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const legend = split ? ` (cells: ${result.servers.map((s) => `from ${nameOf(result, s)}`).join(" + ")})` : "";
  lines.push(`${result.kind}: jobs per worker and per server, by round${legend}`);
  rows.forEach((row, i) => {
    lines.push(`  ${row.map((text, c) => (c === 0 ? text.padEnd(widths[c]!) : text.padStart(widths[c]!))).join("  ")}`);
    if (i === 0 || i === result.workerIds.length) lines.push(`  ${widths.map((w) => "-".repeat(w)).join("  ")}`);
  });
  const wrong = sum(result.rounds.map((t) => t.wrong));
  const failed = sum(result.rounds.map((t) => t.failed));
  const never = unfinished ? `, ${result.unfinished} never done` : "";
  lines.push(
    `  ${result.jobsPerSecond.toFixed(0)} jobs/s overall; ${wrong} wrong results, ${failed} failed jobs${never}`,
  );
  lines.push(`  verdict: ${verdict(result)}`);
  return lines;
}

export function verdict(result: DemoResult): string {
  const bad = sum(result.rounds.map((t) => t.wrong + t.failed));
  if (result.starved.length === 0 && result.stalls.length === 0 && result.unfinished === 0) {
    return bad === 0
      ? `${result.kind}: every worker received jobs in every round`
      : `${result.kind}: every worker received jobs, but ${bad} jobs went wrong`;
  }
  // One clause per server and round: "W1, W2 never received a job from B after round 2".
  const groups = new Map<string, Stall[]>();
  for (const s of result.stalls) {
    const key = `${s.server}\n${s.after}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  const parts = [...groups.values()].map((g) => {
    const { server, after } = g[0]!;
    const who = g.map((s) => s.worker).join(", ");
    return `${who} never received a job from ${nameOf(result, server)}${after > 0 ? ` after round ${after}` : ""}`;
  });
  // A worker with no job at all in a round, when no stall above explains it.
  for (const s of result.starved) {
    if (!result.stalls.some((x) => x.worker === s.worker))
      parts.push(`${s.worker} received no job in round ${s.round}`);
  }
  if (result.unfinished > 0) {
    const where = result.servers
      .map((s) => [nameOf(result, s), sum(result.rounds.map((t) => t.unfinished.get(s) ?? 0))] as const)
      .filter(([, n]) => n > 0)
      .map(([name, n]) => `${n} on ${name}`);
    parts.push(`${result.unfinished} jobs never done${where.length > 0 ? ` (${where.join(", ")})` : ""}`);
  }
  if (bad > 0) parts.push(`${bad} jobs went wrong`);
  return `${result.kind}: ${parts.join("; ")}`;
}

/**
 * Worker-pool metrics. Each child keeps a `WorkerRecorder` fed by its Worker's events and
 * `stats()` and reports its cumulative `ChildStats` to the supervisor over IPC; the
 * supervisor's `PoolMetrics` sums the children. A child that exits keeps its last reported
 * totals (counters and histograms, not gauges), so counters never go down when children are
 * recycled or die.
 */
import type { Worker } from "../worker/worker.ts";
import { DURATION_BUCKETS, Exposition, Histogram, type Sample } from "./exposition.ts";
import { writeProcessMetrics } from "./process.ts";

/** Outcomes a worker reports for a job (worker/events.ts JobOutcome). */
export const WORKER_OUTCOMES = ["complete", "fail", "exception", "timeout", "lost"] as const;

interface HistogramData {
  counts: number[];
  sum: number;
  count: number;
}

/** One child's cumulative numbers (JSON over IPC). */
export interface ChildStats {
  functions: Record<
    string,
    {
      outcomes: Record<string, number>;
      running: number;
      retries: number;
      deadLetters: number;
      duration: HistogramData;
    }
  >;
  servers: Record<
    string,
    { up: boolean; reconnects: number; wakeups: number; jobs: number; grabJob: number; grabNoJob: number }
  >;
}

/**
 * Lives in a child: counts what its Worker does. Outcomes, running jobs and retries are the
 * Worker's own counters (`worker.stats().functions`), read only when a report is made; the one
 * per-job cost is the duration histogram (a listener on `job:end` and a walk over fixed bounds).
 */
export class WorkerRecorder {
  private readonly functions: ChildStats["functions"] = {};
  private readonly durations = new Map<string, Histogram>();
  private lastFunction = "";
  private lastHistogram: Histogram | null = null;

  constructor(private readonly worker: Worker) {
    worker.on("job:end", ({ job }) => {
      let h = this.lastHistogram;
      if (h === null || job.function !== this.lastFunction) {
        h = this.histogram(job.function);
        this.lastFunction = job.function;
        this.lastHistogram = h;
      }
      h.observe((Date.now() - job.startedAt) / 1000);
    });
  }

  /** A job written to the dead-letter store. */
  deadLetter(fn: string): void {
    this.of(fn).deadLetters++;
  }

  private of(fn: string): ChildStats["functions"][string] {
    let f = this.functions[fn];
    if (f === undefined) {
      f = { outcomes: {}, running: 0, retries: 0, deadLetters: 0, duration: { counts: [], sum: 0, count: 0 } };
      this.functions[fn] = f;
    }
    return f;
  }

  private histogram(fn: string): Histogram {
    let h = this.durations.get(fn);
    if (h === undefined) {
      h = new Histogram(DURATION_BUCKETS);
      this.durations.set(fn, h);
    }
    return h;
  }

  snapshot(): ChildStats {
    const stats = this.worker.stats();
    for (const [fn, c] of Object.entries(stats.functions)) {
      const f = this.of(fn);
      f.outcomes = { complete: c.done, fail: c.failed, exception: c.exceptions, timeout: c.timedOut, lost: c.lost };
      f.running = c.running;
      f.retries = c.retried;
    }
    for (const [fn, h] of this.durations) this.of(fn).duration = { counts: [...h.counts], sum: h.sum, count: h.count };
    const servers: ChildStats["servers"] = {};
    for (const s of stats.servers) {
      servers[s.address] = {
        up: s.state === "ready",
        reconnects: Math.max(0, s.connects - 1),
        wakeups: s.noops,
        jobs: s.jobsDone,
        grabJob: s.grabAnswers.job,
        grabNoJob: s.grabAnswers.noJob,
      };
    }
    return { functions: structuredClone(this.functions), servers };
  }
}

interface Totals {
  outcomes: Map<string, Map<string, number>>;
  retries: Map<string, number>;
  deadLetters: Map<string, number>;
  durations: Map<string, Histogram>;
  reconnects: Map<string, number>;
  wakeups: Map<string, number>;
  jobs: Map<string, number>;
  grabJob: Map<string, number>;
  grabNoJob: Map<string, number>;
}

function emptyTotals(): Totals {
  return {
    outcomes: new Map(),
    retries: new Map(),
    deadLetters: new Map(),
    durations: new Map(),
    reconnects: new Map(),
    wakeups: new Map(),
    jobs: new Map(),
    grabJob: new Map(),
    grabNoJob: new Map(),
  };
}

const bump = (m: Map<string, number>, key: string, n: number): void => {
  m.set(key, (m.get(key) ?? 0) + n);
};

/** Adds one child's counters and histograms into `t`. */
function addCounters(t: Totals, s: ChildStats): void {
  for (const [fn, f] of Object.entries(s.functions)) {
    let o = t.outcomes.get(fn);
    if (o === undefined) t.outcomes.set(fn, (o = new Map()));
    for (const [outcome, n] of Object.entries(f.outcomes)) bump(o, outcome, n);
    bump(t.retries, fn, f.retries);
    bump(t.deadLetters, fn, f.deadLetters);
    if (f.duration.count > 0) {
      let h = t.durations.get(fn);
      if (h === undefined) t.durations.set(fn, (h = new Histogram(DURATION_BUCKETS)));
      h.add(f.duration);
    }
  }
  for (const [server, v] of Object.entries(s.servers)) {
    bump(t.reconnects, server, v.reconnects);
    bump(t.wakeups, server, v.wakeups);
    bump(t.jobs, server, v.jobs);
    bump(t.grabJob, server, v.grabJob);
    bump(t.grabNoJob, server, v.grabNoJob);
  }
}

/** Lives in the supervisor: the children's latest stats, plus what exited children had counted. */
export class PoolMetrics {
  private readonly live = new Map<number, ChildStats>();
  private readonly retired = emptyTotals();

  /** A child's latest report (cumulative for that child). */
  update(pid: number, stats: ChildStats): void {
    this.live.set(pid, stats);
  }

  /** A child exited: its last counters are kept, its gauges dropped. */
  retire(pid: number): void {
    const last = this.live.get(pid);
    if (last === undefined) return;
    this.live.delete(pid);
    addCounters(this.retired, last);
  }

  /** The latest stats of a live child, if it has reported. */
  latest(pid: number): ChildStats | undefined {
    return this.live.get(pid);
  }

  /** The exposition: every gearman_worker_* family, then the supervisor's process metrics. */
  exposition(processes: number): string {
    const t = emptyTotals();
    mergeTotals(t, this.retired);
    const running = new Map<string, number>();
    const up = new Map<string, number>();
    for (const s of this.live.values()) {
      addCounters(t, s);
      for (const [fn, f] of Object.entries(s.functions)) bump(running, fn, f.running);
      for (const [server, v] of Object.entries(s.servers)) bump(up, server, v.up ? 1 : 0);
    }
    const out = new Exposition();
    const jobs: Sample[] = [];
    for (const fn of [...t.outcomes.keys()].sort()) {
      const o = t.outcomes.get(fn)!;
      for (const outcome of WORKER_OUTCOMES)
        jobs.push({ labels: { function: fn, outcome }, value: o.get(outcome) ?? 0 });
    }
    out.counter("gearman_worker_jobs_total", "Jobs ended in the pool's workers, by outcome.", jobs);
    out.histogram(
      "gearman_worker_job_duration_seconds",
      "Seconds from a job's assignment to its end.",
      [...t.durations].map(([fn, histogram]) => ({ labels: { function: fn }, histogram })),
    );
    const byFn = (m: Map<string, number>): Sample[] =>
      [...m].map(([fn, value]) => ({ labels: { function: fn }, value }));
    const byServer = (m: Map<string, number>): Sample[] =>
      [...m].map(([server, value]) => ({ labels: { server }, value }));
    out.gauge("gearman_worker_jobs_running", "Jobs running now.", byFn(running));
    out.gauge("gearman_worker_connection_up", "Children connected and registered on the server.", byServer(up));
    out.counter(
      "gearman_worker_reconnects_total",
      "Connections made again after one was lost.",
      byServer(t.reconnects),
    );
    out.counter("gearman_worker_wakeups_total", "NOOP wake-ups received from the server.", byServer(t.wakeups));
    out.counter("gearman_worker_server_jobs_total", "Jobs taken from the server.", byServer(t.jobs));
    out.counter("gearman_worker_grabs_total", "Answers to GRAB: a job, or NO_JOB.", [
      ...[...t.grabJob].map(([server, value]) => ({ labels: { server, answer: "job" }, value })),
      ...[...t.grabNoJob].map(([server, value]) => ({ labels: { server, answer: "no_job" }, value })),
    ]);
    out.counter("gearman_worker_retries_total", "Failed attempts run again (function retries).", byFn(t.retries));
    out.counter("gearman_worker_dead_letters_total", "Jobs written to the dead-letter store.", byFn(t.deadLetters));
    out.gauge("gearman_worker_processes", "Worker processes alive.", [{ value: processes }]);
    writeProcessMetrics(out);
    return out.text();
  }
}

/** Adds every counter and histogram of `from` into `into`. */
function mergeTotals(into: Totals, from: Totals): void {
  for (const [fn, o] of from.outcomes) {
    let target = into.outcomes.get(fn);
    if (target === undefined) into.outcomes.set(fn, (target = new Map()));
    for (const [k, n] of o) bump(target, k, n);
  }
  for (const key of ["retries", "deadLetters", "reconnects", "wakeups", "jobs", "grabJob", "grabNoJob"] as const) {
    for (const [k, n] of from[key]) bump(into[key], k, n);
  }
  for (const [fn, h] of from.durations) {
    let target = into.durations.get(fn);
    if (target === undefined) into.durations.set(fn, (target = new Histogram(DURATION_BUCKETS)));
    target.add(h);
  }
}

/**
 * `gearbun worker --metrics`: the supervisor's side of the pool's numbers. Each child reports its
 * cumulative `ChildStats` (src/pool/recorder.ts); the supervisor sums the children, and a child
 * that exits keeps its last counters (counters and histograms, not gauges), so no counter goes
 * down when children are recycled or die. Per child: CPU seconds and resident memory, from its
 * heartbeats. Per group: processes configured, registered and serving.
 *
 * /healthz is 503 while a group has fewer registered children than configured, a child has been
 * silent for three heartbeats, or a child is connected to no job server.
 */
import { DURATION_BUCKETS, Exposition, Histogram, type Labels, type Sample } from "../metrics/exposition.ts";
import { type Health, type HttpEndpoint, serveHttp } from "../metrics/http.ts";
import { writeProcessMetrics } from "../metrics/process.ts";
import { HEARTBEAT_INTERVAL } from "../options.ts";
import { type ChildStats, JOB_OUTCOMES } from "./recorder.ts";
import type { Pool } from "./supervisor.ts";

/** A counter family summed over the children: its samples from one child's stats. */
interface CounterFamily {
  readonly name: string;
  readonly help: string;
  samples(s: ChildStats): Sample[];
}

const byFunction = (s: ChildStats, value: (f: ChildStats["functions"][string]) => number): Sample[] =>
  Object.entries(s.functions).map(([fn, f]) => ({ labels: { function: fn }, value: value(f) }));
const byServer = (s: ChildStats, value: (v: ChildStats["servers"][string]) => number): Sample[] =>
  Object.entries(s.servers).map(([server, v]) => ({ labels: { server }, value: value(v) }));

/** Every counter the pool exposes, once. */
const COUNTERS: readonly CounterFamily[] = [
  {
    name: "gearman_worker_jobs_total",
    help: "Jobs ended in the pool's workers, by outcome.",
    samples: (s) =>
      Object.entries(s.functions).flatMap(([fn, f]) =>
        JOB_OUTCOMES.map((outcome) => ({ labels: { function: fn, outcome }, value: f.outcomes[outcome] ?? 0 })),
      ),
  },
  {
    name: "gearman_worker_retries_total",
    help: "Failed attempts run again (function retries).",
    samples: (s) => byFunction(s, (f) => f.retries),
  },
  {
    name: "gearman_worker_dead_letters_total",
    help: "Jobs written to the dead-letter store.",
    samples: (s) => byFunction(s, (f) => f.deadLetters),
  },
  {
    name: "gearman_worker_reconnects_total",
    help: "Connections made again after one was lost.",
    samples: (s) => byServer(s, (v) => Math.max(0, v.connects - 1)),
  },
  {
    name: "gearman_worker_wakeups_total",
    help: "NOOP wake-ups received from the server.",
    samples: (s) => byServer(s, (v) => v.noops),
  },
  {
    name: "gearman_worker_server_jobs_total",
    help: "Jobs taken from the server.",
    samples: (s) => byServer(s, (v) => v.jobsDone),
  },
  {
    name: "gearman_worker_grabs_total",
    help: "Answers to GRAB: a job, or NO_JOB.",
    samples: (s) =>
      Object.entries(s.servers).flatMap(([server, v]) => [
        { labels: { server, answer: "job" }, value: v.grabAnswers.job },
        { labels: { server, answer: "no_job" }, value: v.grabAnswers.noJob },
      ]),
  },
];

/** Sums of samples by their labels. */
class Sums {
  private readonly values = new Map<string, { labels: Labels | undefined; value: number }>();

  add(samples: readonly Sample[]): void {
    for (const s of samples) {
      const key = JSON.stringify(s.labels ?? {});
      const row = this.values.get(key);
      if (row === undefined) this.values.set(key, { labels: s.labels, value: s.value });
      else row.value += s.value;
    }
  }

  samples(): Sample[] {
    return [...this.values.values()].map(({ labels, value }) => (labels === undefined ? { value } : { labels, value }));
  }
}

/** What exited children had counted: per counter family, and the duration histograms. */
class Totals {
  readonly counters = COUNTERS.map(() => new Sums());
  readonly durations = new Map<string, Histogram>();

  add(s: ChildStats): void {
    for (const [i, family] of COUNTERS.entries()) this.counters[i]!.add(family.samples(s));
    for (const [fn, f] of Object.entries(s.functions)) {
      if (f.duration.count === 0) continue;
      let h = this.durations.get(fn);
      if (h === undefined) this.durations.set(fn, (h = new Histogram(DURATION_BUCKETS)));
      h.add(f.duration);
    }
  }
}

/** The supervisor's view: the children's latest stats, plus what exited children had counted. */
export class PoolMetrics {
  private readonly live = new Map<number, ChildStats>();
  private readonly retired = new Totals();

  /** A child's latest report (cumulative for that child). */
  update(pid: number, stats: ChildStats): void {
    this.live.set(pid, stats);
  }

  /** A child exited: its last counters are kept, its gauges dropped. */
  retire(pid: number): void {
    const last = this.live.get(pid);
    if (last === undefined) return;
    this.live.delete(pid);
    this.retired.add(last);
  }

  /** The latest stats of a live child, if it has reported. */
  latest(pid: number): ChildStats | undefined {
    return this.live.get(pid);
  }

  /** The exposition: the gearman_worker_* families, per child and group, then the supervisor's process metrics. */
  exposition(pool: Pool): string {
    const out = new Exposition();
    const liveCounters = COUNTERS.map(() => new Sums());
    const durations = new Map<string, Histogram>();
    for (const [fn, h] of this.retired.durations) durations.set(fn, copy(h));
    const running = new Sums();
    const up = new Sums();
    for (const s of this.live.values()) {
      for (const [i, family] of COUNTERS.entries()) liveCounters[i]!.add(family.samples(s));
      for (const [fn, f] of Object.entries(s.functions)) {
        if (f.duration.count > 0) {
          let h = durations.get(fn);
          if (h === undefined) durations.set(fn, (h = new Histogram(DURATION_BUCKETS)));
          h.add(f.duration);
        }
      }
      running.add(byFunction(s, (f) => f.running));
      up.add(byServer(s, (v) => (v.up ? 1 : 0)));
    }
    COUNTERS.forEach((family, i) => {
      const sums = new Sums();
      sums.add(this.retired.counters[i]!.samples());
      sums.add(liveCounters[i]!.samples());
      out.counter(family.name, family.help, sums.samples());
    });
    out.histogram(
      "gearman_worker_job_duration_seconds",
      "Seconds from a job's assignment to its end.",
      [...durations].map(([fn, histogram]) => ({ labels: { function: fn }, histogram })),
    );
    out.gauge("gearman_worker_jobs_running", "Jobs running now.", running.samples());
    out.gauge("gearman_worker_connection_up", "Children connected and registered on the server.", up.samples());
    const children = pool.children().filter((c) => c.state !== "exited");
    out.gauge("gearman_worker_processes", "Worker processes alive.", [{ value: children.length }]);
    const groups = [...pool.capacity()];
    out.gauge(
      "gearman_worker_group_processes",
      "Processes per group: configured, registered (ready), serving (ready and grabbing).",
      groups.flatMap(([group, c]) => [
        { labels: { group, state: "configured" }, value: c.configured },
        { labels: { group, state: "registered" }, value: c.registered },
        { labels: { group, state: "serving" }, value: c.serving },
      ]),
    );
    const reported = children.filter((c) => c.current && c.usage !== null);
    const label = (c: (typeof reported)[number]): Labels => ({ child: String(c.index), group: c.group });
    out.counter(
      "gearman_worker_process_cpu_seconds_total",
      "CPU seconds of each child process serving a slot (restarts at 0 when the child is replaced).",
      reported.map((c) => ({ labels: label(c), value: c.usage!.cpuSeconds })),
    );
    out.gauge(
      "gearman_worker_process_resident_memory_bytes",
      "Resident memory of each child process serving a slot.",
      reported.map((c) => ({ labels: label(c), value: c.usage!.rss })),
    );
    out.counter("gearman_worker_unresponsive_total", "Children killed for going silent (heartbeatTimeout).", [
      { value: pool.unresponsiveKills },
    ]);
    writeProcessMetrics(out);
    return out.text();
  }
}

function copy(h: Histogram): Histogram {
  const c = new Histogram(DURATION_BUCKETS);
  c.add(h);
  return c;
}

/** Collects `pool`'s stats events (start the pool with `statsInterval` > 0). */
export function collectPoolMetrics(pool: Pool): PoolMetrics {
  const metrics = new PoolMetrics();
  pool.on("stats", ({ pid, stats }) => metrics.update(pid, stats));
  pool.on("child:exit", ({ pid }) => metrics.retire(pid));
  return metrics;
}

/** A child silent this long (it reports every second) makes the pool unhealthy. */
const SILENT_MS = 3 * HEARTBEAT_INTERVAL;

export function poolHealth(pool: Pool, metrics: PoolMetrics): Health {
  if (pool.state !== "running") return { ok: false, reason: `the pool is ${pool.state}` };
  const groups = [...pool.capacity()];
  for (const [group, c] of groups) {
    if (c.registered < c.configured) {
      return { ok: false, reason: `${group}: ${c.registered} of ${c.configured} processes registered` };
    }
  }
  for (const c of pool.children().filter((c) => c.current)) {
    if (c.silentMs > SILENT_MS) {
      return { ok: false, reason: `process ${c.index} (pid ${c.pid}) has sent nothing for ${c.silentMs} ms` };
    }
    const stats = metrics.latest(c.pid);
    if (stats !== undefined && !Object.values(stats.servers).some((s) => s.up)) {
      return { ok: false, reason: `process ${c.index} (pid ${c.pid}) is connected to no job server` };
    }
  }
  return {
    ok: true,
    reason: groups.map(([group, c]) => `${group}: ${c.registered} of ${c.configured} registered`).join(", "),
  };
}

/** Serves /metrics and /healthz for a pool. */
export function servePoolMetrics(pool: Pool, listen: string): HttpEndpoint {
  const metrics = collectPoolMetrics(pool);
  return serveHttp({
    listen,
    option: "--metrics",
    metrics: () => metrics.exposition(pool),
    health: () => poolHealth(pool, metrics),
  });
}

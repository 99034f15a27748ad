/**
 * Lives in a pool child: counts what its Worker does and hands the supervisor a cumulative
 * `ChildStats` over IPC. Outcomes are the worker's own `JobOutcome` words, counted from its
 * `job:end` events; server counters keep `ServerStats`' names — nothing is renamed between the
 * worker and the exposition (src/pool/metrics.ts).
 */
import { DURATION_BUCKETS, Histogram } from "../metrics/exposition.ts";
import type { JobOutcome } from "../worker/events.ts";
import type { Worker } from "../worker/worker.ts";

/** The worker's outcomes, in the order the exposition lists them (every JobOutcome, checked). */
export const JOB_OUTCOMES = [
  "complete",
  "fail",
  "exception",
  "timeout",
  "lost",
] as const satisfies readonly JobOutcome[];
// A JobOutcome missing from the list above fails the typecheck here.
const everyOutcome: Record<JobOutcome, true> = Object.fromEntries(JOB_OUTCOMES.map((o) => [o, true])) as Record<
  (typeof JOB_OUTCOMES)[number],
  true
>;
void everyOutcome;

export interface HistogramData {
  counts: number[];
  sum: number;
  count: number;
}

export interface FunctionCounts {
  /** Jobs ended, by the worker's outcome. */
  outcomes: Partial<Record<JobOutcome, number>>;
  /** Attempts run again (`job:retry`). */
  retries: number;
  deadLetters: number;
  /** Running now (a gauge). */
  running: number;
  duration: HistogramData;
}

/** One child's cumulative numbers (JSON over IPC). */
export interface ChildStats {
  functions: Record<string, FunctionCounts>;
  /** By server: ServerStats' own counters. */
  servers: Record<
    string,
    { up: boolean; connects: number; noops: number; jobsDone: number; grabAnswers: { job: number; noJob: number } }
  >;
}

export class WorkerRecorder {
  private readonly functions = new Map<string, { counts: FunctionCounts; histogram: Histogram }>();

  constructor(private readonly worker: Worker) {
    worker.on("job:end", ({ job, outcome }) => {
      const f = this.of(job.function);
      f.counts.outcomes[outcome] = (f.counts.outcomes[outcome] ?? 0) + 1;
      f.histogram.observe((Date.now() - job.startedAt) / 1000);
    });
    worker.on("job:retry", ({ job }) => void this.of(job.function).counts.retries++);
  }

  /** A job written to the dead-letter store. */
  deadLetter(fn: string): void {
    this.of(fn).counts.deadLetters++;
  }

  private of(fn: string): { counts: FunctionCounts; histogram: Histogram } {
    let f = this.functions.get(fn);
    if (f === undefined) {
      const histogram = new Histogram(DURATION_BUCKETS);
      f = { counts: { outcomes: {}, retries: 0, deadLetters: 0, running: 0, duration: histogram }, histogram };
      this.functions.set(fn, f);
    }
    return f;
  }

  snapshot(): ChildStats {
    const stats = this.worker.stats();
    const functions: ChildStats["functions"] = {};
    for (const [fn, c] of Object.entries(stats.functions)) this.of(fn).counts.running = c.running;
    for (const [fn, { counts, histogram }] of this.functions) {
      functions[fn] = {
        ...counts,
        outcomes: { ...counts.outcomes },
        duration: { counts: [...histogram.counts], sum: histogram.sum, count: histogram.count },
      };
    }
    const servers: ChildStats["servers"] = {};
    for (const s of stats.servers) {
      servers[s.address] = {
        up: s.state === "ready",
        connects: s.connects,
        noops: s.noops,
        jobsDone: s.jobsDone,
        grabAnswers: { job: s.grabAnswers.job, noJob: s.grabAnswers.noJob },
      };
    }
    return { functions, servers };
  }
}

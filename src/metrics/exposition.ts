/**
 * Prometheus text exposition format, version 0.0.4: `# HELP` and `# TYPE` once per family, then
 * one sample per line. Names follow Prometheus naming rules (base units, counters end in
 * `_total`); a bad metric or label name throws, since it would make the whole scrape fail.
 *
 *   const out = new Exposition();
 *   out.gauge("gearman_jobs", "Jobs queued or running.", [{ labels: { function: "resize" }, value: 3 }]);
 *   out.text(); // served as text/plain; version=0.0.4
 *
 * Writing is cheap and happens only when someone scrapes; the job path only bumps plain numbers
 * (and `Histogram.observe`, a walk over a fixed array of bucket bounds).
 */

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  readonly labels?: Labels;
  readonly value: number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** `\` and line ends in HELP text. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** `\`, `"` and line ends in a label value. */
export function escapeLabelValue(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** A sample value: Go's float formatting for the special values. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

function formatLabels(labels: Labels | undefined, extra?: readonly [string, string]): string {
  const parts: string[] = [];
  if (labels !== undefined) {
    for (const [name, value] of Object.entries(labels)) {
      if (!LABEL_NAME.test(name) || name.startsWith("__")) throw new Error(`bad Prometheus label name "${name}"`);
      parts.push(`${name}="${escapeLabelValue(value)}"`);
    }
  }
  if (extra !== undefined) parts.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

/**
 * A histogram with fixed bucket bounds: `observe` adds to the first bucket whose bound holds the
 * value; the exposition makes the counts cumulative.
 */
export class Histogram {
  /** Upper bounds, ascending, without +Inf. */
  readonly bounds: readonly number[];
  /** Observations per bucket (not cumulative); the last entry is the +Inf bucket. */
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i]! > bounds[i - 1]!)) throw new Error("histogram bounds must be strictly ascending");
    }
    this.bounds = bounds;
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }

  /** Adds another histogram with the same bounds (a pool summing its children). */
  add(other: { counts: readonly number[]; sum: number; count: number }): void {
    if (other.counts.length !== this.counts.length) throw new Error("histogram bounds differ");
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += other.counts[i]!;
    this.sum += other.sum;
    this.count += other.count;
  }
}

/** Durations in seconds, from 1 ms to 1 min (Prometheus client defaults widened at both ends). */
export const DURATION_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

export type FamilyType = "counter" | "gauge" | "histogram" | "untyped";

/** Builds one exposition; each family name may be written once. */
export class Exposition {
  private readonly lines: string[] = [];
  private readonly seen = new Set<string>();

  private header(name: string, help: string, type: FamilyType): void {
    if (!METRIC_NAME.test(name)) throw new Error(`bad Prometheus metric name "${name}"`);
    if (this.seen.has(name)) throw new Error(`metric family "${name}" written twice`);
    this.seen.add(name);
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
  }

  private samples(name: string, samples: readonly Sample[]): void {
    for (const s of samples) this.lines.push(`${name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
  }

  /** A counter; its name must end in `_total`. */
  counter(name: string, help: string, samples: readonly Sample[]): this {
    if (!name.endsWith("_total")) throw new Error(`counter "${name}" must end in _total`);
    this.header(name, help, "counter");
    this.samples(name, samples);
    return this;
  }

  gauge(name: string, help: string, samples: readonly Sample[]): this {
    this.header(name, help, "gauge");
    this.samples(name, samples);
    return this;
  }

  /** A histogram family: `_bucket` (cumulative, with `le`), `_sum` and `_count` per label set. */
  histogram(name: string, help: string, series: readonly { labels?: Labels; histogram: Histogram }[]): this {
    this.header(name, help, "histogram");
    for (const { labels, histogram: h } of series) {
      let cumulative = 0;
      for (let i = 0; i <= h.bounds.length; i++) {
        cumulative += h.counts[i]!;
        const le = i < h.bounds.length ? formatValue(h.bounds[i]!) : "+Inf";
        this.lines.push(`${name}_bucket${formatLabels(labels, ["le", le])} ${cumulative}`);
      }
      this.lines.push(`${name}_sum${formatLabels(labels)} ${formatValue(h.sum)}`);
      this.lines.push(`${name}_count${formatLabels(labels)} ${h.count}`);
    }
    return this;
  }

  /** The exposition text, ending in a line feed. */
  text(): string {
    return this.lines.length === 0 ? "" : `${this.lines.join("\n")}\n`;
  }
}

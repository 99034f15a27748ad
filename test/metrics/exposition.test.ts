import { describe, expect, test } from "bun:test";
import {
  DURATION_BUCKETS,
  escapeHelp,
  escapeLabelValue,
  Exposition,
  formatValue,
  Histogram,
} from "../../src/metrics/exposition.ts";
import { writeProcessMetrics } from "../../src/metrics/process.ts";
import { parseExposition, promtoolCheck, promtoolPath, sampleValue } from "../support/operator-tools.ts";

describe("exposition", () => {
  test("exposition - HELP and TYPE once per family, then its samples", () => {
    const out = new Exposition()
      .counter("jobs_total", "Jobs done.", [
        { labels: { function: "a" }, value: 3 },
        { labels: { function: "b" }, value: 0 },
      ])
      .gauge("up", "Up.", [{ value: 1 }]);
    expect(out.text()).toBe(
      [
        "# HELP jobs_total Jobs done.",
        "# TYPE jobs_total counter",
        'jobs_total{function="a"} 3',
        'jobs_total{function="b"} 0',
        "# HELP up Up.",
        "# TYPE up gauge",
        "up 1",
        "",
      ].join("\n"),
    );
  });

  test("exposition - label values and HELP are escaped", () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    expect(escapeHelp("x\\y\nz")).toBe("x\\\\y\\nz");
    const text = new Exposition().gauge("g", "line\nbreak", [{ labels: { function: 'q"\n\\' }, value: 2 }]).text();
    expect(text).toContain("# HELP g line\\nbreak\n");
    expect(text).toContain('g{function="q\\"\\n\\\\"} 2\n');
    expect(parseExposition(text).samples[0]!.labels.function).toBe('q"\n\\');
  });

  test("exposition - special values as Prometheus writes them", () => {
    expect([NaN, Infinity, -Infinity, 0.25, 1e21].map(formatValue)).toEqual(["NaN", "+Inf", "-Inf", "0.25", "1e+21"]);
  });

  test("exposition - bad names, a counter without _total and a family written twice throw", () => {
    expect(() => new Exposition().gauge("1bad", "", [])).toThrow(/metric name/);
    expect(() => new Exposition().gauge("g", "", [{ labels: { "bad-label": "x" }, value: 1 }])).toThrow(/label name/);
    expect(() => new Exposition().gauge("g", "", [{ labels: { __reserved: "x" }, value: 1 }])).toThrow(/label name/);
    expect(() => new Exposition().counter("jobs", "", [])).toThrow(/_total/);
    expect(() => new Exposition().gauge("g", "", []).gauge("g", "", [])).toThrow(/twice/);
  });

  test("histogram - buckets are cumulative with le and +Inf, plus _sum and _count", () => {
    const h = new Histogram([0.1, 1]);
    for (const v of [0.05, 0.1, 0.5, 3]) h.observe(v);
    const text = new Exposition().histogram("d_seconds", "D.", [{ labels: { function: "f" }, histogram: h }]).text();
    const { samples } = parseExposition(text);
    expect(sampleValue(samples, "d_seconds_bucket", { le: "0.1" })).toBe(2);
    expect(sampleValue(samples, "d_seconds_bucket", { le: "1" })).toBe(3);
    expect(sampleValue(samples, "d_seconds_bucket", { le: "+Inf" })).toBe(4);
    expect(sampleValue(samples, "d_seconds_sum")).toBeCloseTo(3.65);
    expect(sampleValue(samples, "d_seconds_count")).toBe(4);
  });

  test("histogram - add sums another with the same bounds, refuses other bounds", () => {
    const a = new Histogram([1, 2]);
    const b = new Histogram([1, 2]);
    a.observe(0.5);
    b.observe(1.5);
    b.observe(9);
    a.add(b);
    expect(a.counts).toEqual([1, 1, 1]);
    expect(a.count).toBe(3);
    expect(() => a.add(new Histogram([1]))).toThrow(/bounds/);
    expect(() => new Histogram([2, 1])).toThrow(/ascending/);
  });

  test("process - the standard process_* families with plausible values", () => {
    const out = new Exposition();
    writeProcessMetrics(out);
    const { samples, types } = parseExposition(out.text());
    expect(types.get("process_cpu_seconds_total")).toBe("counter");
    expect(sampleValue(samples, "process_cpu_seconds_total")!).toBeGreaterThan(0);
    expect(sampleValue(samples, "process_resident_memory_bytes")!).toBeGreaterThan(1024 * 1024);
    const start = sampleValue(samples, "process_start_time_seconds")!;
    expect(start).toBeLessThanOrEqual(Date.now() / 1000);
    expect(start).toBeGreaterThan(Date.now() / 1000 - 24 * 3600);
  });

  (promtoolPath ? test : test.skip)("exposition - promtool check metrics finds nothing to lint", async () => {
    const h = new Histogram(DURATION_BUCKETS);
    h.observe(0.02);
    const out = new Exposition()
      .counter("gearbun_test_jobs_total", "Jobs.", [{ labels: { function: 'a"b' }, value: 1 }])
      .gauge("gearbun_test_queue", "Queue.", [{ value: 2 }])
      .histogram("gearbun_test_duration_seconds", "Durations.", [{ labels: { function: "a" }, histogram: h }]);
    writeProcessMetrics(out);
    expect(await promtoolCheck(out.text())).toEqual({ exitCode: 0, output: "" });
    // and promtool does catch what it should: a counter family not ending in _total
    const bad = "# HELP jobs Jobs.\n# TYPE jobs counter\njobs 1\n";
    expect((await promtoolCheck(bad)).output).toContain("_total");
  });
});

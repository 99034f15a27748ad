import { describe, expect, test } from "bun:test";
import { resultsSvg, workerTables } from "../../bench/report.ts";
import { calibrateBurn } from "../../bench/peers/burn.ts";
import { poolCases, poolPlan } from "../../bench/pool.ts";
import { childPids, cpuDeltaNs, cpuSnapshot, peakRssKb, threadCpuSnapshot } from "../../bench/proc.ts";
import { idleTable } from "../../bench/report-tables.ts";
import { cases } from "../../bench/cases.ts";
import { parseThroughputArgs } from "../../bench/options.ts";
import type { Row } from "../../bench/rows.ts";
import { moreWarmupJobs, perProcessWarmupJobs } from "../../bench/warmup.ts";

const row = (peerId: string, label: string, median?: number): Row => ({
  section: "worker",
  caseId: "fg-16b",
  caseTitle: "16 B <foreground>",
  peerId,
  label,
  bytes: 16,
  jobs: 1000,
  status: median === undefined ? "failed" : "ok",
  ...(median !== undefined ? { jobsPerSecond: { median, min: median * 0.9, max: median * 1.1 } } : {}),
});

describe("bench report", () => {
  test("bench report - the chart has a bar per measured row, a label per row, escaped text", () => {
    const svg = resultsSvg([
      row("c", "libgearman C", 1000),
      row("gearbun-c16", "gearbun & co", 4000),
      row("gearman-bun", "gearman (Bun)"),
    ]);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.match(/<rect x=/g)?.length).toBe(2);
    expect(svg).toContain("gearbun &amp; co");
    expect(svg).toContain("16 B &lt;foreground&gt;");
    expect(svg).toContain(">failed<");
    expect(svg).not.toContain("<foreground>");
  });

  test("bench report - worker tables say the rows' pinning in the title and show user/sys CPU per job", () => {
    const pinned = (peerId: string, pin: string): Row => ({
      ...row(peerId, peerId, 1000),
      pin,
      cpuUsPerJob: 30,
      workerUserUsPerJob: 12.25,
      workerSysUsPerJob: 18,
    });
    const [one] = workerTables([
      pinned("c", "split: workers on CPU 1"),
      pinned("gearbun-c1", "split: workers on CPU 1"),
    ]);
    expect(one!.title).toBe("fg-16b: 16 B <foreground>; --pin split: workers on CPU 1");
    const col = one!.header.indexOf("worker user/sys µs/job");
    expect(one!.rows.map((r) => r[col])).toEqual(["12.3 / 18.0", "12.3 / 18.0"]);
    const [unpinned] = workerTables([row("c", "C", 1000)]);
    expect(unpinned!.title).toBe("fg-16b: 16 B <foreground>");
    expect(unpinned!.rows[0]![unpinned!.header.indexOf("worker user/sys µs/job")]).toBe("–");
  });

  test("bench report - bars scale to the largest max of their panel", () => {
    const svg = resultsSvg([row("c", "C", 1000), row("gearbun-c16", "G", 2000)]);
    const widths = [...svg.matchAll(/<rect x="\d+" y="\d+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(widths.length).toBe(2);
    expect(widths[1]! / widths[0]!).toBeCloseTo(2, 2);
  });
});

describe("bench plan", () => {
  test("bench plan - the issue's cases are all there, each with the C baseline first", () => {
    const ids = cases(false).map((c) => c.id);
    expect(ids).toEqual(["fg-16b", "bg-16b", "fg-16b-2srv", "fg-16b-4proc", "fg-64k", "fg-4m", "fg-16b-embedded"]);
    for (const c of cases(false)) expect(c.peers[0]).toBe("c");
    const full = new Map(cases(false).map((c) => [c.id, c]));
    expect(full.get("fg-16b")!.jobs).toBe(100_000);
    expect(full.get("fg-64k")!.jobs).toBe(10_000);
    expect(full.get("fg-4m")!.jobs).toBe(1_000);
  });

  test("bench plan - the second warm-up tops a row up to 10,000 jobs, within 3 s and 5 runs' worth", () => {
    expect(moreWarmupJobs(100_000, 10_000, 20_000)).toBe(0);
    expect(moreWarmupJobs(20_000, 2_000, 20_000)).toBe(8_000);
    expect(moreWarmupJobs(20_000, 2_000, 1_000)).toBe(1_000);
    expect(moreWarmupJobs(1_000, 100, 1_000_000)).toBe(4_900);
    expect(moreWarmupJobs(1_000, 100, 10)).toBe(0);
  });

  test("bench warm-up - many worker processes warm up to ~15,000 events each, within 60 s and 100 runs' worth", () => {
    expect(perProcessWarmupJobs(2_000, 1, true, 10_000, 5_000)).toBe(0); // one process: the second warm-up is enough
    expect(perProcessWarmupJobs(2_000, 40, true, 10_000, 1_000)).toBe(5_000); // every job wakes every process
    expect(perProcessWarmupJobs(2_000, 10, false, 10_000, 5_000)).toBe(45_000); // one woken per job
    expect(perProcessWarmupJobs(2_000, 40, false, 10_000, 2_000)).toBe(110_000); // 60 s at the rate seen
    expect(perProcessWarmupJobs(300, 40, false, 1_000, 1_000_000)).toBe(29_000); // 100 runs' worth
  });

  test("bench plan - arguments are checked", () => {
    expect(parseThroughputArgs(["--quick", "--runs", "5", "--case", "fg-16b,bg-16b"])).toMatchObject({
      quick: true,
      runs: 5,
      caseFilter: ["fg-16b", "bg-16b"],
      mssShim: true,
    });
    expect(() => parseThroughputArgs(["--runs", "0"])).toThrow("--runs");
    expect(() => parseThroughputArgs(["--loadgen", "python"])).toThrow("--loadgen");
  });
});

describe("bench pool plan", () => {
  test("bench pool plan - pool-cpu is 1 vs 2 processes, pool-light a plain Worker vs a pool of 1, pool-metrics a pool of 1 without and with --metrics", () => {
    const full = new Map(poolCases(false).map((c) => [c.id, c]));
    expect([...full.keys()]).toEqual(["pool-cpu", "pool-light", "pool-metrics"]);
    expect(full.get("pool-metrics")!.variants.map((v) => v.id)).toEqual(["pool-1", "pool-1-metrics"]);
    expect(full.get("pool-metrics")!.variants[1]!.command("127.0.0.1:1").join(" ")).toContain("--metrics 127.0.0.1:0");
    expect(full.get("pool-cpu")!.variants.map((v) => v.id)).toEqual(["pool-1", "pool-2"]);
    expect(full.get("pool-cpu")!.variants.map((v) => v.workers)).toEqual([1, 2]);
    expect(full.get("pool-light")!.variants.map((v) => v.id)).toEqual(["plain-worker", "pool-1"]);
    const cmd = full.get("pool-cpu")!.variants[1]!.command("127.0.0.1:1");
    expect(cmd.slice(2, 3)).toEqual(["worker"]);
    expect(cmd.join(" ")).toContain("--processes 2");
    expect(poolCases(true).every((c) => c.jobs < full.get(c.id)!.jobs)).toBe(true);
  });

  test("bench pool plan - --case and --peer select the pool rows; other cases select none", () => {
    const plan = (caseFilter: string[] | null, peerFilter: string[] | null = null) =>
      poolPlan({ quick: true, caseFilter, peerFilter }).map((k) => `${k.id}:${k.variants.map((v) => v.id).join("+")}`);
    expect(plan(null)).toEqual([
      "pool-cpu:pool-1+pool-2",
      "pool-light:plain-worker+pool-1",
      "pool-metrics:pool-1+pool-1-metrics",
    ]);
    expect(plan(["pool-cpu"])).toEqual(["pool-cpu:pool-1+pool-2"]);
    expect(plan(["fg-16b"])).toEqual([]);
    expect(plan(null, ["plain-worker"])).toEqual(["pool-light:plain-worker"]);
  });

  test("bench pool plan - the verdicts compare the second row to the first against the targets", () => {
    const [cpu, light] = poolCases(true);
    const r = (median: number, cpuUs: number): Row => ({
      ...row("x", "x", median),
      cpuUsPerJob: cpuUs,
    });
    expect(cpu!.verdict(r(1000, 500), r(1800, 500))).toContain("1.80× the jobs/s of 1 (target ≥ 1.70×: met)");
    expect(cpu!.verdict(r(1000, 500), r(1500, 500))).toContain("MISSED");
    expect(light!.verdict(r(1000, 30), r(980, 31))).toContain(
      "jobs/s -2.0 %, CPU per job +3.3 % (target: at most 5 % fewer jobs/s and 5 % more CPU: met)",
    );
    expect(light!.verdict(r(1000, 30), r(1000, 33))).toContain("MISSED");
    expect(light!.verdict(r(1000, 30), r(940, 30))).toContain("MISSED");
    expect(light!.verdict(r(1000, 30), r(1200, 25))).toContain(": met)");
  });

  test("bench pool plan - the hash loop is calibrated to a positive round count", () => {
    expect(calibrateBurn(200)).toBeGreaterThan(0);
  });
});

describe("bench accounting", () => {
  test("bench accounting - the children of a process are listed from /proc", async () => {
    const child = Bun.spawn(["sleep", "10"], { stdout: "ignore", stderr: "ignore" });
    try {
      expect(childPids(process.pid)).toContain(child.pid);
    } finally {
      child.kill("SIGKILL");
      await child.exited;
    }
    expect(childPids(process.pid)).not.toContain(child.pid);
    expect(childPids(2 ** 22 + 12345)).toEqual([]);
  });

  test("bench accounting - this process's CPU grows while it works, peak RSS is read", () => {
    const before = cpuSnapshot(process.pid);
    expect(before.size).toBeGreaterThan(0);
    // Work until the process's own accounting says 20 ms of CPU went by (whatever the load).
    const start = process.cpuUsage();
    let x = 0;
    for (;;) {
      for (let i = 0; i < 10_000; i++) x += Math.sqrt(x + i);
      const used = process.cpuUsage(start);
      if (used.user + used.system >= 20_000) break;
    }
    expect(x).toBeGreaterThan(0);
    expect(cpuDeltaNs(before, cpuSnapshot(process.pid))).toBeGreaterThan(10_000_000);
    expect(peakRssKb(process.pid)).toBeGreaterThan(1000);
  });

  test("bench accounting - a process that does not exist reads as nothing", () => {
    expect(cpuSnapshot(2 ** 22 + 12345).size).toBe(0);
    expect(peakRssKb(2 ** 22 + 12345)).toBe(0);
  });

  test("bench accounting - a thread's CPU is found by its name, and only its", () => {
    const all = cpuSnapshot(process.pid);
    // The main thread carries the process's name; no thread of a test runner is called this.
    expect(threadCpuSnapshot(process.pid, "no-such-thread-name").size).toBe(0);
    const jit = threadCpuSnapshot(process.pid, "JITWorker");
    for (const tid of jit.keys()) expect(all.has(tid)).toBe(true);
    expect(jit.has(process.pid)).toBe(false);
  });

  test("bench report - the idle table shows CPU per second and the ratio to the floor", () => {
    const idle = (peerId: string, cpuMs: number, ratio: number): Row => ({
      section: "idle",
      caseId: "idle",
      caseTitle: "idle worker",
      peerId,
      label: peerId,
      bytes: 0,
      jobs: 0,
      status: "ok",
      idleSeconds: 60,
      idleCpuMs: cpuMs,
      ratio: { jobsPerSecond: 1, cpu: ratio },
    });
    const table = idleTable([idle("gearbun", 42.6, 1.65), idle("bun-floor", 25.8, 1), row("c", "C", 1000)]);
    expect(table).not.toBeNull();
    expect(table!.rows).toEqual([
      ["gearbun", "60", "42.6", "710", "1.65×", ""],
      ["bun-floor", "60", "25.8", "430", "1.00×", ""],
    ]);
    expect(idleTable([row("c", "C", 1000)])).toBeNull();
  });
});

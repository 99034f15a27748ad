/**
 * Pool - metrics: the supervisor sums what its children report over IPC, with the worker's own
 * outcome words; a child that dies keeps its counted totals; each child's CPU and memory and each
 * group's processes are there; `gearbun worker --metrics` serves them, and a real Prometheus
 * reads them back.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { Client } from "../../src/client/client.ts";
import { collectPoolMetrics, poolHealth } from "../../src/pool/metrics.ts";
import { startPool } from "../../src/pool/supervisor.ts";
import { eventually } from "../support/eventually.ts";
import { describeGearmand, startGearmand } from "../support/gearmand.ts";
import {
  parseExposition,
  prometheusPath,
  promtoolCheck,
  promtoolPath,
  sampleValue,
  startPrometheus,
} from "../support/operator-tools.ts";
import { gearbunDaemon } from "../support/processes.ts";

const HANDLERS = join(import.meta.dir, "fixtures", "outcomes.ts");

async function submitAll(address: string, counts: Record<string, number>): Promise<void> {
  await using client = new Client({ servers: address });
  const tasks: Promise<unknown>[] = [];
  for (const [fn, n] of Object.entries(counts)) {
    for (let i = 0; i < n; i++) tasks.push(Promise.resolve(client.submit(fn, String(i))).catch(() => {}));
  }
  await Promise.all(tasks);
}

describeGearmand("pool - metrics", () => {
  test("pool - metrics: the pool sums its children; a killed child keeps its totals", async () => {
    await using g = await startGearmand();
    const quiet = { out: () => {}, err: () => {} };
    await using pool = await startPool(
      { handlers: HANDLERS, servers: g.address, processes: 2, statsInterval: 100 },
      { sink: quiet },
    );
    const metrics = collectPoolMetrics(pool);
    await submitAll(g.address, { ops_ok: 20, ops_fail: 5, ops_throw: 3 });
    const jobs = (text: string, fn: string, outcome: string) =>
      sampleValue(parseExposition(text).samples, "gearman_worker_jobs_total", { function: fn, outcome });
    let text = await eventually(
      () => {
        const t = metrics.exposition(pool);
        return jobs(t, "ops_ok", "complete") === 20 && jobs(t, "ops_throw", "exception") === 3 ? t : undefined;
      },
      "the children's reports",
      10_000,
      50,
    );
    const { samples, types } = parseExposition(text);
    expect(jobs(text, "ops_fail", "fail")).toBe(5);
    expect(jobs(text, "ops_ok", "lost")).toBe(0);
    expect(types.get("gearman_worker_job_duration_seconds")).toBe("histogram");
    expect(sampleValue(samples, "gearman_worker_job_duration_seconds_count", { function: "ops_ok" })).toBe(20);
    expect(sampleValue(samples, "gearman_worker_job_duration_seconds_bucket", { function: "ops_ok", le: "+Inf" })).toBe(
      20,
    );
    expect(sampleValue(samples, "gearman_worker_processes")).toBe(2);
    expect(sampleValue(samples, "gearman_worker_connection_up", { server: g.address })).toBe(2);
    expect(sampleValue(samples, "gearman_worker_server_jobs_total", { server: g.address })).toBe(28);
    // Every job came in answer to a GRAB; each child's GRABs on an empty queue came back NO_JOB.
    expect(sampleValue(samples, "gearman_worker_grabs_total", { server: g.address, answer: "job" })).toBe(28);
    expect(
      sampleValue(samples, "gearman_worker_grabs_total", { server: g.address, answer: "no_job" }),
    ).toBeGreaterThanOrEqual(2);
    expect(sampleValue(samples, "gearman_worker_jobs_running", { function: "ops_ok" })).toBe(0);
    expect(poolHealth(pool, metrics)).toEqual({ ok: true, reason: "general: 2 of 2 registered" });
    for (const state of ["configured", "registered", "serving"]) {
      expect(sampleValue(samples, "gearman_worker_group_processes", { group: "general", state })).toBe(2);
    }
    // Per child, from its heartbeats (every second).
    const usage = await eventually(
      () => {
        const s = parseExposition(metrics.exposition(pool)).samples;
        const rss = sampleValue(s, "gearman_worker_process_resident_memory_bytes", { child: "2", group: "general" });
        return rss === undefined ? undefined : s;
      },
      "per-child usage",
      5000,
      100,
    );
    for (const child of ["1", "2"]) {
      const labels = { child, group: "general" };
      expect(sampleValue(usage, "gearman_worker_process_cpu_seconds_total", labels)!).toBeGreaterThan(0);
      expect(sampleValue(usage, "gearman_worker_process_resident_memory_bytes", labels)!).toBeGreaterThan(10_000_000);
    }
    expect(sampleValue(usage, "gearman_worker_unresponsive_total")).toBe(0);
    if (promtoolPath) expect(await promtoolCheck(text)).toEqual({ exitCode: 0, output: "" });

    // a child killed with SIGKILL: what it reported stays counted, and counters never go down
    const victim = pool.children()[0]!;
    process.kill(victim.pid, "SIGKILL");
    await eventually(
      () => pool.children().some((c) => c.pid !== victim.pid && c.index === victim.index && c.state === "ready"),
      "respawn",
      15_000,
      50,
    );
    await submitAll(g.address, { ops_ok: 10 });
    text = await eventually(
      () => {
        const t = metrics.exposition(pool);
        return jobs(t, "ops_ok", "complete") === 30 ? t : undefined;
      },
      "totals after the respawn",
      10_000,
      50,
    );
    const after = parseExposition(text).samples;
    for (const s of samples.filter((x) => x.name.endsWith("_total") || x.name.endsWith("_count"))) {
      expect(sampleValue(after, s.name, s.labels)!).toBeGreaterThanOrEqual(s.value);
    }
    expect(jobs(text, "ops_fail", "fail")).toBe(5);
  }, 60_000);

  test("pool - metrics: gearbun worker --metrics serves /metrics and /healthz; a real Prometheus reads them", async () => {
    await using g = await startGearmand();
    await using daemon = await gearbunDaemon(
      ["worker", HANDLERS, "--servers", g.address, "--processes", "2", "--log", "off", "--metrics", "127.0.0.1:0"],
      /gearbun worker: .* \(2 processes/,
    );
    const url = /metrics on (http:\/\/\S+)\/metrics/.exec(daemon.errors())![1]!;
    const health = await fetch(`${url}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, "ok: general: 2 of 2 registered\n"]);
    await submitAll(g.address, { ops_ok: 7 });
    const text = await eventually(
      async () => {
        const t = await (await fetch(`${url}/metrics`)).text();
        return sampleValue(parseExposition(t).samples, "gearman_worker_jobs_total", {
          function: "ops_ok",
          outcome: "complete",
        }) === 7
          ? t
          : undefined;
      },
      "7 jobs in /metrics",
      10_000,
      100,
    );
    expect(sampleValue(parseExposition(text).samples, "gearman_worker_processes")).toBe(2);
    if (prometheusPath) {
      await using prom = await startPrometheus([new URL(url).host]);
      const r = await eventually(
        async () => {
          const v = await prom.query(`gearman_worker_jobs_total{function="ops_ok",outcome="complete"}`);
          return v.length > 0 ? v : undefined;
        },
        "the pool's jobs in Prometheus",
        30_000,
        200,
      );
      expect(r[0]!.value).toBe(7);
    }
    expect(await daemon.stop()).toBe(0);
  }, 90_000);
});

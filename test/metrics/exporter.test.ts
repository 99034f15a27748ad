import { describe, expect, test } from "bun:test";
import { Admin } from "../../src/admin/admin.ts";
import { scrapeCluster, startExporter } from "../../src/metrics/exporter.ts";
import { describeGearmand, freePort, startGearmand } from "../support/gearmand.ts";
import { eventually } from "../support/eventually.ts";
import {
  parseExposition,
  prometheusPath,
  promtoolCheck,
  promtoolPath,
  sampleValue,
  startPrometheus,
  startScene,
} from "../support/operator-tools.ts";
import { describeTargets, startTarget } from "../support/targets.ts";
import { gearbunDaemon } from "../monitor/cli.ts";

async function scrape(url: string): Promise<{ text: string; type: string | null }> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  return { text: await res.text(), type: res.headers.get("content-type") };
}

describeTargets("exporter", (target) => {
  test("exporter - a scrape during a run shows what admin status shows", async () => {
    await using server = await startTarget(target);
    await using scene = await startScene(server.address, "ops_resize", 4);
    await using exporter = startExporter({ servers: server.address, listen: "127.0.0.1:0" });
    const { text, type } = await scrape(exporter.url);
    expect(type).toBe("text/plain; version=0.0.4; charset=utf-8");
    const { samples, types } = parseExposition(text);
    await using admin = new Admin(server.address);
    const row = (await admin.status()).find((r) => r.function === "ops_resize")!;
    const at = { server: server.address, function: "ops_resize" };
    expect(sampleValue(samples, "gearman_up", { server: server.address })).toBe(1);
    expect(sampleValue(samples, "gearman_jobs", at)).toBe(row.total);
    expect(sampleValue(samples, "gearman_jobs_running", at)).toBe(row.running);
    expect(sampleValue(samples, "gearman_jobs_waiting", at)).toBe(row.total - row.running);
    expect(sampleValue(samples, "gearman_workers", at)).toBe(row.workers);
    expect([row.total, row.running, row.workers]).toEqual([4, 1, 1]);
    const version = samples.find((s) => s.name === "gearman_version_info")!;
    expect(version.labels.version).toBe(await admin.version());
    for (const name of ["gearman_up", "gearman_jobs", "gearman_jobs_waiting", "gearman_workers"]) {
      expect(types.get(name)).toBe("gauge");
    }
    if (promtoolPath) expect(await promtoolCheck(text)).toEqual({ exitCode: 0, output: "" });

    // more jobs: the next scrape follows
    await scene.submit(3);
    await eventually(
      async () => sampleValue(parseExposition((await scrape(exporter.url)).text).samples, "gearman_jobs", at) === 7,
      "7 jobs scraped",
      15_000,
      100,
    );
    expect((await fetch(`${exporter.url}/healthz`)).status).toBe(200);
  });
});

describe("exporter", () => {
  test("exporter - a server that does not answer is gearman_up 0, never a failed scrape", async () => {
    // a listener that accepts and never answers, and a port nobody listens on
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const closed = `127.0.0.1:${freePort()}`;
    try {
      const started = performance.now();
      const text = await scrapeCluster([`127.0.0.1:${silent.port}`, closed], 300);
      expect(performance.now() - started).toBeLessThan(3000);
      const { samples } = parseExposition(text);
      expect(sampleValue(samples, "gearman_up", { server: `127.0.0.1:${silent.port}` })).toBe(0);
      expect(sampleValue(samples, "gearman_up", { server: closed })).toBe(0);
      expect(samples.filter((s) => s.name === "gearman_jobs")).toEqual([]);
      await using exporter = startExporter({ servers: closed, listen: "127.0.0.1:0", timeout: 300 });
      const res = await fetch(`${exporter.url}/healthz`);
      expect(res.status).toBe(503);
      expect(await res.text()).toContain(`no server answers (${closed})`);
      expect((await fetch(`${exporter.url}/metrics`)).status).toBe(200);
      // One answers: the exporter is healthy, and its line says which one does not.
      await using live = await startTarget("embedded");
      await using mixed = startExporter({ servers: [live.address, closed], listen: "127.0.0.1:0", timeout: 300 });
      const both = await fetch(`${mixed.url}/healthz`);
      expect([both.status, await both.text()]).toEqual([200, `ok: 1 of 2 servers answer; not answering: ${closed}\n`]);
    } finally {
      silent.stop(true);
    }
  });

  test("exporter - a listen address in use is a clear error naming the option", async () => {
    await using first = startExporter({ servers: "127.0.0.1:1", listen: "127.0.0.1:0" });
    expect(() => startExporter({ servers: "127.0.0.1:1", listen: first.address })).toThrow(/listen: cannot listen on/);
  });
});

describeGearmand("exporter over gearmand", () => {
  test("exporter - two gearmand, one killed: gearman_up 0 for it, the other still reported", async () => {
    await using a = await startGearmand();
    await using b = await startGearmand();
    await using _scene = await startScene(b.address, "ops_survivor", 2);
    await using exporter = startExporter({ servers: [a.address, b.address], listen: "127.0.0.1:0", timeout: 1000 });
    let s = parseExposition((await scrape(exporter.url)).text).samples;
    expect(sampleValue(s, "gearman_up", { server: a.address })).toBe(1);
    expect(sampleValue(s, "gearman_up", { server: b.address })).toBe(1);
    await a.kill();
    s = parseExposition((await scrape(exporter.url)).text).samples;
    expect(sampleValue(s, "gearman_up", { server: a.address })).toBe(0);
    expect(sampleValue(s, "gearman_up", { server: b.address })).toBe(1);
    expect(sampleValue(s, "gearman_jobs", { server: b.address, function: "ops_survivor" })).toBe(2);
    expect(
      s.filter(
        (x) => x.labels.server === a.address && x.name !== "gearman_up" && x.name !== "gearman_scrape_duration_seconds",
      ),
    ).toEqual([]);
    expect((await fetch(`${exporter.url}/healthz`)).status).toBe(200);
  });

  (prometheusPath ? test : test.skip)(
    "exporter - a real Prometheus scrapes it and answers a query with the queue length",
    async () => {
      await using g = await startGearmand();
      await using _scene = await startScene(g.address, "ops_prom", 5);
      await using exporter = startExporter({ servers: g.address, listen: "127.0.0.1:0" });
      await using prom = await startPrometheus([exporter.address]);
      const result = await eventually(
        async () => {
          const r = await prom.query(`gearman_jobs{function="ops_prom"}`);
          return r.length > 0 ? r : undefined;
        },
        "gearman_jobs in Prometheus",
        30_000,
        100,
      );
      expect(result).toHaveLength(1);
      expect(result[0]!.metric.server).toBe(g.address);
      expect(result[0]!.value).toBe(5);
      const waiting = await prom.query(`gearman_jobs_waiting{function="ops_prom"}`);
      expect(waiting[0]!.value).toBe(4);
      const up = await prom.query(`up{job="gearbun"}`);
      expect(up[0]!.value).toBe(1);
    },
    60_000,
  );
});

describe("exporter CLI", () => {
  test("exporter - gearbun exporter serves /metrics for --servers on --listen", async () => {
    await using server = await startTarget("embedded");
    await using _scene = await startScene(server.address, "ops_cli", 2);
    await using daemon = await gearbunDaemon(
      ["exporter", "--servers", server.address, "--listen", "127.0.0.1:0"],
      /(http:\/\/127\.0\.0\.1:\d+)\/metrics/,
    );
    const { text } = await scrape(daemon.match[1]!);
    const { samples } = parseExposition(text);
    expect(sampleValue(samples, "gearman_jobs", { server: server.address, function: "ops_cli" })).toBe(2);
    expect(await daemon.stop()).toBe(0);
  });
});

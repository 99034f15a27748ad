/**
 * Dashboard - the page in a real headless Chromium against a live embedded server with a worker
 * and queued jobs: the rows and numbers are admin status's, they follow new submits, and a
 * screenshot is saved as a test artifact ($GEARBUN_ARTIFACTS, default a temp dir).
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Admin } from "../../src/admin/admin.ts";
import { Client } from "../../src/client/client.ts";
import { dashboardData, serveDashboard } from "../../src/dashboard/serve.ts";
import { pollCluster } from "../../src/admin/cluster.ts";
import { freePort } from "../support/gearmand.ts";
import { startChromium } from "../support/chromium.ts";
import { eventually } from "../support/eventually.ts";
import { chromiumPath, startScene } from "../support/operator-tools.ts";
import { startPool } from "../../src/pool/supervisor.ts";
import { servePoolMetrics } from "../../src/pool/metrics.ts";
import { readPoolMetrics } from "../../src/dashboard/pool.ts";
import { startTarget } from "../support/targets.ts";
import { gearbunDaemon } from "../monitor/cli.ts";

const ARTIFACTS = process.env.GEARBUN_ARTIFACTS ?? join(tmpdir(), "gearbun-artifacts");

interface Row {
  function: string;
  total: number;
  running: number;
  waiting: number;
  workers: number;
}

/** The functions table as the page shows it. */
const READ_FUNCTIONS = `[...document.querySelectorAll("#functions tbody tr[data-function]")].map((tr) => ({
  function: tr.dataset.function,
  total: Number(tr.querySelector(".total").textContent),
  running: Number(tr.querySelector(".running").textContent),
  waiting: Number(tr.querySelector(".waiting").textContent),
  workers: Number(tr.querySelector(".workers").textContent),
}))`;

describe("dashboard", () => {
  test("dashboard - data: servers, summed functions with per-server rows, workers with functions", async () => {
    await using a = await startTarget("embedded");
    await using b = await startTarget("embedded");
    await using _sa = await startScene(a.address, "ops_dash_sum", 2);
    await using _sb = await startScene(b.address, "ops_dash_sum", 3);
    const dead = `127.0.0.1:${freePort()}`;
    const d = dashboardData(
      await pollCluster([a.address, b.address, dead], { workers: true, timeout: 1000 }),
      [],
      "change",
    );
    expect(d.servers.map((s) => [s.server, s.up])).toEqual([
      [a.address, true],
      [b.address, true],
      [dead, false],
    ]);
    const f = d.functions.find((x) => x.function === "ops_dash_sum")!;
    expect([f.total, f.running, f.waiting, f.workers]).toEqual([5, 2, 3, 2]);
    expect(f.servers[a.address]).toEqual({ total: 2, running: 1, workers: 1 });
    expect(d.workers.filter((w) => w.clientId === "ops-worker").map((w) => [w.server, w.functions])).toEqual([
      [a.address, ["ops_dash_sum"]],
      [b.address, ["ops_dash_sum"]],
    ]);
  });

  (chromiumPath ? test : test.skip)(
    "dashboard - in Chromium: rows and numbers equal admin status, follow new jobs, screenshot saved",
    async () => {
      await using server = await startTarget("embedded");
      await using scene = await startScene(server.address, "ops_resize", 6, 2);
      await using other = await startScene(server.address, "ops_thumbnail", 2);
      await using dash = serveDashboard({ servers: server.address, listen: "127.0.0.1:0", interval: 200 });
      await using browser = await startChromium();
      await browser.navigate(`${dash.url}/`);
      await using admin = new Admin(server.address);
      const expected = async (): Promise<Row[]> =>
        (await admin.status())
          .map((r) => ({
            function: r.function,
            total: r.total,
            running: r.running,
            waiting: r.total - r.running,
            workers: r.workers,
          }))
          .sort((x, y) => (x.function < y.function ? -1 : 1));
      const shown = async (want: Row[]): Promise<Row[] | undefined> => {
        const rows = await browser.evaluate<Row[]>(READ_FUNCTIONS);
        return JSON.stringify(rows) === JSON.stringify(want) ? rows : undefined;
      };
      const first = await expected();
      expect(first).toEqual([
        { function: "ops_resize", total: 6, running: 2, waiting: 4, workers: 1 },
        { function: "ops_thumbnail", total: 2, running: 1, waiting: 1, workers: 1 },
      ]);
      await eventually(() => shown(first), "the page shows admin status", 15_000, 100);
      const servers = await browser.evaluate<string[][]>(
        `[...document.querySelectorAll("#servers tbody tr")].map((tr) => [...tr.children].slice(0, 3).map((td) => td.textContent))`,
      );
      expect(servers).toEqual([[server.address, "up", "gearbun-0.1.0"]]);
      const workers = await browser.evaluate<string[]>(
        `[...document.querySelectorAll("#workers tbody tr[data-worker]")].map((tr) => tr.querySelector(".functions").textContent)`,
      );
      expect(workers.sort()).toEqual(["ops_resize", "ops_thumbnail"]);

      // more jobs: the numbers follow
      await scene.submit(5);
      const second = await expected();
      expect(second[0]).toEqual({ function: "ops_resize", total: 11, running: 2, waiting: 9, workers: 1 });
      await eventually(() => shown(second), "the page follows new jobs", 15_000, 100);

      // sorting: a click on "Waiting" puts the longest queue first, a second click reverses
      const order = (): Promise<string[]> =>
        browser.evaluate<string[]>(
          `[...document.querySelectorAll("#functions tbody tr")].map((tr) => tr.dataset.function)`,
        );
      await browser.evaluate(`document.querySelector('#functions th[data-key="waiting"]').click()`);
      expect(await order()).toEqual(["ops_resize", "ops_thumbnail"]);
      await browser.evaluate(`document.querySelector('#functions th[data-key="waiting"]').click()`);
      expect(await order()).toEqual(["ops_thumbnail", "ops_resize"]);

      // the charts have drawn a line
      const lines = await eventually(
        async () => {
          const n = await browser.evaluate<number>(`document.querySelectorAll("svg polyline.series").length`);
          return n === 2 ? n : undefined;
        },
        "charts drawn",
        15_000,
        100,
      );
      expect(lines).toBe(2);
      const depth = await browser.evaluate<string>(`document.getElementById("chart-depth").dataset.last`);
      expect(Number(depth)).toBe(13);

      mkdirSync(ARTIFACTS, { recursive: true });
      const png = await browser.screenshot();
      expect([...png.subarray(1, 4)]).toEqual([0x50, 0x4e, 0x47]); // "PNG"
      writeFileSync(join(ARTIFACTS, "dashboard.png"), png);
      console.log(`dashboard screenshot: ${join(ARTIFACTS, "dashboard.png")} (${png.byteLength} bytes)`);
      other.release();
    },
    60_000,
  );

  (chromiumPath ? test : test.skip)(
    "dashboard - gearbun server --dashboard: completed jobs per second from the server's counters",
    async () => {
      await using daemon = await gearbunDaemon(
        ["server", "--port", "0", "--dashboard", "127.0.0.1:0"],
        /listening on (127\.0\.0\.1:\d+)[\s\S]*dashboard on (http:\/\/\S+\/)/,
      );
      const [, address, url] = daemon.match;
      await using browser = await startChromium();
      await browser.navigate(url!);
      await using scene = await startScene(address!, "ops_rate", 1);
      scene.release();
      await using client = new Client({ servers: address! });
      for (let i = 0; i < 20; i++) await client.submitBackground("ops_rate", String(i));
      const title = await browser.evaluate<string>(`document.getElementById("rate-title").textContent`);
      expect(title).toBe("Completed jobs per second");
      const peak = await eventually(
        async () => {
          const v = Number(await browser.evaluate<string>(`document.getElementById("chart-rate").dataset.max || "0"`));
          return v > 0 ? v : undefined;
        },
        "a completed rate above 0",
        15_000,
        50,
      );
      expect(peak).toBeGreaterThan(0);
    },
    60_000,
  );

  test("dashboard - pool panel data: processes per group and outcomes per function from a pool's exposition", () => {
    const text = [
      "# TYPE gearman_worker_jobs_total counter",
      'gearman_worker_jobs_total{function="resize",outcome="complete"} 7',
      'gearman_worker_jobs_total{function="resize",outcome="fail"} 2',
      'gearman_worker_jobs_total{function="resize",outcome="exception"} 1',
      'gearman_worker_jobs_total{function="resize",outcome="timeout"} 1',
      'gearman_worker_jobs_total{function="resize",outcome="lost"} 3',
      'gearman_worker_retries_total{function="resize"} 4',
      'gearman_worker_dead_letters_total{function="resize"} 1',
      'gearman_worker_group_processes{group="general",state="configured"} 2',
      'gearman_worker_group_processes{group="general",state="registered"} 1',
      'gearman_worker_group_processes{group="general",state="serving"} 1',
      "process_cpu_seconds_total 1.5",
    ].join("\n");
    expect(readPoolMetrics(text)).toEqual({
      groups: [{ group: "general", configured: 2, registered: 1, serving: 1 }],
      functions: [{ function: "resize", complete: 7, failed: 4, lost: 3, retries: 4, deadLetters: 1 }],
    });
  });

  (chromiumPath ? test : test.skip)(
    "dashboard - in Chromium at 1280x900: three servers and a down one, a pool panel, no horizontal scroll",
    async () => {
      await using a = await startTarget("embedded");
      await using b = await startTarget("embedded");
      await using c = await startTarget("embedded");
      const dead = `127.0.0.1:${freePort()}`;
      const addresses = [a.address, b.address, c.address];
      await using _s1 = await startScene(a.address, "image_resize_thumbnail_large", 6, 2);
      await using _s2 = await startScene(b.address, "image_resize_thumbnail_large", 4);
      await using _s3 = await startScene(c.address, "pdf_render", 3);
      await using pool = await startPool(
        {
          handlers: join(import.meta.dir, "../pool/fixtures/handlers.ts"),
          servers: addresses,
          processes: 2,
          statsInterval: 200,
        },
        { sink: { out: () => {}, err: () => {} } },
      );
      await using metrics = servePoolMetrics(pool, "127.0.0.1:0");
      await using client = new Client({ servers: addresses });
      for (let i = 0; i < 12; i++) await client.submit("reverse", `job ${i}`);
      // Jobs nobody serves: the row the page must point out.
      for (let i = 0; i < 5; i++) await client.submitBackground("nobody_serves_this", String(i));
      await using dash = serveDashboard(
        { servers: [...addresses, dead], listen: "127.0.0.1:0", interval: 200 },
        { pool: metrics.address },
      );
      await using browser = await startChromium(1280, 900);
      await browser.navigate(`${dash.url}/`);
      await eventually(
        async () =>
          (await browser.evaluate<string>(
            `document.querySelector('#pool-functions tr[data-function="reverse"] .complete')?.textContent ?? ""`,
          )) === "12",
        "the pool panel's 12 done jobs",
        15_000,
        100,
      );
      const groups = await browser.evaluate<string[]>(
        `[...document.querySelectorAll("#pool-groups tbody tr td")].map((td) => td.textContent)`,
      );
      expect(groups).toEqual(["general", "2", "2", "2"]);
      expect(await browser.evaluate<string>(`document.getElementById("pool-health").textContent`)).toBe(
        "ok: general: 2 of 2 registered",
      );
      const starved = await browser.evaluate<string[]>(
        `[...document.querySelectorAll("#functions tr.starved")].map((tr) => tr.dataset.function)`,
      );
      expect(starved).toEqual(["nobody_serves_this"]);
      const down = await browser.evaluate<string>(
        `document.querySelector('#servers tr[data-up="0"] .elapsed').textContent`,
      );
      expect(down).toBe("—");
      const perServer = await browser.evaluate<string[]>(
        `[...document.querySelectorAll('#functions tr[data-function="image_resize_thumbnail_large"] .per-server span')].map((s) => s.textContent)`,
      );
      expect(perServer).toEqual([`${a.address} 6/2/1`, `${b.address} 4/1/1`]);
      await eventually(
        async () => (await browser.evaluate<number>(`document.querySelectorAll("svg polyline.series").length`)) === 2,
        "charts drawn",
        15_000,
        100,
      );
      const labels = await browser.evaluate<string[]>(
        `[...document.querySelectorAll("svg text.tick")].map((t) => t.textContent)`,
      );
      for (const l of labels) expect(l).toMatch(/^-?\d{1,3}(\.\d{1,2})?[kM]?$/);
      const scroll = await browser.evaluate<{ page: number; view: number }>(
        `({ page: document.documentElement.scrollWidth, view: window.innerWidth })`,
      );
      console.log(
        `dashboard - 1280x900: page ${scroll.page} px wide in a ${scroll.view} px viewport; ticks ${labels.join(" ")}`,
      );
      expect(scroll.page).toBeLessThanOrEqual(scroll.view);
      mkdirSync(ARTIFACTS, { recursive: true });
      const png = await browser.screenshot();
      writeFileSync(join(ARTIFACTS, "dashboard-pool.png"), png);
      console.log(`dashboard screenshot: ${join(ARTIFACTS, "dashboard-pool.png")} (${png.byteLength} bytes)`);
    },
    90_000,
  );
});

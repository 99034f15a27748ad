import { describe, expect, test } from "bun:test";
import { Admin } from "../../src/admin/admin.ts";
import { Client } from "../../src/client/client.ts";
import { serverExposition } from "../../src/metrics/server.ts";
import { startServer } from "../../src/server/server.ts";
import { Worker } from "../../src/worker/worker.ts";
import { JobFailure } from "../../src/worker/job.ts";
import { gearbunDaemon } from "../monitor/cli.ts";
import { parseExposition, promtoolCheck, promtoolPath, sampleValue, startScene } from "../support/operator-tools.ts";

describe("server metrics", () => {
  test("server metrics - gearman_* equal admin status during a run; counters count outcomes and only go up", async () => {
    await using server = await startServer({ port: 0 });
    await using scene = await startScene(server.address, "ops_srv", 3);
    let { samples, types } = parseExposition(serverExposition(server));
    await using admin = new Admin(server.address);
    const row = (await admin.status()).find((r) => r.function === "ops_srv")!;
    const fn = { function: "ops_srv" };
    expect(sampleValue(samples, "gearman_up")).toBe(1);
    expect(sampleValue(samples, "gearman_version_info", { version: await admin.version() })).toBe(1);
    expect(sampleValue(samples, "gearman_jobs", fn)).toBe(row.total);
    expect(sampleValue(samples, "gearman_jobs_running", fn)).toBe(row.running);
    expect(sampleValue(samples, "gearman_jobs_waiting", fn)).toBe(row.total - row.running);
    expect(sampleValue(samples, "gearman_workers", fn)).toBe(row.workers);
    expect(sampleValue(samples, "gearman_server_jobs_submitted_total", fn)).toBe(3);
    expect(sampleValue(samples, "gearman_server_jobs_ended_total", { ...fn, outcome: "complete" })).toBe(0);
    expect(types.get("gearman_server_jobs_submitted_total")).toBe("counter");
    const connections = sampleValue(samples, "gearman_server_connections_total")!;
    expect(connections).toBeGreaterThanOrEqual(3); // worker, client, admin

    // outcomes: complete, fail (a JobFailure, and a throw)
    await using worker = new Worker({ servers: server.address });
    worker.register("ops_outcome", (job) => {
      const what = new TextDecoder().decode(job.payload);
      if (what === "fail") throw new JobFailure();
      if (what === "throw") throw new Error("boom");
      return "ok";
    });
    await worker.start();
    await using client = new Client({ servers: server.address });
    await client.submit("ops_outcome", "fine");
    await client.submit("ops_outcome", "fail").catch(() => {});
    await client.submit("ops_outcome", "throw").catch(() => {});
    scene.release();
    await using check = new Admin(server.address);
    for (let i = 0; i < 200 && (await check.status()).find((r) => r.function === "ops_srv")!.total > 0; i++) {
      await Bun.sleep(20);
    }
    const before = samples;
    ({ samples } = parseExposition(serverExposition(server)));
    const ended = (f: string, outcome: string) =>
      sampleValue(samples, "gearman_server_jobs_ended_total", { function: f, outcome });
    // gearbun's worker ends a throw with WORK_WARNING + WORK_FAIL (docs/semantics.md): the server counts two fails.
    expect([ended("ops_outcome", "complete"), ended("ops_outcome", "fail"), ended("ops_outcome", "exception")]).toEqual(
      [1, 2, 0],
    );
    expect(ended("ops_srv", "complete")).toBe(3);
    expect(sampleValue(samples, "gearman_jobs", fn)).toBe(0);
    for (const s of before.filter((x) => x.name.endsWith("_total"))) {
      expect(sampleValue(samples, s.name, s.labels)!).toBeGreaterThanOrEqual(s.value);
    }
    if (promtoolPath) expect(await promtoolCheck(serverExposition(server))).toEqual({ exitCode: 0, output: "" });
  });

  test("server metrics - gearbun server --metrics serves /metrics and /healthz", async () => {
    await using daemon = await gearbunDaemon(
      ["server", "--port", "0", "--metrics", "127.0.0.1:0"],
      /listening on (127\.0\.0\.1:\d+)[\s\S]*metrics on (http:\/\/\S+)\/metrics/,
    );
    const [, address, url] = daemon.match;
    await using _scene = await startScene(address!, "ops_cli_metrics", 2);
    const res = await fetch(`${url}/metrics`);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const { samples } = parseExposition(await res.text());
    expect(sampleValue(samples, "gearman_jobs", { function: "ops_cli_metrics" })).toBe(2);
    expect(sampleValue(samples, "process_resident_memory_bytes")!).toBeGreaterThan(0);
    const health = await fetch(`${url}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, `ok: listening on ${address}\n`]);
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    expect(await daemon.stop()).toBe(0);
  });
});

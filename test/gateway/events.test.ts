/**
 * Gateway - a job's events as server-sent events: in order over fetch and curl, in a real
 * browser's EventSource (headless Chromium), each terminal event, a reconnect that must not run
 * the job again, and the HTTP client leaving mid-stream (the job runs on; its slot frees when it ends).
 */
import { describe, expect, test } from "bun:test";
import { startChromium } from "../support/chromium.ts";
import { Admin } from "../../src/admin/admin.ts";
import { Client } from "../../src/client/client.ts";
import { Worker } from "../../src/worker/worker.ts";
import { eventually } from "../support/eventually.ts";
import { run } from "../support/processes.ts";
import { metric, parseSse, startScene } from "./fixture.ts";

const SSE = { accept: "text/event-stream" };

describe("gateway events", () => {
  test("gateway - POST with Accept: text/event-stream streams created, status/data/warning in order, then complete", async () => {
    await using s = await startScene();
    const r = await fetch(`${s.url}/jobs/progress`, { method: "POST", body: "3", headers: SSE });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const events = parseSse(await r.text());
    expect(events.map((e) => e.event)).toEqual([
      "created",
      "status",
      "data",
      "status",
      "data",
      "warning",
      "status",
      "data",
      "complete",
    ]);
    expect(events.map((e) => e.id)).toEqual(["1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    expect(events[0]!.data).toEqual({ handle: expect.stringMatching(/^H:/) });
    expect(events[1]!.data).toEqual({ numerator: 1, denominator: 3 });
    expect(events[5]!.data).toEqual({ data: "half way", encoding: "utf8" });
    expect(events[8]!.data).toEqual({ data: "done 3", encoding: "utf8" });
  });

  test("gateway - event stream terminal events: fail, a throw (warning then fail), timeout; binary data as base64", async () => {
    await using s = await startScene();
    const failed = parseSse(await (await fetch(`${s.url}/jobs/fail`, { method: "POST", headers: SSE })).text());
    expect(failed.at(-1)!.event).toBe("fail");
    expect(failed.at(-1)!.data).toMatchObject({ code: "JOB_FAILED" });
    const thrown = parseSse(await (await fetch(`${s.url}/jobs/throw`, { method: "POST", headers: SSE })).text());
    // A throw: WORK_WARNING with its text, then WORK_FAIL (whose detail is that text).
    expect(thrown.slice(1).map((e) => [e.event, e.data])).toEqual([
      ["warning", { data: "kaboom", encoding: "utf8" }],
      ["fail", expect.objectContaining({ code: "JOB_FAILED", detail: "kaboom" })],
    ]);
    const late = await fetch(`${s.url}/jobs/hold?timeout=300`, { method: "POST", body: "late", headers: SSE });
    const timedOut = parseSse(await late.text());
    expect(timedOut.map((e) => e.event)).toEqual(["created", "status", "timeout"]);
    expect(timedOut.at(-1)!.data).toMatchObject({ code: "TIMEOUT" });
    const bin = parseSse(
      await (
        await fetch(`${s.url}/jobs/echo`, { method: "POST", body: new Uint8Array([255, 0]), headers: SSE })
      ).text(),
    );
    expect(bin.at(-1)).toMatchObject({ event: "complete", data: { data: "/wA=", encoding: "base64" } });
  });

  test("gateway - curl -N shows the events as a shell user sees them", async () => {
    await using s = await startScene();
    const { code, out } = await run(
      ["curl", "-sS", "-N", "-H", "Accept: text/event-stream", "--data-binary", "2", `${s.url}/jobs/progress`],
      { timeoutMs: 10_000 },
    );
    expect(code).toBe(0);
    expect([...out.matchAll(/^event: (\w+)$/gm)].map((m) => m[1])).toEqual([
      "created",
      "status",
      "data",
      "warning",
      "status",
      "data",
      "complete",
    ]);
    expect(out).toContain('data: {"data":"done 2","encoding":"utf8"}');
  });

  test("gateway - a reconnect with Last-Event-ID gets 204 and runs nothing", async () => {
    await using s = await startScene();
    const r = await fetch(`${s.url}/jobs/hold/events?payload=again`, { headers: { ...SSE, "last-event-id": "3" } });
    expect(r.status).toBe(204);
    await Bun.sleep(100);
    expect(s.held).toEqual([]);
  });

  test("gateway - a browser EventSource receives status events in order, then complete", async () => {
    await using s = await startScene();
    await using browser = await startChromium(800, 600);
    // Same origin as the gateway: the page is its openapi.json.
    await browser.navigate(`${s.url}/openapi.json`);
    const seen = await browser.evaluate<{ type: string; data: unknown }[]>(`new Promise((resolve, reject) => {
        const seen = [];
        const es = new EventSource("/jobs/progress/events?payload=4");
        for (const type of ["created", "status", "data", "warning"]) {
          es.addEventListener(type, (e) => seen.push({ type, data: JSON.parse(e.data) }));
        }
        for (const type of ["complete", "fail", "exception", "timeout", "error"]) {
          es.addEventListener(type, (e) => {
            es.close();
            if (e.data === undefined) reject(new Error("EventSource error"));
            else { seen.push({ type, data: JSON.parse(e.data) }); resolve(seen); }
          });
        }
        setTimeout(() => { es.close(); reject(new Error("no terminal event in 10 s")); }, 10000);
      })`);
    expect(seen.map((e) => e.type)).toEqual([
      "created",
      "status",
      "data",
      "status",
      "data",
      "warning",
      "status",
      "data",
      "status",
      "data",
      "complete",
    ]);
    expect(seen.filter((e) => e.type === "status").map((e) => e.data)).toEqual(
      [1, 2, 3, 4].map((i) => ({ numerator: i, denominator: 4 })),
    );
    expect(seen.at(-1)!.data).toEqual({ data: "done 4", encoding: "utf8" });
  }, 30_000);

  test("gateway - the HTTP client leaving mid-stream: the job runs to its end, its slot frees then", async () => {
    await using s = await startScene();
    const abort = new AbortController();
    const r = await fetch(`${s.url}/jobs/hold`, { method: "POST", body: "left", headers: SSE, signal: abort.signal });
    const reader = r.body!.getReader();
    let text = "";
    while (!text.includes("event: status")) text += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
    const metrics = async (): Promise<string> => (await fetch(`${s.url}/metrics`)).text();
    await eventually(async () => metric(await metrics(), "gearbun_gateway_streams_abandoned_total") === 1, "abandoned");
    // Gearman cannot cancel a job: it is still running on the worker and counted in flight.
    expect(s.held).toEqual(["left"]);
    expect(s.finished).toEqual([]);
    expect(metric(await metrics(), "gearbun_gateway_in_flight_requests")).toBe(1);
    s.release();
    await eventually(() => s.finished.includes("left"), "the job ended on the worker");
    await eventually(async () => metric(await metrics(), "gearbun_gateway_in_flight_requests") === 0, "slot freed");
    // The gateway goes on serving.
    expect(await (await fetch(`${s.url}/jobs/echo`, { method: "POST", body: "after" })).text()).toBe("after");
  });

  test("gateway - the HTTP client leaving while its job is still queued: given up at requestTimeout, it never runs", async () => {
    await using s = await startScene({ requestTimeout: 400 }, "gearmand");
    const abort = new AbortController();
    const r = await fetch(`${s.url}/jobs/late_worker`, {
      method: "POST",
      body: "left",
      headers: SSE,
      signal: abort.signal,
    });
    const reader = r.body!.getReader();
    let text = "";
    while (!text.includes("event: created")) text += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
    const handle = (parseSse(text)[0]!.data as { handle: string }).handle;
    // Past requestTimeout the Client gives the job up and cancels it on its server (admin
    // `cancel job`): gearmand then shows the job as ignored. The gateway's Client stays connected.
    await using admin = new Admin(s.target.address);
    await eventually(
      async () => (await admin.showJobs()).some((j) => j.handle === handle && j.ignoreJob),
      "gearmand to ignore the given-up job",
      5000,
      50,
    );
    // A worker for the function now, and a second job behind the first: the worker runs only the second.
    const ran: string[] = [];
    await using worker = new Worker({ servers: s.target.address });
    worker.register("late_worker", (job) => {
      ran.push(job.text());
      return "ok";
    });
    await worker.start();
    await using client = new Client({ servers: s.target.address });
    expect(await client.submit("late_worker", "control").text()).toBe("ok");
    expect(ran).toEqual(["control"]);
  });
});

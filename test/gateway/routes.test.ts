/**
 * Gateway - every route over real HTTP (fetch) against a live job server and Worker, and each
 * error status with its JSON code.
 */
import { describe, expect, test } from "bun:test";
import { Client } from "../../src/client/client.ts";
import { createGateway } from "../../src/gateway/gateway.ts";
import { GATEWAY_CODES, LIBRARY_STATUS } from "../../src/gateway/errors.ts";
import { freePort } from "../support/gearmand.ts";
import { eventually } from "../support/eventually.ts";
import { metric, startScene } from "./fixture.ts";

async function body(response: Response): Promise<{ code: string; message: string; handle?: string; detail?: string }> {
  expect(response.headers.get("content-type")).toStartWith("application/json");
  return (await response.json()) as { code: string; message: string };
}

describe("gateway routes", () => {
  test("gateway - POST /jobs/:function answers the result bytes with the job handle", async () => {
    await using s = await startScene();
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    const r = await fetch(`${s.url}/jobs/echo`, { method: "POST", body: bytes });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/octet-stream");
    expect(r.headers.get("gearman-handle")).toMatch(/^H:/);
    expect(new Uint8Array(await r.arrayBuffer())).toEqual(bytes);
    const empty = await fetch(`${s.url}/jobs/echo`, { method: "POST" });
    expect([empty.status, (await empty.arrayBuffer()).byteLength]).toEqual([200, 0]);
  });

  test("gateway - unique, priority and timeout from the query or Gearman-* headers", async () => {
    await using s = await startScene();
    const q = await fetch(`${s.url}/jobs/echo?unique=u1&priority=high&timeout=5000`, { method: "POST", body: "a" });
    expect([q.status, await q.text()]).toEqual([200, "a"]);
    const h = await fetch(`${s.url}/jobs/echo`, {
      method: "POST",
      body: "b",
      headers: { "gearman-unique": "u2", "gearman-priority": "low", "gearman-timeout": "5000" },
    });
    expect([h.status, await h.text()]).toEqual([200, "b"]);
  });

  test("gateway - 400 BAD_REQUEST names the parameter: unknown, priority, timeout, clash, name, escape", async () => {
    await using s = await startScene();
    const cases: [string, RequestInit, RegExp][] = [
      ["/jobs/echo?colour=red", {}, /unknown query parameter "colour"/],
      ["/jobs/echo?priority=urgent", {}, /priority must be high, normal or low/],
      ["/jobs/echo?timeout=-5", {}, /timeout must be a whole number/],
      ["/jobs/echo?timeout=999999999", {}, /over this gateway's limit of 60000 ms \(requestTimeout\)/],
      ["/jobs/echo?unique=a", { headers: { "gearman-unique": "b" } }, /unique given as query parameter/],
      ["/jobs/ech%00o", {}, /function name contains a control character/],
      ["/jobs/%E0%A4%A", {}, /function name is not valid percent-encoding/],
      [`/jobs/${"f".repeat(256)}`, {}, /function name is over 255 bytes/],
      ["/jobs/echo?background=maybe", {}, /background must be 1, 0, true or false/],
      ["/jobs/echo?payload=x", {}, /POST takes its payload as the body/],
      ["/jobs/echo?background=1", { headers: { accept: "text/event-stream" } }, /a background job has no event stream/],
    ];
    for (const [path, init, message] of cases) {
      const r = await fetch(`${s.url}${path}`, { method: "POST", body: "x", ...init });
      expect({ path, status: r.status }).toEqual({ path, status: 400 });
      const b = await body(r);
      expect(b.code).toBe("BAD_REQUEST");
      expect(b.message).toMatch(message);
    }
  });

  test("gateway - 404 NOT_FOUND and 405 METHOD_NOT_ALLOWED with Allow", async () => {
    await using s = await startScene();
    const nf = await fetch(`${s.url}/nothing/here`);
    expect(nf.status).toBe(404);
    expect((await body(nf)).code).toBe("NOT_FOUND");
    const na = await fetch(`${s.url}/jobs/echo`, { method: "DELETE" });
    expect(na.status).toBe(405);
    expect(na.headers.get("allow")).toBe("POST, GET");
    expect((await body(na)).code).toBe("METHOD_NOT_ALLOWED");
    const ev = await fetch(`${s.url}/jobs/echo/events`, { method: "POST" });
    expect([ev.status, ev.headers.get("allow")]).toEqual([405, "GET"]);
  });

  test("gateway - 502 JOB_FAILED for a JobFailure and for a throw, the reason in detail", async () => {
    await using s = await startScene();
    const failed = await fetch(`${s.url}/jobs/fail`, { method: "POST", body: "x" });
    expect(failed.status).toBe(502);
    const f = await body(failed);
    expect([f.code, f.detail]).toEqual(["JOB_FAILED", "no can do"]);
    expect(f.handle).toMatch(/^H:/);
    // A gearbun worker sends a throw as WORK_WARNING (its text) then WORK_FAIL: the same code.
    const thrown = await fetch(`${s.url}/jobs/throw`, { method: "POST", body: "x" });
    expect(thrown.status).toBe(502);
    const t = await body(thrown);
    expect([t.code, t.detail]).toEqual(["JOB_FAILED", "kaboom"]);
  });

  test("gateway - 504 TIMEOUT when no result comes in time (no worker for the function)", async () => {
    await using s = await startScene();
    const r = await fetch(`${s.url}/jobs/nobody_does_this?timeout=200`, { method: "POST", body: "x" });
    expect(r.status).toBe(504);
    const b = await body(r);
    expect(b.code).toBe("TIMEOUT");
    expect(b.message).toContain("200 ms");
  });

  test("gateway - the gateway's requestTimeout bounds a request that asks for none", async () => {
    await using s = await startScene({ requestTimeout: 300 });
    const r = await fetch(`${s.url}/jobs/hold`, { method: "POST", body: "t" });
    expect(r.status).toBe(504);
    expect((await body(r)).code).toBe("TIMEOUT");
  });

  test("gateway - 503 NO_SERVERS when no job server is reachable; healthz 503 too", async () => {
    await using g = createGateway({ client: { servers: `127.0.0.1:${freePort()}` } });
    await using server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: g.fetch });
    const r = await fetch(`${server.url}jobs/echo`, { method: "POST", body: "x" });
    expect(r.status).toBe(503);
    const b = await body(r);
    expect(b.code).toBe("NO_SERVERS");
    const h = await fetch(`${server.url}healthz`);
    expect(h.status).toBe(503);
    expect(((await h.json()) as { code: string }).code).toBe("NO_SERVERS");
  });

  test("gateway - background: 202 with handle and Location; GET /jobs/:handle is its status", async () => {
    await using s = await startScene();
    const r = await fetch(`${s.url}/jobs/hold`, { method: "POST", body: "bg", headers: { prefer: "respond-async" } });
    expect(r.status).toBe(202);
    const { handle } = (await r.json()) as { handle: string };
    expect(r.headers.get("location")).toBe(`/jobs/${encodeURIComponent(handle)}`);
    await eventually(() => s.held.includes("bg"), "the worker took the background job");
    // The worker's WORK_STATUS reaches the server on its own connection: ask until it has.
    const st = await eventually(async () => {
      const res = await fetch(`${s.url}${r.headers.get("location")}`);
      const body = (await res.json()) as Record<string, unknown>;
      return res.status === 200 && body.numerator === 1 && body;
    }, "the status of the running job");
    expect(st).toEqual({
      handle,
      known: true,
      running: true,
      numerator: 1,
      denominator: 2,
      server: s.target.address,
    });
    s.release();
    await eventually(async () => {
      const after = (await (await fetch(`${s.url}/jobs/${encodeURIComponent(handle)}`)).json()) as { known: boolean };
      return after.known === false;
    }, "the ended job is no longer known");
    const q = await fetch(`${s.url}/jobs/echo?background=1`, { method: "POST", body: "q" });
    expect(q.status).toBe(202);
  });

  test("gateway - 413 BODY_TOO_LARGE: declared, and streamed without a length", async () => {
    await using s = await startScene({ maxBodyBytes: 1000 });
    const ok = await fetch(`${s.url}/jobs/echo`, { method: "POST", body: "x".repeat(1000) });
    expect(ok.status).toBe(200);
    const big = await fetch(`${s.url}/jobs/echo`, { method: "POST", body: "x".repeat(1001) });
    expect(big.status).toBe(413);
    expect((await body(big)).message).toContain("maxBodyBytes");
    const chunks = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 5; i++) c.enqueue(new Uint8Array(400));
        c.close();
      },
    });
    const streamed = await fetch(`${s.url}/jobs/echo`, { method: "POST", body: chunks, duplex: "half" } as RequestInit);
    expect(streamed.status).toBe(413);
    expect((await body(streamed)).code).toBe("BODY_TOO_LARGE");
  });

  test("gateway - 429 TOO_MANY_REQUESTS with Retry-After past maxInFlight; later requests go again", async () => {
    await using s = await startScene({ maxInFlight: 2, retryAfter: 3 });
    const first = [1, 2].map((i) => fetch(`${s.url}/jobs/hold`, { method: "POST", body: `cap${i}` }));
    await eventually(() => s.held.length === 2, "two held jobs");
    const third = await fetch(`${s.url}/jobs/echo`, { method: "POST", body: "x" });
    expect(third.status).toBe(429);
    expect(third.headers.get("retry-after")).toBe("3");
    expect((await body(third)).code).toBe("TOO_MANY_REQUESTS");
    s.release();
    expect(await Promise.all(first.map(async (p) => (await p).text()))).toEqual(["released cap1", "released cap2"]);
    const again = await fetch(`${s.url}/jobs/echo`, { method: "POST", body: "x" });
    expect(again.status).toBe(200);
  });

  test("gateway - healthz 200 with the servers; metrics count requests by route, function, status", async () => {
    await using s = await startScene();
    const h = await fetch(`${s.url}/healthz`);
    expect(h.status).toBe(200);
    expect(await h.json()).toEqual({
      status: "ok",
      servers: [{ server: s.target.address, state: "ready", error: null }],
    });
    await fetch(`${s.url}/jobs/echo`, { method: "POST", body: "1" });
    await fetch(`${s.url}/jobs/echo`, { method: "POST", body: "2" });
    await fetch(`${s.url}/jobs/fail`, { method: "POST", body: "3" });
    const m = await fetch(`${s.url}/metrics`);
    expect(m.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const text = await m.text();
    expect(metric(text, 'gearbun_gateway_requests_total{route="job",function="echo",status="200"}')).toBe(2);
    expect(metric(text, 'gearbun_gateway_requests_total{route="job",function="fail",status="502"}')).toBe(1);
    expect(metric(text, 'gearbun_gateway_request_duration_seconds_count{function="echo"}')).toBe(2);
    expect(metric(text, "gearbun_gateway_in_flight_requests")).toBe(0);
    expect(text).toContain("# TYPE gearbun_gateway_request_duration_seconds histogram");
  });

  test("gateway - openapi.json describes every route and every error code", async () => {
    await using s = await startScene();
    const r = await fetch(`${s.url}/openapi.json`);
    expect(r.status).toBe(200);
    const doc = (await r.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: { Error: { properties: { code: { enum: string[] } } } } };
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.fromEntries(Object.entries(doc.paths).map(([p, ops]) => [p, Object.keys(ops)]))).toEqual({
      "/jobs/{name}": ["post", "get"],
      "/jobs/{name}/events": ["get"],
      "/healthz": ["get"],
      "/metrics": ["get"],
      "/openapi.json": ["get"],
    });
    expect(doc.components.schemas.Error.properties.code.enum.toSorted()).toEqual(
      [...Object.keys(GATEWAY_CODES), ...Object.keys(LIBRARY_STATUS)].toSorted(),
    );
  });

  test("gateway - mounted under basePath inside a service of its own, sharing its Client", async () => {
    await using s = await startScene();
    await using client = new Client({ servers: s.target.address });
    await using g = createGateway({ client, basePath: "/api" });
    await using server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req) => (new URL(req.url).pathname.startsWith("/api/") ? g.fetch(req) : new Response("mine")),
    });
    const r = await fetch(`${server.url}api/jobs/echo`, { method: "POST", body: "mounted" });
    expect([r.status, await r.text()]).toEqual([200, "mounted"]);
    const bg = await fetch(`${server.url}api/jobs/echo?background=1`, { method: "POST", body: "b" });
    expect(bg.headers.get("location")).toStartWith("/api/jobs/");
    expect(await (await fetch(`${server.url}jobs/echo`)).text()).toBe("mine");
    await g.close();
    // The gateway leaves a Client it was given open.
    expect(await client.submit("echo", "still open").text()).toBe("still open");
  });
});

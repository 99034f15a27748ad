/**
 * Gateway - in front of real gearmand and libgearman workers, to show it fronts any Gearman
 * worker: `gearman -w -f NAME -- cmd` answers a curl POST, and the libgearman C worker's
 * WORK_DATA / WORK_STATUS / WORK_WARNING arrive as server-sent events in the order it sent them.
 */
import { describe, expect, test } from "bun:test";
import { serveGateway } from "../../src/gateway/serve.ts";
import { startLibgearmanWorker, startCliWorker } from "../support/peers.ts";
import { run } from "../support/processes.ts";
import { startTarget } from "../support/targets.ts";
import { parseSse } from "./fixture.ts";

describe("gateway peers", () => {
  test("gateway - a `gearman -w -f upper -- tr a-z A-Z` worker behind it, called with curl", async () => {
    await using g = await startTarget("gearmand");
    await using _worker = await startCliWorker(g.address, "upper", ["tr", "a-z", "A-Z"]);
    await using served = serveGateway({ listen: "127.0.0.1:0", client: { servers: g.address } });
    const { code, out, err } = await run(
      ["curl", "-sS", "--fail-with-body", "--data-binary", "hello from curl", `${served.url}/jobs/upper`],
      { timeoutMs: 10_000 },
    );
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out).toBe("HELLO FROM CURL");
  });

  test("gateway - the libgearman C worker's events stream in the order it sent them", async () => {
    await using g = await startTarget("gearmand");
    await using _worker = await startLibgearmanWorker(g.address);
    await using served = serveGateway({ listen: "127.0.0.1:0", client: { servers: g.address } });
    const r = await fetch(`${served.url}/jobs/events`, {
      method: "POST",
      body: "abc",
      headers: { accept: "text/event-stream" },
    });
    const events = parseSse(await r.text()).map((e) => [e.event, e.data]);
    expect(events.slice(1)).toEqual([
      ["data", { data: "d1", encoding: "utf8" }],
      ["status", { numerator: 1, denominator: 3 }],
      ["warning", { data: "w1", encoding: "utf8" }],
      ["data", { data: "d2", encoding: "utf8" }],
      ["status", { numerator: 2, denominator: 3 }],
      ["complete", { data: "cba", encoding: "utf8" }],
    ]);
  });

  test("gateway - a WORK_EXCEPTION from the libgearman C worker is 502 JOB_EXCEPTION with its text", async () => {
    await using g = await startTarget("gearmand");
    await using _worker = await startLibgearmanWorker(g.address);
    await using served = serveGateway({ listen: "127.0.0.1:0", client: { servers: g.address } });
    const r = await fetch(`${served.url}/jobs/exception`, { method: "POST", body: "abc" });
    expect(r.status).toBe(502);
    expect(await r.json()).toMatchObject({ code: "JOB_EXCEPTION", detail: "boom: abc" });
  });
});

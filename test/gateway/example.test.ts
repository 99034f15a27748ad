/**
 * Gateway - examples/gateway-service.ts runs as written, beside examples/worker.ts: its own route
 * answers through its Client, and the gateway it mounts under /jobs runs jobs and streams events.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { spawnLines } from "../../src/util/lines.ts";
import { startTarget } from "../support/targets.ts";
import { parseSse } from "./fixture.ts";

const EXAMPLES = join(import.meta.dir, "..", "..", "examples");

test("gateway - the example service: its own route and the gateway under /jobs", async () => {
  await using server = await startTarget("embedded");
  const env = { ...process.env, GEARMAN_SERVERS: server.address, PORT: "0" };
  const worker = spawnLines([process.execPath, join(EXAMPLES, "worker.ts")], { env, name: "example worker" });
  const service = spawnLines([process.execPath, join(EXAMPLES, "gateway-service.ts")], {
    env,
    name: "example service",
  });
  try {
    await worker.waitLine((l) => l.startsWith("worker ready"), "example worker ready");
    const line = await service.waitLine((l) => l.startsWith("service on "), "example service listening");
    const url = line.slice("service on ".length).replace(/\/$/, "");
    expect(await (await fetch(`${url}/reverse?text=hello`)).json()).toEqual({ text: "hello", reversed: "olleh" });
    const r = await fetch(`${url}/jobs/reverse`, { method: "POST", body: "gateway" });
    expect([r.status, await r.text()]).toEqual([200, "yawetag"]);
    const stream = await fetch(`${url}/jobs/count`, {
      method: "POST",
      body: "2",
      headers: { accept: "text/event-stream" },
    });
    const events = parseSse(await stream.text()).map((e) => [e.event, e.data]);
    expect(events.slice(1)).toEqual([
      ["data", { data: "1\n", encoding: "utf8" }],
      ["status", { numerator: 1, denominator: 2 }],
      ["data", { data: "2\n", encoding: "utf8" }],
      ["status", { numerator: 2, denominator: 2 }],
      ["complete", { data: "done\n", encoding: "utf8" }],
    ]);
    expect((await fetch(`${url}/elsewhere`)).status).toBe(404);
  } finally {
    await service.stop(3000);
    await worker.stop(5000);
  }
});

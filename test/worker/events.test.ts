/** Lifecycle events: listeners and the async iterator. */
import { expect, test } from "bun:test";
import { Worker } from "../../src/worker/worker.ts";
import { miniJobServer, startFaultServer } from "../support/fault-server.ts";
import { eventually } from "../support/eventually.ts";

test("events - the async iterator yields lifecycle events in order and ends after close", async () => {
  const jobs = miniJobServer();
  await using server = await startFaultServer(jobs.script);
  const worker = new Worker({ servers: server.address, reconnect: { initialDelay: 10 } });
  worker.register("f", () => "ok");
  const seen: string[] = [];
  const reader = (async () => {
    for await (const { name, event } of worker.events(["connect", "disconnect", "stopping", "close", "job:end"])) {
      if (name === "job:end") seen.push(`${name} ${event.outcome}`);
      else if (name === "connect") seen.push(`${name}${event.reconnect ? " again" : ""}`);
      else seen.push(name);
    }
    seen.push("(ended)");
  })();
  await worker.start();
  jobs.queue("f");
  await eventually(() => jobs.results.length === 1, "a job");
  (await server.nextPeer()).close();
  await eventually(() => seen.includes("connect again"), "reconnected");
  await worker.stop();
  await reader;
  expect(seen).toEqual(["connect", "job:end complete", "disconnect", "connect again", "stopping", "close", "(ended)"]);
});

test("events - breaking out of the iterator unsubscribes; listeners can be removed", async () => {
  const jobs = miniJobServer();
  await using server = await startFaultServer(jobs.script);
  await using worker = new Worker({ servers: server.address });
  worker.register("f", () => "ok");
  const calls: string[] = [];
  const off = worker.on("job:end", () => calls.push("listener"));
  worker.once("job:end", () => calls.push("once"));
  await worker.start();
  jobs.queue("f");
  await eventually(() => calls.length === 2, "first job");
  off();
  jobs.queue("f");
  await eventually(() => jobs.results.length === 2, "second job");
  expect(calls).toEqual(["listener", "once"]);
  const it = worker.events(["job:end"]);
  jobs.queue("f");
  const first = await it.next();
  expect(first.done).toBe(false);
  await it.return?.();
  expect((await it.next()).done).toBe(true);
});

/**
 * The Job a handler sees and how its outcome reaches a client, against real gearmand (the
 * client is the codec submitter in test/support, which asks for the `exceptions` option).
 */
import { expect, test } from "bun:test";
import { PacketType as T } from "../../src/protocol/packets.ts";
import type { Job } from "../../src/worker/handler.ts";
import { JobFailure } from "../../src/worker/job.ts";
import { Worker } from "../../src/worker/worker.ts";
import { miniJobServer, startFaultServer } from "../support/fault-server.ts";
import { logsOnFailure } from "../support/gearmand.ts";
import { describeTargets, startTarget } from "../support/targets.ts";
import { Submitter } from "../support/submitter.ts";
import { eventually } from "../support/eventually.ts";

describeTargets("worker job", (target) => {
  test(
    "job - handle, function, unique, server, payload view, text() and json()",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using worker = new Worker({ servers: server.address });
      let seen: Record<string, unknown> = {};
      worker.register("inspect", (job) => {
        seen = {
          handle: job.handle,
          function: job.function,
          unique: job.unique,
          server: job.server,
          isView: job.payload instanceof Uint8Array,
          text: job.text(),
          json: job.json(),
          active: job.active,
          aborted: job.signal.aborted,
        };
        return "ok";
      });
      await worker.start();
      await using s = await Submitter.open([server.address]);
      const r = await s.submit("inspect", JSON.stringify({ a: [1, "é"] }), { unique: "uniq-1" });
      expect(r.outcome).toBe("complete");
      expect(seen).toEqual({
        handle: r.handle,
        function: "inspect",
        unique: "uniq-1",
        server: server.address,
        isView: true,
        text: '{"a":[1,"é"]}',
        json: { a: [1, "é"] },
        active: true,
        aborted: false,
      });
    }),
  );

  test(
    "job - data, status and warning reach the client in order, before the result",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using worker = new Worker({ servers: server.address });
      const sent: boolean[] = [];
      worker.register("progress", async (job) => {
        sent.push(await job.data("part 1"));
        sent.push(await job.status(1, 3));
        sent.push(await job.warning("careful"));
        sent.push(await job.data(new Uint8Array([0x70, 0, 0x32])));
        sent.push(await job.status(3, 3));
        return "final";
      });
      await worker.start();
      await using s = await Submitter.open([server.address]);
      const r = await s.submit("progress", "x");
      expect(r).toMatchObject({
        outcome: "complete",
        text: "final",
        data: ["part 1", "p\x002"],
        warnings: ["careful"],
        statuses: [
          [1, 3],
          [3, 3],
        ],
      });
      expect(sent).toEqual([true, true, true, true, true]);
    }),
  );

  test(
    "job - bytes in and out pass unchanged (NULs, 0xFF, 1 MiB spanning many reads)",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using worker = new Worker({ servers: server.address });
      worker.register("flip", (job) => job.payload.map((b) => 255 - b));
      await worker.start();
      const big = new Uint8Array(1024 * 1024).map((_, i) => (i * 7) & 0xff);
      await using s = await Submitter.open([server.address]);
      const r = await s.submit("flip", big);
      expect(r.outcome).toBe("complete");
      expect(r.bytes).toEqual(big.map((b) => 255 - b));
      const small = new Uint8Array([0, 255, 0, 0, 10, 13, 0]);
      expect((await s.submit("flip", small)).bytes).toEqual(new Uint8Array([255, 0, 255, 255, 245, 242, 255]));
    }),
  );

  test(
    "job - a thrown error becomes WORK_WARNING with its message, then WORK_FAIL (never WORK_EXCEPTION)",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using worker = new Worker({ servers: server.address });
      const errors: string[] = [];
      worker.on("error", (e) => errors.push(e.error.message));
      worker.register("sync-throw", () => {
        throw new Error("sync boom");
      });
      worker.register("async-throw", async () => {
        await Bun.sleep(1);
        throw new RangeError("async boom");
      });
      worker.register("throw-string", () => {
        throw "just a string";
      });
      await worker.start();
      await using s = await Submitter.open([server.address]);
      expect(await s.submit("sync-throw", "")).toMatchObject({ outcome: "fail", warnings: ["sync boom"] });
      expect(await s.submit("async-throw", "")).toMatchObject({ outcome: "fail", warnings: ["async boom"] });
      expect(await s.submit("throw-string", "")).toMatchObject({ outcome: "fail", warnings: ["just a string"] });
      await Bun.sleep(100);
      expect(errors).toEqual([]); // a second end of the job would get ERROR JOB_NOT_FOUND
      expect(worker.stats().functions["sync-throw"]).toMatchObject({ exceptions: 1, failed: 0, done: 0 });
    }),
  );

  test(
    "job - job.fail() and a thrown JobFailure become WORK_WARNING (the reason) and WORK_FAIL; what the handler returns after fail() is dropped",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using worker = new Worker({ servers: server.address });
      const errors: string[] = [];
      worker.on("error", (e) => errors.push(e.error.message));
      let afterFail: boolean | undefined;
      worker.register("fail-call", async (job) => {
        job.fail();
        afterFail = await job.data("too late");
        return "ignored";
      });
      worker.register("fail-throw", () => {
        throw new JobFailure("not this one");
      });
      await worker.start();
      await using s = await Submitter.open([server.address]);
      expect(await s.submit("fail-call", "")).toMatchObject({ outcome: "fail", data: [], warnings: ["job failed"] });
      expect(await s.submit("fail-throw", "")).toMatchObject({ outcome: "fail", warnings: ["not this one"] });
      expect(afterFail).toBe(false);
      await Bun.sleep(100);
      expect(errors).toEqual([]);
      expect(worker.stats().functions["fail-call"]).toMatchObject({ failed: 1, done: 0 });
    }),
  );

  test(
    "job - results: nothing sends empty data, an unsupported type becomes a failure naming it",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using worker = new Worker({ servers: server.address });
      worker.register("nothing", () => {});
      worker.register("number", () => 42 as unknown as string);
      await worker.start();
      await using s = await Submitter.open([server.address]);
      expect(await s.submit("nothing", "x")).toMatchObject({ outcome: "complete", text: "" });
      const r = await s.submit("number", "x");
      expect(r.outcome).toBe("fail");
      expect(r.warnings.at(-1)).toContain("returned number");
    }),
  );

  test(
    "job - events: job:start and job:end (outcome, delivered) for each job",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using worker = new Worker({ servers: server.address, concurrency: 2 });
      const log: string[] = [];
      worker.on("job:start", (e) => log.push(`start ${e.job.text()}`));
      worker.on("job:end", (e) => log.push(`end ${e.job.text()} ${e.outcome} ${e.delivered}`));
      worker.register("f", (job: Job) => {
        if (job.text() === "bad") throw new Error("bad");
        return "ok";
      });
      await worker.start();
      await using s = await Submitter.open([server.address]);
      await s.submit("f", "good");
      await s.submit("f", "bad");
      expect(log).toEqual(["start good", "end good complete true", "start bad", "end bad exception true"]);
    }),
  );
});

test("job - data() waits while the socket is backed up (backpressure), then goes on", async () => {
  const jobs = miniJobServer();
  await using server = await startFaultServer(jobs.script);
  await using worker = new Worker({ servers: server.address, highWaterMark: 64 * 1024 });
  const chunk = new Uint8Array(256 * 1024);
  const CHUNKS = 64; // 16 MiB: far more than the kernel buffers hold
  let sent = 0;
  worker.register("stream", async (job) => {
    for (let i = 0; i < CHUNKS; i++) {
      await job.data(chunk);
      sent++;
    }
    return "streamed";
  });
  await worker.start();
  const peer = await server.nextPeer();
  await server.waitFor(T.PRE_SLEEP);
  worker.on("job:start", () => peer.pause()); // the server stops reading once it has handed out the job
  jobs.queue("stream");
  await eventually(() => sent > 0, "the first chunks");
  await Bun.sleep(300);
  const whilePaused = sent;
  expect(whilePaused).toBeLessThan(CHUNKS); // held back, not buffered without bound
  peer.resume();
  await eventually(() => jobs.results.length === 1, "the result after the stream", 10_000);
  expect(sent).toBe(CHUNKS);
  expect(server.received.filter((p) => p.type === T.WORK_DATA).length).toBe(CHUNKS);
});

/**
 * Starting and stopping: start() with servers down, graceful stop() under load (nothing lost),
 * the stop deadline, and the SIGINT/SIGTERM helper in a real process.
 */
import { expect, test } from "bun:test";
import { ConnectionError, type GearmanError } from "../../src/errors.ts";
import { PacketType as T } from "../../src/protocol/packets.ts";
import { Worker } from "../../src/worker/worker.ts";
import { miniJobServer, startFaultServer } from "../support/fault-server.ts";
import { freePort, logsOnFailure } from "../support/gearmand.ts";
import { describeTargets, startTarget } from "../support/targets.ts";
import { Submitter } from "../support/submitter.ts";
import { eventually } from "../support/eventually.ts";
import { spawnWorkerProcess } from "./helpers.ts";

describeTargets("worker stop", (target) => {
  test(
    "stop - under load, every job assigned to the worker completes before it closes; none is lost",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using s = await Submitter.open([server.address]);
      const JOBS = 400;
      const results = Array.from({ length: JOBS }, (_, i) => s.submit("f", `p${i}`, { unique: `u${i}` }));
      const make = (name: string) => {
        const started = new Set<string>();
        const completed = new Set<string>();
        const worker = new Worker({ servers: server.address, concurrency: 8, clientId: name });
        worker.register("f", async (job) => {
          started.add(job.unique);
          await Bun.sleep(Math.random() * 5);
          return `${name}:${job.text()}`;
        });
        worker.on("job:end", (e) => {
          if (e.outcome === "complete" && e.delivered) completed.add(e.job.unique);
        });
        return { worker, started, completed };
      };
      const first = make("first");
      await first.worker.start();
      await eventually(() => first.completed.size >= 100, "100 jobs done");
      await first.worker.stop();
      expect(first.worker.state).toBe("stopped");
      expect(first.worker.stats().running).toBe(0);
      expect([...first.started].sort()).toEqual([...first.completed].sort()); // every assigned job completed
      expect(first.worker.stats().functions.f).toMatchObject({ lost: 0, exceptions: 0, failed: 0, timedOut: 0 });
      expect(first.completed.size).toBeLessThan(JOBS); // it really stopped under load

      const second = make("second");
      await using _w2 = second.worker;
      await second.worker.start();
      const all = await Promise.all(results);
      expect(all.every((r) => r.outcome === "complete")).toBe(true);
      for (const [i, r] of all.entries()) expect(r.text.endsWith(`:p${i}`)).toBe(true);
      // Exactly once: the two workers' jobs are disjoint and cover all of them.
      expect([...first.started].filter((u) => second.started.has(u))).toEqual([]);
      expect(first.started.size + second.started.size).toBe(JOBS);
      expect(all.filter((r) => r.text.startsWith("first:")).length).toBe(first.completed.size);
    }),
    15_000,
  );

  test(
    "stop - at the deadline running jobs are handed back, whatever their handlers do after the abort; another worker answers their callers",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      const old = new Worker({ servers: server.address, concurrency: 3, clientId: "old" });
      let reason: unknown;
      // The three shapes of handler a deploy meets: one that rejects on the abort (fetch with a
      // signal), one that ignores it and returns later, one that returns at once when aborted.
      old.register("honours", async (job) => {
        await new Promise<void>((resolve) => job.signal.addEventListener("abort", () => resolve(), { once: true }));
        reason = job.signal.reason;
        throw job.signal.reason;
      });
      old.register("ignores", async () => {
        await Bun.sleep(400);
        return "late result from the stopped worker";
      });
      old.register("returns", async (job) => {
        await new Promise<void>((resolve) => job.signal.addEventListener("abort", () => resolve(), { once: true }));
        return "partial result at the abort";
      });
      let handedBack = -1;
      old.on("close", (e) => {
        handedBack = e.handedBack;
      });
      const ends: string[] = [];
      old.on("job:end", (e) => ends.push(`${e.job.function} ${e.outcome} ${(e.error as GearmanError).code}`));
      await old.start();
      await using s = await Submitter.open([server.address]);
      const results = ["honours", "ignores", "returns"].map((f) => s.submit(f, f, { unique: `u-${f}` }));
      await eventually(() => old.stats().running === 3, "three jobs running");
      const t0 = Date.now();
      await old.stop({ deadline: 150 });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
      expect(handedBack).toBe(3);
      expect((reason as GearmanError).code).toBe("STOPPED");
      expect(ends.sort()).toEqual(["honours lost STOPPED", "ignores lost STOPPED", "returns lost STOPPED"]);
      // The server queued them again: a new worker runs each once and its callers get that answer.
      await using next = new Worker({ servers: server.address, concurrency: 3, clientId: "next" });
      for (const f of ["honours", "ignores", "returns"]) next.register(f, (job) => `done by next: ${job.text()}`);
      await next.start();
      const answers = await Promise.all(results);
      expect(answers.map((r) => [r.outcome, r.text])).toEqual([
        ["complete", "done by next: honours"],
        ["complete", "done by next: ignores"],
        ["complete", "done by next: returns"],
      ]);
      await Bun.sleep(500); // the stopped worker's "ignores" handler has returned meanwhile: nothing was sent
      expect(next.stats().functions.ignores).toMatchObject({ done: 1 });
    }),
  );

  test(
    "start - resolves with one of two servers down and registers there when it comes up",
    logsOnFailure(async () => {
      await using a = await startTarget(target);
      const bPort = freePort();
      await using worker = new Worker({
        servers: [a.address, `127.0.0.1:${bPort}`],
        reconnect: { initialDelay: 50, maxDelay: 100 },
      });
      worker.register("f", (job) => `ok ${job.text()}`);
      const connects: string[] = [];
      worker.on("connect", (e) => connects.push(e.server));
      await worker.start();
      expect(connects).toEqual([a.address]);
      expect(worker.stats().servers[1]!.lastError).toContain("cannot connect");
      await using b = await startTarget(target, { port: bPort });
      await eventually(() => connects.length === 2, "registered on B once it is up", 5000);
      await using s = await Submitter.open([b.address]);
      expect(await s.submit("f", "from B")).toMatchObject({ outcome: "complete", text: "ok from B" });
    }),
  );

  test(
    "handleSignals - SIGTERM while a job runs: the job completes, then the process exits 0",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using proc = spawnWorkerProcess([server.address], "sig", ["--work-ms", "400", "--fixed"]);
      await proc.waitLine((l) => l === "ready", "ready");
      await using s = await Submitter.open([server.address]);
      const r = s.submit("f", "abc", { unique: "sig-1" });
      await proc.waitLine((l) => l === "job sig-1", "job started");
      proc.proc.kill("SIGTERM");
      await proc.waitLine((l) => l === "stopping", "stopping");
      expect(await r).toMatchObject({ outcome: "complete", text: "sig:cba" });
      expect(await proc.proc.exited).toBe(0);
      await proc.ended;
      expect(proc.lines.at(-1)).toBe(JSON.stringify({ id: "sig", done: 1 }));
    }),
  );
});

test("start - rejects with NO_SERVERS naming every server when none can be reached; the worker is then stopped", async () => {
  const ports = [freePort(), freePort()];
  const worker = new Worker({ servers: ports.map((p) => `127.0.0.1:${p}`), connectTimeout: 1000 });
  worker.register("f", () => "x");
  const error = await worker.start().then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectionError);
  expect((error as ConnectionError).code).toBe("NO_SERVERS");
  for (const p of ports) expect((error as Error).message).toContain(`127.0.0.1:${p} (cannot connect`);
  expect(worker.state).toBe("stopped");
  expect(worker.stats().servers.map((s) => s.state)).toEqual(["closed", "closed"]);
  await expect(worker.start()).rejects.toMatchObject({ code: "CLOSED" });
});

test("stop - once stopping, no GRAB goes out and NOOPs go unanswered; the running job still delivers", async () => {
  const jobs = miniJobServer();
  await using server = await startFaultServer(jobs.script);
  const worker = new Worker({ servers: server.address, concurrency: 2 });
  const gate = Promise.withResolvers<void>();
  worker.register("f", async (job) => {
    if (job.text() === "first") await gate.promise;
    return `done ${job.text()}`;
  });
  await worker.start();
  const peer = await server.nextPeer();
  jobs.queue("f", "first");
  await eventually(() => worker.stats().running === 1, "first job running");
  await eventually(
    () => worker.stats().grabsInFlight === 0 && worker.stats().servers[0]!.asleep,
    "the other slot asleep",
  );
  const stopped = worker.stop();
  expect(worker.state).toBe("stopping");
  const grabs = (): number => peer.received.filter((p) => p.type === T.GRAB_JOB_UNIQ).length;
  const before = grabs();
  jobs.queue("f", "second"); // NOOP to the sleeping worker
  await Bun.sleep(100);
  expect(grabs()).toBe(before);
  gate.resolve();
  await stopped;
  await eventually(() => !peer.open, "connection closed");
  expect(jobs.results.map((r) => r.data)).toEqual(["done first"]); // flushed before the close
  expect(grabs()).toBe(before);
  expect(jobs.queued.map((j) => j.payload)).toEqual(["second"]);
});

test("stop - before start resolves at once; start afterwards rejects", async () => {
  const worker = new Worker({ servers: "127.0.0.1:1" });
  await worker.stop();
  expect(worker.state).toBe("stopped");
  await expect(worker.start()).rejects.toMatchObject({ code: "CLOSED" });
});

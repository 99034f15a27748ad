import { expect, test } from "bun:test";
import { Admin } from "../../src/admin/admin.ts";
import { Client } from "../../src/client/client.ts";
import { ConfigError, ConnectionError, JobFailedError, ServerError, TimeoutError } from "../../src/errors.ts";
import { startFaultServer } from "../support/fault-server.ts";
import { freePort, logsOnFailure } from "../support/gearmand.ts";
import { reportedVersion } from "../support/gearmand-version.ts";
import { describeTargets, startTarget } from "../support/targets.ts";
import { startCliWorker } from "../support/peers.ts";

// The worker peers are `gearman -w`.
describeTargets("admin", { needs: "libgearman" }, (target) => {
  test(
    "admin - every command's reply parses",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using admin = new Admin(server.address);
      await using client = new Client({ servers: server.address, clientId: "admin-test-client" });
      await using _worker = await startCliWorker(server.address, "other", ["cat"]);
      const h1 = await client.submitBackground("queued", "a", { unique: "u1" });
      const h2 = await client.submitBackground("queued", "b", { priority: "high" });
      await client.submitBackground("queued", "c", { priority: "low" });

      // gearmand: the version `gearmand --version` names ("" for a build without git metadata).
      // The embedded server names itself (deliberately): "OK gearbun-0.1.0".
      if (target === "gearmand") expect(await admin.version()).toBe(reportedVersion());
      else expect(await admin.version()).toMatch(/^gearbun-\d+\.\d+\.\d+$/);
      expect(await admin.getpid()).toBe(server.pid);
      // Test gearmand runs with --verbose INFO; the embedded server keeps no log and answers
      // gearmand's default level.
      expect(await admin.verbose()).toBe(target === "gearmand" ? "INFO" : "ERROR");

      const status = await admin.status();
      expect(status).toContainEqual({ function: "queued", total: 3, running: 0, workers: 0 });
      expect(status).toContainEqual({ function: "other", total: 0, running: 0, workers: 1 });

      const workers = await admin.workers();
      expect(workers.some((w) => w.functions.includes("other") && w.ip === "127.0.0.1")).toBe(true);
      expect(workers.some((w) => w.clientId === "admin-test-client")).toBe(true);
      for (const w of workers) expect(Number.isInteger(w.fd)).toBe(true);

      expect(await admin.prioritystatus()).toContainEqual({
        function: "queued",
        high: 1,
        normal: 1,
        low: 1,
        workers: 0,
      });

      const jobs = await admin.showJobs();
      expect(jobs).toContainEqual({ handle: h1, retries: 0, ignoreJob: false, jobQueued: true });
      expect(jobs.map((j) => j.handle)).toContain(h2);
      expect(await admin.showUniqueJobs()).toContain("u1");

      await admin.maxqueue("queued", 100);
      await admin.maxqueue("queued", [10, 20, 30]);
      await admin.maxqueue("queued");

      // CR LF line ends: gearmand 1.1.20 would create "qu" for "create function qux\n".
      await admin.createFunction("qux");
      expect((await admin.status()).map((r) => r.function)).toContain("qux");
      await admin.dropFunction("qux");
      expect((await admin.status()).map((r) => r.function)).not.toContain("qux");

      await admin.cancelJob(h1);
      expect((await admin.showJobs()).find((j) => j.handle === h1)?.ignoreJob).toBe(true);
    }),
  );

  test(
    "admin - ERR replies become typed ServerError",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using admin = new Admin(server.address);
      await using _worker = await startCliWorker(server.address, "busy", ["cat"]);

      const unknownJob = await admin.cancelJob("H:nowhere:1").catch((e: unknown) => e);
      expect(unknownJob).toBeInstanceOf(ServerError);
      expect((unknownJob as ServerError).serverCode).toBe("UNKNOWN_JOB");
      expect((unknownJob as ServerError).code).toBe("SERVER_ERROR");
      expect((unknownJob as ServerError).message).toContain(server.address);

      const noFunction = await admin.dropFunction("never-made").catch((e: unknown) => e);
      expect(noFunction).toBeInstanceOf(ServerError);
      expect((noFunction as ServerError).message).toContain("function not found");

      const inUse = await admin.dropFunction("busy").catch((e: unknown) => e);
      expect(inUse).toBeInstanceOf(ServerError);
      expect((inUse as ServerError).message).toContain("connected workers");

      // The connection is still in step after errors.
      expect(await admin.getpid()).toBe(server.pid);
      // Bad arguments never reach the server.
      expect(await admin.cancelJob("two words").catch((e: unknown) => e)).toBeInstanceOf(ConfigError);
    }),
  );

  test(
    "admin - pipelined commands are answered in order",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using admin = new Admin(server.address);
      const calls: Promise<unknown>[] = [];
      for (let i = 0; i < 100; i++) {
        calls.push(
          admin.getpid(),
          admin.status(),
          admin.version(),
          admin.cancelJob(`H:x:${i}`).catch((e: unknown) => e),
        );
      }
      const results = await Promise.all(calls);
      const version = target === "gearmand" ? reportedVersion() : expect.stringMatching(/^gearbun-/);
      for (let i = 0; i < results.length; i += 4) {
        expect(results[i]).toBe(server.pid);
        expect(Array.isArray(results[i + 1])).toBe(true);
        expect(results[i + 2]).toEqual(version);
        expect(results[i + 3]).toBeInstanceOf(ServerError);
      }
    }),
  );

  test(
    "admin - after the server restarts, the next command reconnects",
    logsOnFailure(async () => {
      await using server = await startTarget(target, { process: true }); // restarted below: a new pid
      await using admin = new Admin(server.address);
      const before = await admin.getpid();
      await server.restart();
      // The first command may still meet the old, dead socket; the one after must work.
      const first = await admin.getpid().catch((e: unknown) => e);
      if (first instanceof Error) expect(first).toBeInstanceOf(ConnectionError);
      const after = typeof first === "number" ? first : await admin.getpid();
      expect(after).toBe(server.pid);
      expect(after).not.toBe(before);
    }),
  );

  test(
    "admin - cancel job fails a waiting foreground job at its client, once, however often it is cancelled",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using admin = new Admin(server.address);
      await using client = new Client({ servers: server.address });
      const waiting = client.submit("never-run", "x");
      const handle = await waiting.handle;
      await admin.cancelJob(handle);
      // gearmand sends the client WORK_FAIL again on every cancel (the embedded server once):
      // the client settles on the first and ignores the rest.
      await admin.cancelJob(handle);
      expect(await waiting.catch((e: unknown) => e)).toBeInstanceOf(JobFailedError);
      expect(waiting.state).toBe("failed");
      expect((await admin.showJobs()).find((j) => j.handle === handle)).toMatchObject({
        ignoreJob: true,
        jobQueued: false,
      });
      await using _worker = await startCliWorker(server.address, "never-run", ["cat"]);
      expect(await client.submit("never-run", "after").text()).toBe("after");
      expect(client.servers()[0]!.inFlight).toEqual({ requests: 0, jobs: 0 });
    }),
  );
});

test("admin - a server that is down rejects with ConnectionError naming it", async () => {
  const address = `127.0.0.1:${freePort()}`;
  await using admin = new Admin(address, { connectTimeout: 1000 });
  const error = await admin.status().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConnectionError);
  expect((error as ConnectionError).message).toContain(address);
});

test("admin - a command with no reply times out, drops the connection, and the next works", async () => {
  await using server = await startFaultServer({ text: (line) => (line === "getpid" ? ["OK 42"] : undefined) });
  await using admin = new Admin(server.address, { commandTimeout: 200 });
  expect(await admin.getpid()).toBe(42);
  const first = server.peers.length;
  const stuck = admin.version(); // the fault server answers only "getpid"
  const behind = admin.verbose(); // queued behind it
  const [a, b] = await Promise.allSettled([stuck, behind]);
  expect(a.status === "rejected" && a.reason).toBeInstanceOf(TimeoutError);
  expect(b.status === "rejected" && b.reason).toBeInstanceOf(TimeoutError);
  expect(a.status === "rejected" && (a.reason as TimeoutError).message).toContain("commandTimeout");
  expect(await admin.getpid()).toBe(42);
  expect(server.peers.length).toBe(first + 1);
});

test("admin - a connection lost mid-command rejects it with ConnectionError", async () => {
  await using server = await startFaultServer({
    text: (line, peer) => {
      if (line === "status") peer.close();
      return [];
    },
  });
  await using admin = new Admin(server.address);
  const error = await admin.status().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConnectionError);
  expect((error as ConnectionError).message).toContain(server.address);
});

test("admin - commands after close reject with ConnectionError CLOSED", async () => {
  const admin = new Admin("127.0.0.1:1");
  await admin.close();
  const error = await admin.version().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConnectionError);
  expect((error as ConnectionError).code).toBe("CLOSED");
});

test("admin - a silent server rejects the waiting command with HEARTBEAT_TIMEOUT", async () => {
  await using server = await startFaultServer({ text: (line) => (line === "getpid" ? ["OK 42"] : undefined) });
  await using admin = new Admin(server.address, {
    heartbeatInterval: 200,
    heartbeatTimeout: 300,
    commandTimeout: 60_000,
  });
  expect(await admin.getpid()).toBe(42);
  const silentFrom = performance.now();
  server.faults.silent = true;
  const error = await admin.getpid().catch((e: unknown) => e);
  const detection = performance.now() - silentFrom;
  console.log(`heartbeat detection (admin command): ${Math.round(detection)} ms`);
  expect(error).toBeInstanceOf(ConnectionError);
  expect((error as ConnectionError).code).toBe("HEARTBEAT_TIMEOUT");
  expect((error as ConnectionError).message).toContain(server.address);
  expect(detection).toBeLessThan(200 + 300 + 1500);
  server.faults.silent = false;
  expect(await admin.getpid()).toBe(42); // the next command dials again
});

test("admin - our own loop blocked past commandTimeout is not the server's delay", async () => {
  await using server = await startFaultServer({ text: (line) => (line === "getpid" ? ["OK 42"] : undefined) });
  await using admin = new Admin(server.address, { commandTimeout: 1000 });
  expect(await admin.getpid()).toBe(42);
  const reply = admin.getpid();
  const end = performance.now() + 1300; // the timer fires 0.3 s late, the reply not yet read
  while (performance.now() < end) {
    // a CPU-heavy stretch of our own
  }
  expect(await reply).toBe(42);
});

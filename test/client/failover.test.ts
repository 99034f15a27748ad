import { expect, test } from "bun:test";
import { Admin } from "../../src/admin/admin.ts";
import { Client } from "../../src/client/client.ts";
import type { Task } from "../../src/client/task.ts";
import { ConnectionError } from "../../src/errors.ts";
import { startEchoWorker } from "../support/echo-worker.ts";
import { logsOnFailure } from "../support/gearmand.ts";
import { eventually } from "../support/eventually.ts";
import { describeTargets, startTarget, type Target } from "../support/targets.ts";

const FAST_RECONNECT = { initialDelay: 50, maxDelay: 200 };

async function allReady(client: Client): Promise<void> {
  await eventually(() => client.servers().every((s) => s.state === "ready"), "every server to connect");
}

/** Settles every task or fails the test: nothing may hang. */
async function settleAll(tasks: readonly Task[], ms = 10_000): Promise<PromiseSettledResult<Uint8Array>[]> {
  const timeout = Bun.sleep(ms).then(() => {
    throw new Error(`${tasks.filter((t) => t.state === "pending").length} tasks still pending after ${ms} ms`);
  });
  return Promise.race([Promise.allSettled(tasks.map((t) => t.then((x) => x))), timeout]);
}

interface Run {
  tasks: Task[];
  killedAt: number;
}

/**
 * Submits `total` echo jobs keeping 50 in flight; after `killAfter` results, kills `victim`.
 * Also queues 20 jobs nobody can run (they wait on both servers when the kill comes).
 */
async function submitAndKill(
  client: Client,
  victim: Target,
  total: number,
  killAfter: number,
): Promise<Run & { stuck: Task[] }> {
  const stuck = Array.from({ length: 20 }, (_, i) => client.submit("stuck", `${i}`));
  await Promise.all(stuck.map((t) => t.handle));
  const tasks: Task[] = [];
  let done = 0;
  let killedAt = -1;
  const lane = async (): Promise<void> => {
    while (tasks.length < total) {
      const task = client.submit("fo", `job-${tasks.length}`);
      tasks.push(task);
      await task.catch(() => {});
      if (++done === killAfter) {
        killedAt = tasks.length;
        await victim.kill();
      }
    }
  };
  await Promise.all(Array.from({ length: 50 }, lane));
  return { tasks, killedAt, stuck };
}

describeTargets("client failover", (target) => {
  test(
    "client failover - kill one of two servers while submitting: submits move to the other, waiting jobs reject naming it",
    logsOnFailure(async () => {
      await using a = await startTarget(target, { process: true }); // killed below: a real process
      await using b = await startTarget(target);
      await using _wa = await startEchoWorker({ server: a.address, functions: ["fo"], grabs: 8 });
      await using _wb = await startEchoWorker({ server: b.address, functions: ["fo"], grabs: 8 });
      await using client = new Client({ servers: [a.address, b.address], reconnect: FAST_RECONNECT });
      await allReady(client);

      const { tasks, killedAt, stuck } = await submitAndKill(client, a, 3000, 1000);
      const results = await settleAll(tasks);
      const failed = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
      for (const error of failed) {
        expect(error).toBeInstanceOf(ConnectionError);
        expect((error as ConnectionError).code).toBe("CONNECTION_LOST");
        expect((error as ConnectionError).message).toContain(a.address);
      }
      console.log(`client failover: ${failed.length} of ${tasks.length} jobs were waiting on the killed server`);
      // Only jobs in flight on A when it died failed: at most the 50 lanes.
      expect(failed.length).toBeLessThanOrEqual(50);
      results.forEach((r, i) => {
        if (r.status === "fulfilled") expect(new TextDecoder().decode(r.value)).toBe(`job-${i}`);
      });
      // Everything submitted once the loss was seen went to B and succeeded.
      const late = tasks.slice(killedAt + 100);
      expect(late.length).toBeGreaterThan(1000);
      for (const t of late) {
        expect(t.state).toBe("complete");
        expect(t.server).toBe(b.address);
      }
      // Waiting jobs: those on A rejected, those on B still wait.
      for (const t of stuck) {
        if (t.server === a.address) {
          expect(await t.catch((e: unknown) => (e as ConnectionError).code)).toBe("CONNECTION_LOST");
        } else {
          expect(t.state).toBe("pending");
        }
      }
      expect(stuck.filter((t) => t.server === a.address).length).toBe(10);
      await client.close();
      expect(await stuck.find((t) => t.server === b.address)!.catch((e: unknown) => (e as ConnectionError).code)).toBe(
        "CLOSED",
      );
    }),
    30_000,
  );

  test(
    "client failover - with retryOnDisconnect, jobs waiting on the dead server are resubmitted to the other",
    logsOnFailure(async () => {
      await using a = await startTarget(target, { process: true }); // killed below: a real process
      await using b = await startTarget(target);
      await using _wa = await startEchoWorker({ server: a.address, functions: ["fo"], grabs: 8 });
      await using _wb = await startEchoWorker({ server: b.address, functions: ["fo"], grabs: 8 });
      await using client = new Client({
        servers: [a.address, b.address],
        reconnect: FAST_RECONNECT,
        retryOnDisconnect: true,
      });
      await allReady(client);
      const { tasks, stuck } = await submitAndKill(client, a, 2000, 500);
      const results = await settleAll(tasks);
      expect(results.filter((r) => r.status === "rejected")).toEqual([]);
      results.forEach((r, i) => {
        if (r.status === "fulfilled") expect(new TextDecoder().decode(r.value)).toBe(`job-${i}`);
      });
      // The 20 jobs nobody can run now all wait on B.
      await Bun.sleep(100);
      for (const t of stuck) {
        expect(t.state).toBe("pending");
        expect(t.server).toBe(b.address);
      }
      await using admin = new Admin(b.address);
      expect((await admin.status()).find((r) => r.function === "stuck")?.total).toBe(20);
    }),
    30_000,
  );

  test(
    "client failover - with both servers down submits fail listing both; a restarted server is used again",
    logsOnFailure(async () => {
      await using a = await startTarget(target, { process: true }); // killed below: a real process
      await using b = await startTarget(target, { process: true });
      await using client = new Client({ servers: [a.address, b.address], reconnect: FAST_RECONNECT });
      await allReady(client);
      await a.kill();
      await b.kill();
      while (client.servers().some((s) => s.state === "ready")) await Bun.sleep(10);
      const error = await client.submit("x", "y").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as ConnectionError).code).toBe("NO_SERVERS");
      expect((error as ConnectionError).message).toContain(a.address);
      expect((error as ConnectionError).message).toContain(b.address);

      await b.restart();
      await using _wb = await startEchoWorker({ server: b.address, functions: ["back"] });
      const deadline = Date.now() + 5000;
      while (!client.servers().some((s) => s.state === "ready") && Date.now() < deadline) await Bun.sleep(20);
      // Keys that map to A now go to B, the only live server.
      for (let i = 0; i < 10; i++) {
        const task = client.submit("back", `${i}`, { unique: `k${i}` });
        expect(await task.text()).toBe(`${i}`);
        expect(task.server).toBe(b.address);
      }
    }),
    30_000,
  );
});

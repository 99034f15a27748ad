import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Admin } from "../../src/admin/admin.ts";
import { Client, pickByUnique } from "../../src/client/client.ts";
import { type ConnectionError, TimeoutError } from "../../src/errors.ts";
import { PacketType } from "../../src/protocol/packets.ts";
import { startEchoWorker } from "../support/echo-worker.ts";
import { logsOnFailure } from "../support/gearmand.ts";
import { eventually } from "../support/eventually.ts";
import { describeTargets, startTarget } from "../support/targets.ts";
import { startCliWorker } from "../support/peers.ts";

/** Waits until every server of the client is connected (so routing sees them all). */
async function allReady(client: Client): Promise<void> {
  await eventually(() => client.servers().every((s) => s.state === "ready"), "every server to connect");
}

test("client routing - a unique key maps to the same server, and only keys of a lost server move", () => {
  const links = ["10.0.0.1:4730", "10.0.0.2:4730", "10.0.0.3:4730"].map((key) => ({
    key,
    seed: Bun.hash.murmur32v3(key),
  }));
  const keys = Array.from({ length: 3000 }, (_, i) => `job-${i}`);
  const all = keys.map((k) => pickByUnique(k, links).key);
  // Stable: the same answer every time, whatever the list order.
  expect(keys.map((k) => pickByUnique(k, [...links].reverse()).key)).toEqual(all);
  // Even enough: each server gets roughly a third.
  for (const l of links) {
    const n = all.filter((s) => s === l.key).length;
    expect(n).toBeGreaterThan(800);
    expect(n).toBeLessThan(1200);
  }
  // Without server 3, only its keys move.
  const two = links.slice(0, 2);
  keys.forEach((k, i) => {
    const now = pickByUnique(k, two).key;
    if (all[i] !== links[2]!.key) expect(now).toBe(all[i]!);
  });
});

// The first test's worker is `gearman -w`.
describeTargets("client unique", { needs: "libgearman" }, (target) => {
  test(
    "client unique - two concurrent submits with one unique run once and both get the result",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      const file = join(mkdtempSync(join(tmpdir(), "gearbun-uniq-")), "runs.txt");
      await using _w = await startCliWorker(server.address, "once", ["tee", "-a", file]);
      await using c1 = new Client({ servers: server.address });
      await using c2 = new Client({ servers: server.address });
      // Both connected first: a submit still connecting could arrive after the job completed,
      // and then rightly runs it again.
      await allReady(c1);
      await allReady(c2);
      for (let i = 0; i < 5; i++) {
        const a = c1.submit("once", `run-${i}\n`, { unique: `same-${i}` });
        const b = c2.submit("once", `run-${i}\n`, { unique: `same-${i}` });
        const c = c1.submit("once", `run-${i}\n`, { unique: `same-${i}` });
        expect(await Promise.all([a.text(), b.text(), c.text()])).toEqual([`run-${i}\n`, `run-${i}\n`, `run-${i}\n`]);
      }
      const runs = existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
      expect(runs).toEqual(["run-0", "run-1", "run-2", "run-3", "run-4"]);
    }),
  );

  test(
    "client unique - coalescing works across a two-server cluster, for clients listing servers in any order",
    logsOnFailure(async () => {
      await using a = await startTarget(target);
      await using b = await startTarget(target);
      await using c1 = new Client({ servers: [a.address, b.address] });
      await using c2 = new Client({ servers: [b.address, a.address] });
      await allReady(c1);
      await allReady(c2);
      const uniques = Array.from({ length: 20 }, (_, i) => `key-${i}`);
      // Submitted while no worker exists: every pair waits on the server its key maps to.
      const pairs = uniques.map((u) => [c1.submit("cl", u, { unique: u }), c2.submit("cl", u, { unique: u })] as const);
      await Promise.all(pairs.flatMap((p) => p.map((t) => t.handle)));
      for (const [i, [t1, t2]] of pairs.entries()) {
        expect(t1.server).toBe(t2.server!);
        const status = await c1.statusUnique(uniques[i]!);
        expect(status).toMatchObject({ unique: uniques[i], known: true, clients: 2, server: t1.server });
      }
      const servers = new Set(pairs.map(([t]) => t.server));
      expect(servers.size).toBe(2); // both servers got keys
      await using wa = await startEchoWorker({ server: a.address, functions: ["cl"] });
      await using wb = await startEchoWorker({ server: b.address, functions: ["cl"] });
      for (const [i, [t1, t2]] of pairs.entries()) {
        expect(await t1.text()).toBe(uniques[i]!);
        expect(await t2.text()).toBe(uniques[i]!);
      }
      const ran = [...wa.jobs, ...wb.jobs].map((j) => j.unique).sort();
      expect(ran).toEqual([...uniques].sort());
    }),
  );

  test(
    "client unique - jobs without a unique are spread evenly over the servers",
    logsOnFailure(async () => {
      await using a = await startTarget(target);
      await using b = await startTarget(target);
      await using client = new Client({ servers: [a.address, b.address] });
      await allReady(client);
      for (let i = 0; i < 100; i++) await client.submitBackground("spread", `${i}`);
      for (const server of [a, b]) {
        await using admin = new Admin(server.address);
        expect((await admin.status()).find((r) => r.function === "spread")?.total).toBe(50);
      }
    }),
  );

  test(
    "client unique - status(handle) asks the server that created the handle",
    logsOnFailure(async () => {
      await using a = await startTarget(target);
      await using b = await startTarget(target);
      await using client = new Client({ servers: [a.address, b.address] });
      await allReady(client);
      // Round-robin: A, B, A. Both servers number handles from 1, so "…:1" exists twice.
      const h = [
        await client.submitBackground("st", "0"),
        await client.submitBackground("st", "1"),
        await client.submitBackground("st", "2"),
      ];
      expect(h[0]).toBe(h[1]!);
      const onlyOnA = await client.status(h[2]!);
      expect(onlyOnA).toMatchObject({ handle: h[2], known: true, running: false, server: a.address });
      expect(await client.status(h[2]!, b.address)).toMatchObject({ known: false, server: b.address });
      expect(await client.status(h[1]!, b.address)).toMatchObject({ known: true, server: b.address });
      expect((await client.status(h[0]!)).known).toBe(true); // ambiguous: asked of both
      expect((await client.status("H:unknown:99")).known).toBe(false);
      // A foreground job's status comes from the server it waits on.
      const task = client.submit("st-fg", "x", { unique: "fg-status" });
      const handle = await task.handle;
      expect(await client.status(handle)).toMatchObject({ known: true, server: task.server });
      await using _w = await startEchoWorker({
        server: task.server!,
        functions: ["st-fg"],
        handler: (job) => [
          [PacketType.WORK_STATUS, "3", "4"],
          [PacketType.WORK_COMPLETE, job.payload],
        ],
      });
      expect(await task.text()).toBe("x");
    }),
  );

  test(
    "client unique - a 64-byte unique (the longest allowed): the embedded server keeps it and the payload whole; gearmand 1.1.20 does not",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      await using worker = await startEchoWorker({ server: server.address, functions: ["u64"] });
      await using client = new Client({ servers: server.address });
      const unique = "x".repeat(64);
      const result = await client.submit("u64", "data", { unique }).text();
      if (target === "gearmand") {
        // gearmand keeps the unique in a 64-byte C string: the worker gets 63 bytes, and the
        // NUL lands in front of the payload, so the echo comes back with it.
        expect(worker.jobs[0]!.unique).toBe("x".repeat(63));
        expect(result).toBe("\0data");
      } else {
        // DIFFERENCE (deliberate): no truncation.
        expect(worker.jobs[0]!.unique).toBe(unique);
        expect(result).toBe("data");
      }
    }),
  );

  test(
    "client unique - a unique whose only client went away: gearmand never answers the next submit of it; the embedded server runs it",
    logsOnFailure(async () => {
      await using server = await startTarget(target);
      const first = new Client({ servers: server.address });
      const abandoned = first.submit("orphan", "first", { unique: "U" });
      const handle = await abandoned.handle;
      await first.close();
      expect(await abandoned.catch((e: unknown) => (e as ConnectionError).code)).toBe("CLOSED");
      // Both servers keep the job, marked to be ignored, once they have seen the client go.
      await using admin = new Admin(server.address);
      const deadline = Date.now() + 2000;
      const ignored = async (): Promise<boolean> =>
        (await admin.showJobs()).some((j) => j.handle === handle && j.ignoreJob);
      while (!(await ignored()) && Date.now() < deadline) await Bun.sleep(10);
      expect((await admin.showJobs()).find((j) => j.handle === handle)?.ignoreJob).toBe(true);
      await using client = new Client({ servers: server.address });
      const again = client.submit("orphan", "again", { unique: "U", timeout: 1000 });
      await again.handle;
      await using worker = await startEchoWorker({ server: server.address, functions: ["orphan"] });
      if (target === "gearmand") {
        // gearmand attaches the new submit to the abandoned job and drops that job at the next
        // grab: nothing runs and the client is never answered (here: its timeout).
        expect(await again.catch((e: unknown) => e)).toBeInstanceOf(TimeoutError);
        expect(worker.jobs).toEqual([]);
      } else {
        // DIFFERENCE (deliberate): the embedded server starts a new job for the new submit.
        expect(await again.text()).toBe("again");
        expect(worker.jobs.map((j) => new TextDecoder().decode(j.payload))).toEqual(["again"]);
      }
    }),
  );
});

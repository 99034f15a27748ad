/**
 * Jobs taken back from workers, against real gearmand (--job-retries 2) and the embedded server
 * (jobRetries: 2): a worker that disconnects with a job, or lets its CAN_DO_TIMEOUT expire,
 * loses the job to the queue; after the retry limit the clients get WORK_FAIL. Also `cancel job`.
 */
import { expect, test } from "bun:test";
import { SERVER_DEFAULTS } from "../../src/options.ts";
import { PacketType as T } from "../../src/protocol/packets.ts";
import { startServer } from "../../src/server/server.ts";
import { RawPeer } from "../support/raw-peer.ts";
import { testOnTargets } from "../support/targets.ts";

const shortHandle = (row: string): string => row.replace(/^H:[^:]+:/, "H:");

testOnTargets(
  "requeue",
  "a worker that disconnects with a job re-queues it; at the retry limit the client gets WORK_FAIL",
  async (port) => {
    using c = await RawPeer.connect(port);
    using admin = await RawPeer.connect(port);
    c.send(T.SUBMIT_JOB, "f", "", "x");
    await c.sync();
    for (let attempt = 1; attempt <= 2; attempt++) {
      const w = await RawPeer.connect(port);
      w.send(T.CAN_DO, "f");
      w.send(T.GRAB_JOB);
      expect(await w.syncRendered()).toEqual(["JOB_ASSIGN(H:1,f,x)"]);
      w.send(T.WORK_STATUS, (w.items[0] as { args: string[] }).args[0]!, "1", "2");
      await w.sync();
      w.terminate();
      await Bun.sleep(100);
      if (attempt === 1) {
        // Back in the queue, its status reset, one retry counted.
        expect((await admin.admin("show jobs")).map(shortHandle)).toEqual(["H:1\t1\t0\t0"]);
        expect(await admin.admin("status")).toEqual(["f\t1\t0\t0"]);
        expect(await c.syncRendered()).toEqual(["WORK_STATUS(H:1,1,2)"]);
      }
    }
    expect(await c.syncRendered()).toEqual(["WORK_STATUS(H:1,1,2)", "WORK_FAIL(H:1)"]);
    expect(await admin.admin("show jobs")).toEqual([]);
  },
  { jobRetries: 2 },
);

testOnTargets(
  "requeue",
  "CAN_DO_TIMEOUT expiry re-queues the job (counted as a retry); the late result is refused",
  async (port) => {
    using c = await RawPeer.connect(port);
    using w = await RawPeer.connect(port);
    c.send(T.SUBMIT_JOB, "t", "", "x");
    await c.sync();
    w.send(T.CAN_DO_TIMEOUT, "t", "300"); // below one second: raised to one second
    w.send(T.GRAB_JOB);
    const [assign] = await w.syncItems();
    const h = (assign as { args: string[] }).args[0]!;
    await Bun.sleep(500);
    expect(await c.admin("status")).toEqual(["t\t1\t1\t1"]); // not yet
    await Bun.sleep(800);
    expect(await c.admin("status")).toEqual(["t\t1\t0\t1"]);
    expect((await c.admin("show jobs")).map(shortHandle)).toEqual(["H:1\t1\t0\t0"]);
    w.send(T.WORK_COMPLETE, h, "late");
    expect(await w.syncRendered()).toEqual(["ERROR(JOB_NOT_FOUND,Job given in work result not found)"]);
    expect(await c.syncRendered()).toEqual([]);
    // Taken again, and lost again by a disconnect: the second retry fails it.
    const w2 = await RawPeer.connect(port);
    w2.send(T.CAN_DO, "t");
    w2.send(T.GRAB_JOB);
    expect(await w2.syncRendered()).toEqual(["JOB_ASSIGN(H:1,t,x)"]);
    w2.terminate();
    await Bun.sleep(100);
    expect(await c.syncRendered()).toEqual(["WORK_FAIL(H:1)"]);
  },
  { jobRetries: 2 },
);

testOnTargets("requeue", "without a retry limit a job is re-queued every time", async (port) => {
  using c = await RawPeer.connect(port);
  c.send(T.SUBMIT_JOB_BG, "f", "", "x");
  await c.sync();
  for (let i = 0; i < 4; i++) {
    const w = await RawPeer.connect(port);
    w.send(T.CAN_DO, "f");
    w.send(T.GRAB_JOB);
    expect(await w.syncRendered()).toEqual(["JOB_ASSIGN(H:1,f,x)"]);
    w.terminate();
    await Bun.sleep(60);
  }
  expect((await c.admin("show jobs")).map(shortHandle)).toEqual(["H:1\t4\t0\t1"]);
});

testOnTargets("requeue", "cancel job: the client gets WORK_FAIL and the job never runs", async (port, target) => {
  using c = await RawPeer.connect(port);
  using admin = await RawPeer.connect(port);
  using w = await RawPeer.connect(port);
  c.send(T.SUBMIT_JOB, "f", "", "x");
  c.send(T.SUBMIT_JOB_BG, "f", "", "y");
  await c.sync();
  const rows = await admin.admin("show jobs");
  const handle = rows[0]!.split("\t")[0]!;
  expect(await admin.admin(`cancel job ${handle}`)).toEqual(["OK"]);
  expect(await admin.admin(`cancel job ${handle}`)).toEqual(["OK"]);
  expect(await admin.admin("cancel job H:nope:99")).toEqual(["ERR UNKNOWN_JOB"]);
  // DIFFERENCE: gearmand sends WORK_FAIL again on every `cancel job`; the embedded server once.
  expect(await c.syncRendered()).toEqual(
    target === "gearmand" ? ["WORK_FAIL(H:1)", "WORK_FAIL(H:1)"] : ["WORK_FAIL(H:1)"],
  );
  expect((await admin.admin("show jobs")).map(shortHandle)).toEqual(["H:1\t0\t1\t0", "H:2\t0\t0\t1"]);
  w.send(T.CAN_DO, "f");
  w.send(T.GRAB_JOB);
  w.send(T.GRAB_JOB);
  expect(await w.syncRendered()).toEqual(["JOB_ASSIGN(H:2,f,y)", "NO_JOB"]);
});

test("requeue - by default (jobRetries 5) a job that kills every worker taking it ends with WORK_FAIL", async () => {
  await using server = await startServer({ port: 0, firstHandle: 1 });
  expect(SERVER_DEFAULTS.jobRetries).toBe(5);
  using c = await RawPeer.connect(server.port);
  c.send(T.SUBMIT_JOB, "killer", "", "x");
  await c.sync();
  let runs = 0;
  for (; runs < 10; runs++) {
    const w = await RawPeer.connect(server.port);
    w.send(T.CAN_DO, "killer");
    w.send(T.GRAB_JOB);
    const got = await w.syncRendered();
    w.terminate();
    if (got[0] !== "JOB_ASSIGN(H:1,killer,x)") break;
    await Bun.sleep(20);
  }
  expect(runs).toBe(5);
  expect(await c.syncRendered()).toEqual(["WORK_FAIL(H:1)"]);
});

/** Runs the job on workers that die with it; returns how many took it before the server failed it. */
async function runsUntilFailed(port: number, fn: string, most: number): Promise<number> {
  let runs = 0;
  for (; runs < most; runs++) {
    const w = await RawPeer.connect(port);
    w.send(T.CAN_DO, fn);
    w.send(T.GRAB_JOB);
    const got = await w.syncRendered();
    w.terminate();
    if (!got[0]?.startsWith("JOB_ASSIGN(")) break;
    await Bun.sleep(20);
  }
  return runs;
}

test("requeue - jobRetries follows gearmand after 2.0.0: 0 is no retries, -1 no limit (-j on gearbun server too)", async () => {
  await using none = await startServer({ port: 0, jobRetries: 0, firstHandle: 1 });
  using c0 = await RawPeer.connect(none.port);
  c0.send(T.SUBMIT_JOB, "once", "", "x");
  await c0.sync();
  expect(await runsUntilFailed(none.port, "once", 5)).toBe(1);
  expect(await c0.syncRendered()).toEqual(["WORK_FAIL(H:1)"]);

  await using unlimited = await startServer({ port: 0, jobRetries: -1, firstHandle: 1 });
  using c1 = await RawPeer.connect(unlimited.port);
  c1.send(T.SUBMIT_JOB, "again", "", "x");
  await c1.sync();
  expect(await runsUntilFailed(unlimited.port, "again", 8)).toBe(8);
  expect(await c1.syncRendered()).toEqual([]);
});

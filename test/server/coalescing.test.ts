/**
 * Unique coalescing against real gearmand and the embedded server: the same non-empty unique for
 * the same function is one job, queued or running; every foreground submit attaches to it and
 * gets its results (one copy per submit, as gearmand keeps one client record per submit).
 */
import { expect } from "bun:test";
import { PacketType as T } from "../../src/protocol/packets.ts";
import { RawPeer } from "../support/raw-peer.ts";
import { testOnTargets } from "../support/targets.ts";

testOnTargets(
  "coalescing",
  "foreground submits with one unique share a queued job and all get its results",
  async (port) => {
    using c1 = await RawPeer.connect(port);
    using c2 = await RawPeer.connect(port);
    using w = await RawPeer.connect(port);
    c1.send(T.SUBMIT_JOB, "f", "U", "first");
    expect(await c1.syncRendered()).toEqual(["JOB_CREATED(H:1)"]);
    c2.send(T.SUBMIT_JOB_HIGH, "f", "U", "second (data and priority ignored)");
    c2.send(T.SUBMIT_JOB_BG, "f", "U", "third (background: attaches nothing)");
    expect(await c2.syncRendered()).toEqual(["JOB_CREATED(H:1)", "JOB_CREATED(H:1)"]);
    w.send(T.CAN_DO, "f");
    w.send(T.GRAB_JOB_UNIQ);
    w.send(T.GRAB_JOB_UNIQ);
    expect(await w.syncRendered()).toEqual(["JOB_ASSIGN_UNIQ(H:1,f,U,first)", "NO_JOB"]);
    const handle = (w.items[0] as { args: string[] }).args[0]!;
    w.send(T.WORK_DATA, handle, "part");
    w.send(T.WORK_COMPLETE, handle, "result");
    await w.sync();
    expect(await c1.syncRendered()).toEqual(["WORK_DATA(H:1,part)", "WORK_COMPLETE(H:1,result)"]);
    expect(await c2.syncRendered()).toEqual(["WORK_DATA(H:1,part)", "WORK_COMPLETE(H:1,result)"]);
  },
);

testOnTargets(
  "coalescing",
  "a submit attaches to a running job; one connection submitting twice gets results twice",
  async (port) => {
    using c1 = await RawPeer.connect(port);
    using c2 = await RawPeer.connect(port);
    using w = await RawPeer.connect(port);
    c1.send(T.SUBMIT_JOB, "f", "U", "x");
    await c1.sync();
    w.send(T.CAN_DO, "f");
    w.send(T.GRAB_JOB);
    await w.sync();
    c2.send(T.SUBMIT_JOB, "f", "U", "late");
    c2.send(T.SUBMIT_JOB_LOW, "f", "U", "later");
    c2.send(T.GET_STATUS_UNIQUE, "U");
    expect(await c2.syncRendered()).toEqual(["JOB_CREATED(H:1)", "JOB_CREATED(H:1)", "STATUS_RES_UNIQUE(U,1,1,0,0,3)"]);
    const handle = (w.items[0] as { args: string[] }).args[0]!;
    w.send(T.WORK_STATUS, handle, "1", "2");
    w.send(T.WORK_COMPLETE, handle, "r");
    await w.sync();
    expect(await c1.syncRendered()).toEqual(["WORK_STATUS(H:1,1,2)", "WORK_COMPLETE(H:1,r)"]);
    expect(await c2.syncRendered()).toEqual([
      "WORK_STATUS(H:1,1,2)",
      "WORK_STATUS(H:1,1,2)",
      "WORK_COMPLETE(H:1,r)",
      "WORK_COMPLETE(H:1,r)",
    ]);
    // Finished: the same unique is a new job.
    c1.send(T.SUBMIT_JOB_BG, "f", "U", "again");
    expect(await c1.syncRendered()).toEqual(["JOB_CREATED(H:2)"]);
  },
);

testOnTargets("coalescing", "a foreground submit attaches to a background job with its unique", async (port) => {
  using c = await RawPeer.connect(port);
  using w = await RawPeer.connect(port);
  c.send(T.SUBMIT_JOB_BG, "f", "U", "bg");
  c.send(T.SUBMIT_JOB, "f", "U", "fg");
  expect(await c.syncRendered()).toEqual(["JOB_CREATED(H:1)", "JOB_CREATED(H:1)"]);
  w.send(T.CAN_DO, "f");
  w.send(T.GRAB_JOB);
  const [assign] = await w.syncItems();
  w.send(T.WORK_COMPLETE, (assign as { args: string[] }).args[0]!, "done");
  await w.sync();
  expect(await c.syncRendered()).toEqual(["WORK_COMPLETE(H:1,done)"]);
});

testOnTargets(
  "coalescing",
  "no coalescing across functions or without a unique; unique '-' coalesces on the data",
  async (port) => {
    using c = await RawPeer.connect(port);
    c.send(T.SUBMIT_JOB_BG, "f", "U", "1");
    c.send(T.SUBMIT_JOB_BG, "g", "U", "2");
    c.send(T.SUBMIT_JOB_BG, "f", "", "3");
    c.send(T.SUBMIT_JOB_BG, "f", "", "3");
    c.send(T.SUBMIT_JOB_BG, "f", "-", "same data");
    c.send(T.SUBMIT_JOB_BG, "f", "-", "same data");
    c.send(T.SUBMIT_JOB_BG, "f", "-", "other data");
    c.send(T.SUBMIT_JOB_BG, "f", "same data", "unique equal to the data");
    expect(await c.syncRendered()).toEqual([
      "JOB_CREATED(H:1)",
      "JOB_CREATED(H:2)",
      "JOB_CREATED(H:3)",
      "JOB_CREATED(H:4)",
      "JOB_CREATED(H:5)",
      "JOB_CREATED(H:5)",
      "JOB_CREATED(H:6)",
      "JOB_CREATED(H:7)",
    ]);
    expect((await c.admin("show unique jobs")).sort()).toEqual(["", "", "-", "-", "U", "U", "same data"]);
  },
);

testOnTargets("coalescing", "a job whose only client left is not run", async (port, target) => {
  using c1 = await RawPeer.connect(port);
  using c2 = await RawPeer.connect(port);
  using w = await RawPeer.connect(port);
  c1.send(T.SUBMIT_JOB, "f", "U", "abandoned");
  await c1.sync();
  c1.terminate();
  await Bun.sleep(100);
  // show jobs: HANDLE RETRIES IGNORE_JOB JOB_QUEUED — kept, marked ignored, until a grab meets it
  expect((await c2.admin("show jobs")).map(shortHandle)).toEqual(["H:1\t0\t1\t0"]);
  expect(await c2.admin("status")).toEqual(["f\t1\t0\t0"]);
  c2.send(T.SUBMIT_JOB, "f", "U", "again");
  w.send(T.CAN_DO, "f");
  if (target === "gearmand") {
    // DIFFERENCE: gearmand attaches the new submit to the abandoned job, then drops that job at
    // the next grab: the new client never gets an answer. The embedded server starts a new job.
    expect(await c2.syncRendered()).toEqual(["JOB_CREATED(H:1)"]);
    w.send(T.GRAB_JOB);
    expect(await w.syncRendered()).toEqual(["NO_JOB"]);
    expect(await c2.admin("status")).toEqual(["f\t0\t0\t1"]);
    return;
  }
  expect(await c2.syncRendered()).toEqual(["JOB_CREATED(H:2)"]);
  w.send(T.GRAB_JOB);
  w.send(T.GRAB_JOB);
  expect(await w.syncRendered()).toEqual(["JOB_ASSIGN(H:2,f,again)", "NO_JOB"]);
  expect(await c2.admin("status")).toEqual(["f\t1\t1\t1"]);
});

const shortHandle = (row: string): string => row.replace(/^H:[^:]+:/, "H:");

testOnTargets(
  "coalescing",
  "one unique in two functions: two jobs, GET_STATUS_UNIQUE answers for the newest live one",
  async (port) => {
    using c = await RawPeer.connect(port);
    using wf = await RawPeer.connect(port);
    using wg = await RawPeer.connect(port);
    c.send(T.SUBMIT_JOB, "f", "U", "a");
    expect(await c.syncRendered()).toEqual(["JOB_CREATED(H:1)"]);
    wf.send(T.CAN_DO, "f");
    wf.send(T.GRAB_JOB);
    const [assign] = await wf.syncItems();
    const h1 = (assign as { args: string[] }).args[0]!;
    wf.send(T.WORK_STATUS, h1, "1", "2");
    await wf.sync();
    expect(await c.syncRendered()).toEqual(["WORK_STATUS(H:1,1,2)"]);
    // Another function, the same unique: a job of its own, and the one GET_STATUS_UNIQUE finds.
    c.send(T.SUBMIT_JOB, "g", "U", "b");
    c.send(T.GET_STATUS_UNIQUE, "U");
    expect(await c.syncRendered()).toEqual(["JOB_CREATED(H:2)", "STATUS_RES_UNIQUE(U,1,0,0,0,1)"]);
    wg.send(T.CAN_DO, "g");
    wg.send(T.GRAB_JOB);
    const [assignG] = await wg.syncItems();
    wg.send(T.WORK_COMPLETE, (assignG as { args: string[] }).args[0]!, "rb");
    await wg.sync();
    // The newer job is done: the older one, running, answers again.
    c.send(T.GET_STATUS_UNIQUE, "U");
    expect(await c.syncRendered()).toEqual(["WORK_COMPLETE(H:2,rb)", "STATUS_RES_UNIQUE(U,1,1,1,2,1)"]);
    wf.send(T.WORK_COMPLETE, h1, "ra");
    await wf.sync();
    c.send(T.GET_STATUS_UNIQUE, "U");
    expect(await c.syncRendered()).toEqual(["WORK_COMPLETE(H:1,ra)", "STATUS_RES_UNIQUE(U,0,0,0,0,0)"]);
  },
);

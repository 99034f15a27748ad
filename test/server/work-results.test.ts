/**
 * WORK_* packets from a worker, against real gearmand and the embedded server: forwarded to every
 * client attached to the job, byte for byte; exceptions only to clients that asked for them
 * (others get WORK_FAIL with a trailing NUL); results accepted only from the job's worker.
 */
import { expect } from "bun:test";
import { PacketType as T } from "../../src/protocol/packets.ts";
import { RawPeer } from "../support/raw-peer.ts";
import { testOnTargets } from "../support/targets.ts";

async function assigned(w: RawPeer): Promise<string> {
  w.send(T.GRAB_JOB);
  const items = await w.syncItems();
  const a = items.find((i) => i.type === T.JOB_ASSIGN);
  if (a === undefined || a.type === "text") throw new Error(`no JOB_ASSIGN: ${JSON.stringify(items)}`);
  return a.args[0]!;
}

testOnTargets(
  "work results",
  "STATUS, DATA, WARNING and COMPLETE reach every attached client byte for byte",
  async (port) => {
    using c1 = await RawPeer.connect(port);
    using c2 = await RawPeer.connect(port);
    using w = await RawPeer.connect(port);
    c1.send(T.SUBMIT_JOB, "f", "U", "x");
    await c1.sync();
    c2.send(T.SUBMIT_JOB, "f", "U", "x");
    await c2.sync();
    w.send(T.CAN_DO, "f");
    const h = await assigned(w);
    w.send(T.WORK_STATUS, h, "1", "3");
    w.send(T.WORK_DATA, h, "d\0a\0t\0a");
    w.send(T.WORK_WARNING, h, "careful\0");
    w.send(T.WORK_DATA, h, "");
    w.send(T.WORK_COMPLETE, h, "\0result\0");
    expect(await w.syncRendered()).toEqual([]);
    const expected = [
      "WORK_STATUS(H:1,1,3)",
      "WORK_DATA(H:1,d\\0a\\0t\\0a)",
      "WORK_WARNING(H:1,careful\\0)",
      "WORK_DATA(H:1,)",
      "WORK_COMPLETE(H:1,\\0result\\0)",
    ];
    expect(await c1.syncRendered()).toEqual(expected);
    expect(await c2.syncRendered()).toEqual(expected);
    // The job is over: more results are errors.
    w.send(T.WORK_DATA, h, "late");
    w.send(T.WORK_COMPLETE, h, "again");
    expect(await w.syncRendered()).toEqual([
      "ERROR(JOB_NOT_FOUND,Job does not exist on server)",
      "ERROR(JOB_NOT_FOUND,Job given in work result not found)",
    ]);
  },
);

testOnTargets(
  "work results",
  "WORK_EXCEPTION goes to clients with OPTION_REQ exceptions; others get WORK_FAIL (gearmand: + NUL; embedded: the handle alone); it ends the job",
  async (port, target) => {
    using plain = await RawPeer.connect(port);
    using wants = await RawPeer.connect(port);
    using w = await RawPeer.connect(port);
    plain.keepBytes = true;
    wants.send(T.OPTION_REQ, "exceptions");
    wants.send(T.SUBMIT_JOB, "f", "U", "x");
    expect(await wants.syncRendered()).toEqual(["OPTION_RES(exceptions)", "JOB_CREATED(H:1)"]);
    plain.send(T.SUBMIT_JOB, "f", "U", "x");
    await plain.sync();
    w.send(T.CAN_DO, "f");
    const h = await assigned(w);
    plain.bytes.length = 0;
    w.send(T.WORK_EXCEPTION, h, "boom\0details");
    w.send(T.WORK_FAIL, h); // Perl's worker does this after an exception
    expect(await w.syncRendered()).toEqual(["ERROR(JOB_NOT_FOUND,Job given in work result not found)"]);
    expect(await wants.syncRendered()).toEqual(["WORK_EXCEPTION(H:1,boom\\0details)"]);
    expect(await plain.syncRendered()).toEqual(["WORK_FAIL(H:1)"]);
    // Byte-exact: gearmand's WORK_FAIL body is the handle and one NUL, which libgearman's CLI
    // never takes as the end of the job; the embedded server sends the handle alone.
    const bytes = Buffer.concat(plain.bytes);
    const nul = target === "gearmand" ? [Buffer.from([0])] : [];
    const body = Buffer.concat([Buffer.from(h, "latin1"), ...nul]);
    const header = Buffer.from([0, 0x52, 0x45, 0x53, 0, 0, 0, T.WORK_FAIL, 0, 0, 0, body.length]);
    expect(bytes.subarray(0, header.length + body.length)).toEqual(Buffer.concat([header, body]));
  },
);

testOnTargets("work results", "WORK_FAIL reaches every client and ends the job", async (port) => {
  using c = await RawPeer.connect(port);
  using w = await RawPeer.connect(port);
  c.send(T.SUBMIT_JOB, "f", "", "x");
  await c.sync();
  w.send(T.CAN_DO, "f");
  const h = await assigned(w);
  w.send(T.WORK_FAIL, h);
  w.send(T.WORK_FAIL, h);
  expect(await w.syncRendered()).toEqual(["ERROR(JOB_NOT_FOUND,Job given in work result not found)"]);
  c.send(T.GET_STATUS, h);
  expect(await c.syncRendered()).toEqual(["WORK_FAIL(H:1)", "STATUS_RES(H:1,0,0,0,0)"]);
});

testOnTargets("work results", "only the worker holding a job may report on it", async (port) => {
  using c = await RawPeer.connect(port);
  using w1 = await RawPeer.connect(port);
  using w2 = await RawPeer.connect(port);
  c.send(T.SUBMIT_JOB, "f", "", "x");
  await c.sync();
  w1.send(T.CAN_DO, "f");
  w2.send(T.CAN_DO, "f");
  const h = await assigned(w1);
  w2.send(T.WORK_STATUS, h, "1", "2");
  w2.send(T.WORK_DATA, h, "x");
  w2.send(T.WORK_COMPLETE, h, "stolen");
  w2.send(T.WORK_EXCEPTION, h, "x");
  expect(await w2.syncRendered()).toEqual([
    "ERROR(JOB_NOT_FOUND,Job given in work result not found)",
    "ERROR(JOB_NOT_FOUND,Job does not exist on server)",
    "ERROR(JOB_NOT_FOUND,Job given in work result not found)",
    "ERROR(JOB_NOT_FOUND,An exception was received for a job that does not exist)",
  ]);
  w1.send(T.WORK_COMPLETE, h, "mine");
  await w1.sync();
  expect(await c.syncRendered()).toEqual(["WORK_COMPLETE(H:1,mine)"]);
});

testOnTargets("work results", "a background job's results go nowhere and end it", async (port) => {
  using c = await RawPeer.connect(port);
  using w = await RawPeer.connect(port);
  c.send(T.SUBMIT_JOB_BG, "f", "", "x");
  await c.sync();
  w.send(T.CAN_DO, "f");
  const h = await assigned(w);
  w.send(T.WORK_DATA, h, "d");
  w.send(T.WORK_COMPLETE, h, "r");
  expect(await w.syncRendered()).toEqual([]);
  c.send(T.GET_STATUS, h);
  expect(await c.syncRendered()).toEqual(["STATUS_RES(H:1,0,0,0,0)"]);
  expect(await c.admin("status")).toEqual(["f\t0\t0\t1"]);
});

/**
 * Submits and the requests around them, run against real gearmand and the embedded server with
 * the same expected transcripts: every submit variant, the JOB_ASSIGN variant each grab gets,
 * maxqueue, status requests, options, and the ERROR answers gearmand gives.
 */
import { expect } from "bun:test";
import { PacketType as T } from "../../src/protocol/packets.ts";
import { RawPeer } from "../support/raw-peer.ts";
import { testOnTargets } from "../support/targets.ts";

const now = (): number => Math.floor(Date.now() / 1000);

testOnTargets(
  "submits",
  "every variant answers JOB_CREATED in request order; grabs follow priority",
  async (port, target) => {
    using c = await RawPeer.connect(port);
    using w = await RawPeer.connect(port);
    c.send(T.SUBMIT_JOB, "f", "", "normal-fg");
    c.send(T.SUBMIT_JOB_BG, "f", "", "normal-bg");
    c.send(T.SUBMIT_JOB_HIGH, "f", "", "high-fg");
    c.send(T.SUBMIT_JOB_HIGH_BG, "f", "", "high-bg");
    c.send(T.SUBMIT_JOB_LOW, "f", "", "low-fg");
    c.send(T.SUBMIT_JOB_LOW_BG, "f", "", "low-bg");
    c.send(T.SUBMIT_JOB_EPOCH, "f", "", String(now() - 10), "epoch-past");
    c.send(T.SUBMIT_REDUCE_JOB, "f", "", "r1", "", "reduce-fg");
    c.send(T.SUBMIT_REDUCE_JOB_BACKGROUND, "f", "", "r2", "agg", "reduce-bg");
    c.send(T.SUBMIT_JOB_SCHED, "f", "", "1", "2", "3", "4", "5", "sched");
    c.send(T.SUBMIT_JOB, "f", "x".repeat(65), "unique too long");
    c.send(T.SUBMIT_JOB, "f", "x".repeat(64), "unique of 64");
    expect(await c.syncRendered()).toEqual([
      "JOB_CREATED(H:1)",
      "JOB_CREATED(H:2)",
      "JOB_CREATED(H:3)",
      "JOB_CREATED(H:4)",
      "JOB_CREATED(H:5)",
      "JOB_CREATED(H:6)",
      "JOB_CREATED(H:7)",
      "JOB_CREATED(H:8)",
      "JOB_CREATED(H:9)",
      "ERROR(INVALID_COMMAND,Command not expected)",
      "ERROR(ARGUMENT_TOO_LARGE,Unique value too large)",
      "JOB_CREATED(H:10)",
    ]);
    w.send(T.CAN_DO, "f");
    for (let i = 0; i < 11; i++) w.send(T.GRAB_JOB_ALL);
    expect(await w.syncRendered()).toEqual([
      "JOB_ASSIGN_UNIQ(H:3,f,,high-fg)",
      "JOB_ASSIGN_UNIQ(H:4,f,,high-bg)",
      "JOB_ASSIGN_UNIQ(H:1,f,,normal-fg)",
      "JOB_ASSIGN_UNIQ(H:2,f,,normal-bg)",
      "JOB_ASSIGN_UNIQ(H:7,f,,epoch-past)",
      "JOB_ASSIGN_ALL(H:8,f,,r1,reduce-fg)",
      "JOB_ASSIGN_ALL(H:9,f,,r2,reduce-bg)",
      // DIFFERENCE: gearmand 1.1.20 keeps a 64-byte unique in a 64-byte C string: it hands the
      // worker 63 bytes and a NUL that lands in front of the data. The embedded server keeps it whole.
      target === "gearmand"
        ? `JOB_ASSIGN_UNIQ(H:10,f,${"x".repeat(63)},\\0unique of 64)`
        : `JOB_ASSIGN_UNIQ(H:10,f,${"x".repeat(64)},unique of 64)`,
      "JOB_ASSIGN_UNIQ(H:5,f,,low-fg)",
      "JOB_ASSIGN_UNIQ(H:6,f,,low-bg)",
      "NO_JOB",
    ]);
  },
);

testOnTargets(
  "submits",
  "GRAB_JOB gets JOB_ASSIGN and GRAB_JOB_UNIQ gets JOB_ASSIGN_UNIQ, for reduce jobs too",
  async (port) => {
    using c = await RawPeer.connect(port);
    using w = await RawPeer.connect(port);
    c.send(T.SUBMIT_REDUCE_JOB_BACKGROUND, "f", "u1", "r", "", "a\0b");
    c.send(T.SUBMIT_REDUCE_JOB_BACKGROUND, "f", "u2", "r", "", "c");
    await c.sync();
    w.send(T.CAN_DO, "f");
    w.send(T.GRAB_JOB);
    w.send(T.GRAB_JOB_UNIQ);
    w.send(T.GRAB_JOB);
    expect(await w.syncRendered()).toEqual(["JOB_ASSIGN(H:1,f,a\\0b)", "JOB_ASSIGN_UNIQ(H:2,f,u2,c)", "NO_JOB"]);
  },
);

testOnTargets(
  "submits",
  "maxqueue limits new jobs by the function's total; coalesced submits still attach",
  async (port) => {
    using c = await RawPeer.connect(port);
    using w = await RawPeer.connect(port);
    w.send(T.CAN_DO, "f"); // the function must exist for maxqueue to apply
    await w.sync();
    expect(await c.admin("maxqueue f 2")).toEqual(["OK"]);
    c.send(T.SUBMIT_JOB_BG, "f", "a", "1");
    c.send(T.SUBMIT_JOB_BG, "f", "b", "2");
    c.send(T.SUBMIT_JOB_BG, "f", "c", "3");
    c.send(T.SUBMIT_JOB_BG, "f", "a", "1 again");
    expect(await c.syncRendered()).toEqual([
      "JOB_CREATED(H:1)",
      "JOB_CREATED(H:2)",
      "ERROR(QUEUE_ERROR,Job queue is full)",
      "JOB_CREATED(H:1)",
    ]);
    // maxqueue F HIGH NORMAL LOW: each compared with the function's total (2 jobs)
    expect(await c.admin("maxqueue f 1 2 3")).toEqual(["OK"]);
    c.send(T.SUBMIT_JOB_HIGH_BG, "f", "", "high");
    c.send(T.SUBMIT_JOB_BG, "f", "", "normal");
    c.send(T.SUBMIT_JOB_LOW_BG, "f", "", "low");
    expect(await c.syncRendered()).toEqual([
      "ERROR(QUEUE_ERROR,Job queue is full)",
      "ERROR(QUEUE_ERROR,Job queue is full)",
      "JOB_CREATED(H:3)",
    ]);
    expect(await c.admin("maxqueue f")).toEqual(["OK"]);
    c.send(T.SUBMIT_JOB_HIGH_BG, "f", "", "high");
    expect(await c.syncRendered()).toEqual(["JOB_CREATED(H:4)"]);
    expect(await c.admin("maxqueue")).toEqual([
      "ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+maxqueue",
    ]);
  },
);

testOnTargets("submits", "ECHO, OPTION_REQ, and packets a peer must not send", async (port) => {
  using c = await RawPeer.connect(port);
  c.send(T.ECHO_REQ, "a\0b\0");
  c.send(T.ECHO_REQ, "");
  c.send(T.OPTION_REQ, "exceptions");
  c.send(T.OPTION_REQ, "EXCEPTIONS");
  c.send(T.OPTION_REQ, "bogus");
  c.send(T.SET_CLIENT_ID, "me");
  c.send(T.NOOP);
  c.send(T.JOB_CREATED, "H:x:1");
  c.send(T.ALL_YOURS);
  c.send(T.STATUS_RES, "h", "1", "0", "0", "0");
  expect(await c.syncRendered()).toEqual([
    "ECHO_RES(a\\0b\\0)",
    "ECHO_RES()",
    "OPTION_RES(exceptions)",
    "OPTION_RES(EXCEPTIONS)",
    "ERROR(UNKNOWN_OPTION,Server does not recognize given option)",
    "ERROR(INVALID_COMMAND,Command not expected)",
    "ERROR(INVALID_COMMAND,Command not expected)",
    "ERROR(INVALID_COMMAND,Command not expected)",
    "ERROR(INVALID_COMMAND,Command not expected)",
  ]);
});

testOnTargets("submits", "GET_STATUS and GET_STATUS_UNIQUE through a job's life", async (port) => {
  using c = await RawPeer.connect(port);
  using w = await RawPeer.connect(port);
  c.send(T.GET_STATUS, "H:nowhere:1");
  c.send(T.GET_STATUS_UNIQUE, "u");
  c.send(T.SUBMIT_JOB, "f", "u", "data");
  expect(await c.syncRendered()).toEqual([
    "STATUS_RES(H:1,0,0,0,0)",
    "STATUS_RES_UNIQUE(u,0,0,0,0,0)",
    "JOB_CREATED(H:1)",
  ]);
  const handle = (c.items.at(-2) as { args: string[] }).args[0]!;
  c.send(T.GET_STATUS, handle);
  c.send(T.GET_STATUS_UNIQUE, "u");
  expect(await c.syncRendered()).toEqual(["STATUS_RES(H:1,1,0,0,0)", "STATUS_RES_UNIQUE(u,1,0,0,0,1)"]);
  w.send(T.CAN_DO, "f");
  w.send(T.GRAB_JOB);
  w.send(T.WORK_STATUS, handle, "3", "10");
  await w.sync();
  c.send(T.GET_STATUS, handle);
  c.send(T.GET_STATUS_UNIQUE, "u");
  expect(await c.syncRendered()).toEqual([
    "WORK_STATUS(H:1,3,10)",
    "STATUS_RES(H:1,1,1,3,10)",
    "STATUS_RES_UNIQUE(u,1,1,3,10,1)",
  ]);
  // numbers are read like C atoi into a uint32, and forwarded verbatim
  w.send(T.WORK_STATUS, handle, "7x", "abc");
  await w.sync();
  c.send(T.GET_STATUS, handle);
  expect(await c.syncRendered()).toEqual(["WORK_STATUS(H:1,7x,abc)", "STATUS_RES(H:1,1,1,7,0)"]);
  w.send(T.WORK_COMPLETE, handle, "done");
  await w.sync();
  c.send(T.GET_STATUS, handle);
  c.send(T.GET_STATUS_UNIQUE, "u");
  expect(await c.syncRendered()).toEqual([
    "WORK_COMPLETE(H:1,done)",
    "STATUS_RES(H:1,0,0,0,0)",
    "STATUS_RES_UNIQUE(u,0,0,0,0,0)",
  ]);
});

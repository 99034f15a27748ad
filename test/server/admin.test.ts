/**
 * The admin text protocol, one session against real gearmand and the embedded server, same
 * replies. Row order is not compared (gearmand lists from hash tables), nor the connection
 * numbers in `workers` (gearmand shows file descriptors).
 */
import { expect } from "bun:test";
import { PacketType as T } from "../../src/protocol/packets.ts";
import { reportedVersion } from "../support/gearmand-version.ts";
import { RawPeer } from "../support/raw-peer.ts";
import { testOnTargets } from "../support/targets.ts";

const sorted = (rows: string[]): string[] => [...rows].sort();
const shortHandles = (rows: string[]): string[] => rows.map((r) => r.replace(/^H:[^:]+:/, "H:"));

testOnTargets("admin", "status, prioritystatus, workers, show jobs, show unique jobs", async (port) => {
  using w = await RawPeer.connect(port);
  using c = await RawPeer.connect(port);
  using admin = await RawPeer.connect(port);
  w.send(T.SET_CLIENT_ID, "worker-1");
  w.send(T.CAN_DO, "f");
  w.send(T.CAN_DO, "g");
  w.send(T.CAN_DO_TIMEOUT, "h", "5000");
  await w.sync();
  c.send(T.SUBMIT_JOB_BG, "f", "", "1");
  c.send(T.SUBMIT_JOB_BG, "f", "", "2");
  c.send(T.SUBMIT_JOB_HIGH_BG, "f", "", "3");
  c.send(T.SUBMIT_JOB_LOW_BG, "g", "ug", "4");
  c.send(T.SUBMIT_JOB, "h", "", "5");
  await c.sync();
  using w2 = await RawPeer.connect(port);
  w2.send(T.CAN_DO, "f");
  w2.send(T.GRAB_JOB);
  expect(await w2.syncRendered()).toEqual(["JOB_ASSIGN(H:3,f,3)"]);

  expect(sorted(await admin.admin("status"))).toEqual(["f\t3\t1\t2", "g\t1\t0\t1", "h\t1\t0\t1"]);
  expect(sorted(await admin.admin("prioritystatus"))).toEqual(["f\t0\t2\t0\t2", "g\t0\t0\t1\t1", "h\t0\t1\t0\t1"]);
  const workers = (await admin.admin("workers")).map((r) => r.replace(/^\d+ /, "FD "));
  // A connection's functions are listed newest first.
  expect(sorted(workers)).toEqual([
    "FD 127.0.0.1 - :",
    "FD 127.0.0.1 - :",
    "FD 127.0.0.1 - : f",
    "FD 127.0.0.1 worker-1 : h g f",
  ]);
  // HANDLE RETRIES IGNORE_JOB JOB_QUEUED (background jobs count as queued)
  expect(sorted(shortHandles(await admin.admin("show jobs")))).toEqual([
    "H:1\t0\t0\t1",
    "H:2\t0\t0\t1",
    "H:3\t0\t0\t1",
    "H:4\t0\t0\t1",
    "H:5\t0\t0\t0",
  ]);
  expect(sorted(await admin.admin("show unique jobs"))).toEqual(["", "", "", "", "ug"]);
});

testOnTargets("admin", "single-line commands and errors", async (port, target, server) => {
  using w = await RawPeer.connect(port);
  using admin = await RawPeer.connect(port);
  w.send(T.CAN_DO, "busy");
  w.send(T.CAN_DO, "idle");
  w.send(T.CANT_DO, "idle");
  await w.sync();
  // gearmand answers the version configure gave it, the one `gearmand --version` names: "" for
  // a build from a source tree without git metadata ("OK "). The embedded server names itself.
  if (target === "gearmand") expect(await admin.admin("version")).toEqual([`OK ${reportedVersion()}`]);
  else expect(await admin.admin("version")).toEqual([expect.stringMatching(/^OK gearbun-\S+$/)]);
  expect(await admin.admin("getpid")).toEqual([`OK ${server.pid}`]);
  expect(await admin.admin("verbose")).toEqual([expect.stringMatching(/^OK [A-Z]+$/)]);
  expect(sorted(await admin.admin("STATUS"))).toEqual(["busy\t0\t0\t1", "idle\t0\t0\t0"]);
  expect(await admin.admin("maxqueue busy 10")).toEqual(["OK"]);
  expect(await admin.admin("drop function busy")).toEqual([
    "ERR there are still connected workers or executing clients",
  ]);
  expect(await admin.admin("drop function idle")).toEqual(["OK"]);
  expect(await admin.admin("drop function idle")).toEqual(["ERR function not found"]);
  expect(await admin.admin("status")).toEqual(["busy\t0\t0\t1"]);
  expect(await admin.admin("drop function")).toEqual([
    "ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+drop",
  ]);
  expect(await admin.admin("create function")).toEqual([
    "ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+create",
  ]);
  expect(await admin.admin("cancel job H:nope:1")).toEqual(["ERR UNKNOWN_JOB"]);
  expect(await admin.admin("cancel")).toEqual(["ERR UNKNOWN_COMMAND Unknown+server+commandcancel"]);
  expect(await admin.admin("bogus")).toEqual(["ERR UNKNOWN_COMMAND Unknown+server+commandbogus"]);
  expect(await admin.admin("shutdown")).toEqual(["ERR UNKNOWN_COMMAND Unknown+server+commandshutdown"]);
  expect(await admin.admin("")).toEqual(["ERR UNKNOWN_COMMAND Unknown+server+command"]);
  expect(await admin.admin("show")).toEqual(["ERR UNKNOWN_COMMAND Unknown+server+commandshow"]);
  expect(await admin.admin("show things")).toEqual(["ERR UNKNOWN_SHOW_ARGUMENTS"]);
  // CR LF line ends, and text and binary interleaved on one connection, answered in order
  admin.write("version\r\n");
  admin.send(T.ECHO_REQ, "between");
  admin.write("getpid\n");
  const replies = await admin.syncRendered();
  expect(replies).toEqual([expect.stringMatching(/^text:OK /), "ECHO_RES(between)", `text:OK ${server.pid}`]);

  // DIFFERENCE: gearmand 1.1.20 `create function NAME` creates NAME without its last character.
  expect(await admin.admin("create function made")).toEqual(["OK"]);
  expect((await admin.admin("status")).filter((r) => r.startsWith("mad"))).toEqual(
    target === "gearmand" ? ["mad\t0\t0\t0"] : ["made\t0\t0\t0"],
  );
});

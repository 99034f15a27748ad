/**
 * The embedded server's fault switches, for tests of workers and clients: each does what it
 * says, can be flipped at runtime, and leaves the server consistent.
 * (withholdNoop is in wake-ups.test.ts, next to the rules it breaks.)
 */
import { expect, test } from "bun:test";
import { PacketType as T } from "../../src/protocol/packets.ts";
import { startServer } from "../../src/server/server.ts";
import { RawPeer } from "../support/raw-peer.ts";

test("faults - ignoreGrabs: GRABs get no answer; switched off, grabs are answered again", async () => {
  await using server = await startServer({ port: 0, firstHandle: 1, faults: { ignoreGrabs: true } });
  using c = await RawPeer.connect(server.port);
  using w = await RawPeer.connect(server.port);
  c.send(T.SUBMIT_JOB_BG, "f", "", "x");
  await c.sync();
  w.send(T.CAN_DO, "f");
  w.send(T.GRAB_JOB);
  w.send(T.GRAB_JOB_UNIQ);
  expect(await w.syncRendered()).toEqual([]);
  server.faults.ignoreGrabs = false;
  w.send(T.GRAB_JOB);
  expect(await w.syncRendered()).toEqual([expect.stringMatching(/^JOB_ASSIGN\(H:1,f,x\)$/)]);
});

test("faults - dropOnAssign: the worker is disconnected after JOB_ASSIGN; the job goes back to the queue", async () => {
  await using server = await startServer({ port: 0, firstHandle: 1, faults: { dropOnAssign: true } });
  using c = await RawPeer.connect(server.port);
  c.send(T.SUBMIT_JOB, "f", "", "x");
  await c.sync();
  const w1 = await RawPeer.connect(server.port);
  w1.send(T.CAN_DO, "f");
  w1.send(T.GRAB_JOB);
  await w1.closedPromise;
  expect(w1.items.map((i) => (i.type === "text" ? i.line : i.name))).toEqual(["JOB_ASSIGN"]);
  server.faults.dropOnAssign = false;
  using w2 = await RawPeer.connect(server.port);
  w2.send(T.CAN_DO, "f");
  w2.send(T.GRAB_JOB);
  const [assign] = await w2.syncItems();
  w2.send(T.WORK_COMPLETE, (assign as { args: string[] }).args[0]!, "ok");
  await w2.sync();
  expect(await c.syncRendered()).toEqual(["WORK_COMPLETE(H:1,ok)"]);
  expect((await c.admin("show jobs")).length).toBe(0);
});

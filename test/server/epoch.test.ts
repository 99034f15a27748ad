/**
 * SUBMIT_JOB_EPOCH: a background job run at a given time (seconds since the epoch). Both servers
 * count it at once and hand it out only when due. DIFFERENCE: gearmand 1.1 never wakes a
 * sleeping worker when an epoch job comes due (the worker must poll). gearmand 2.0 sends NOOP to
 * the function's sleeping workers from a timer armed at the submit for the whole seconds until
 * the due one (so up to a second late); the embedded server queues the job at its time, which
 * wakes sleeping workers by the usual rules.
 */
import { expect } from "bun:test";
import { PacketType as T } from "../../src/protocol/packets.ts";
import { gearmandBehaviour } from "../support/gearmand-version.ts";
import { RawPeer } from "../support/raw-peer.ts";
import { testOnTargets } from "../support/targets.ts";

testOnTargets("epoch", "a job for a later second is counted now and handed out when due", async (port, target) => {
  using c = await RawPeer.connect(port);
  using w = await RawPeer.connect(port);
  // At least one whole second ahead, so the job is not due when first grabbed.
  const at = Math.floor(Date.now() / 1000) + 2;
  c.send(T.SUBMIT_JOB_EPOCH, "f", "", String(at), "later");
  expect(await c.syncRendered()).toEqual(["JOB_CREATED(H:1)"]);
  expect(await c.admin("status")).toEqual(["f\t1\t0\t0"]);
  expect(await c.admin("prioritystatus")).toEqual(["f\t0\t1\t0\t0"]);
  w.send(T.CAN_DO, "f");
  w.send(T.GRAB_JOB);
  expect(await w.syncRendered()).toEqual(["NO_JOB"]);
  w.send(T.PRE_SLEEP);
  expect(await w.syncRendered()).toEqual([]);
  const behaviour = target === "gearmand" ? await gearmandBehaviour(port) : "embedded";
  // gearmand 2.0's timer ran `at - submit second` whole seconds from the submit: done by at + 1 s.
  await Bun.sleep(Math.max(0, at * 1000 - Date.now()) + (behaviour === "2.0" ? 1150 : 150));
  expect(await w.syncRendered()).toEqual(behaviour === "1.1" ? [] : ["NOOP"]);
  w.send(T.GRAB_JOB);
  expect(await w.syncRendered()).toEqual(["JOB_ASSIGN(H:1,f,later)"]);
});

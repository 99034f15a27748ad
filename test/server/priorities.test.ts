/**
 * Priorities. Within one function gearmand and the embedded server agree: HIGH, then NORMAL,
 * then LOW, first in first out within each. Across functions, gearmand 2.0 and the embedded
 * server make priorities global (every HIGH job of any function the worker can do before any
 * NORMAL one) and take the worker's functions in turn (round robin, newest CAN_DO first), while
 * gearmand 1.1 takes the first of the worker's functions that has jobs (newest CAN_DO first)
 * and orders only within it.
 */
import { expect } from "bun:test";
import { PacketType as T } from "../../src/protocol/packets.ts";
import { gearmandBehaviour } from "../support/gearmand-version.ts";
import { RawPeer } from "../support/raw-peer.ts";
import { testOnTargets } from "../support/targets.ts";

async function grabAll(w: RawPeer, count: number): Promise<string[]> {
  for (let i = 0; i < count; i++) w.send(T.GRAB_JOB);
  return (await w.syncItems()).map((i) =>
    i.type === T.JOB_ASSIGN ? `${i.args[1]}:${i.args[2]}` : i.type === "text" ? i.line : i.name,
  );
}

testOnTargets("priorities", "within a function: HIGH, NORMAL, LOW, each first in first out", async (port) => {
  using c = await RawPeer.connect(port);
  using w = await RawPeer.connect(port);
  const submits: [number, string][] = [
    [T.SUBMIT_JOB_LOW_BG, "low1"],
    [T.SUBMIT_JOB_BG, "normal1"],
    [T.SUBMIT_JOB_HIGH_BG, "high1"],
    [T.SUBMIT_JOB_LOW, "low2"],
    [T.SUBMIT_JOB, "normal2"],
    [T.SUBMIT_JOB_HIGH, "high2"],
  ];
  for (const [type, data] of submits) c.send(type, "f", "", data);
  await c.sync();
  expect(await c.admin("prioritystatus")).toEqual(["f\t2\t2\t2\t0"]);
  w.send(T.CAN_DO, "f");
  expect(await grabAll(w, 7)).toEqual(["f:high1", "f:high2", "f:normal1", "f:normal2", "f:low1", "f:low2", "NO_JOB"]);
});

testOnTargets(
  "priorities",
  "across functions (gearmand 2.0, embedded: global; gearmand 1.1: per function)",
  async (port, target) => {
    using c = await RawPeer.connect(port);
    using w = await RawPeer.connect(port);
    c.send(T.SUBMIT_JOB_LOW_BG, "f", "", "f-low");
    c.send(T.SUBMIT_JOB_BG, "f", "", "f-normal");
    c.send(T.SUBMIT_JOB_LOW_BG, "g", "", "g-low");
    c.send(T.SUBMIT_JOB_BG, "g", "", "g-normal");
    c.send(T.SUBMIT_JOB_HIGH_BG, "f", "", "f-high");
    c.send(T.SUBMIT_JOB_HIGH_BG, "g", "", "g-high");
    await c.sync();
    w.send(T.CAN_DO, "f");
    w.send(T.CAN_DO, "g");
    const order = await grabAll(w, 7);
    if (target === "gearmand" && (await gearmandBehaviour(port)) === "1.1") {
      // DIFFERENCE: gearmand 1.1 drains g (the newest CAN_DO) before looking at f.
      expect(order).toEqual(["g:g-high", "g:g-normal", "g:g-low", "f:f-high", "f:f-normal", "f:f-low", "NO_JOB"]);
    } else {
      // Each priority in turn; within it g (the newest CAN_DO) first, then f, as the function
      // that just got a job goes to the back of the worker's list.
      expect(order).toEqual(["g:g-high", "f:f-high", "g:g-normal", "f:f-normal", "g:g-low", "f:f-low", "NO_JOB"]);
    }
  },
);

testOnTargets(
  "priorities",
  "one priority, two functions: the functions take turns (gearmand 1.1: newest CAN_DO's first)",
  async (port, target) => {
    using c = await RawPeer.connect(port);
    using w = await RawPeer.connect(port);
    for (const data of ["f1", "f2", "f3"]) c.send(T.SUBMIT_JOB_BG, "f", "", data);
    for (const data of ["g1", "g2"]) c.send(T.SUBMIT_JOB_BG, "g", "", data);
    await c.sync();
    w.send(T.CAN_DO, "f");
    w.send(T.CAN_DO, "g");
    const order = await grabAll(w, 6);
    if (target === "gearmand" && (await gearmandBehaviour(port)) === "1.1") {
      expect(order).toEqual(["g:g1", "g:g2", "f:f1", "f:f2", "f:f3", "NO_JOB"]);
    } else {
      expect(order).toEqual(["g:g1", "f:f1", "g:g2", "f:f2", "f:f3", "NO_JOB"]);
    }
  },
);

/** Gateway - TurnBatch: every turn() asked in one turn of the event loop resolves together, in order, after it. */
import { expect, test } from "bun:test";
import { TurnBatch } from "../../src/gateway/batch.ts";

test("gateway - turn batch: waits asked in one turn resolve together after it, in order; a later turn is a new batch", async () => {
  const batch = new TurnBatch();
  const order: string[] = [];
  const first = [batch.turn().then(() => order.push("a")), batch.turn().then(() => order.push("b"))];
  queueMicrotask(() => order.push("microtask"));
  await Promise.resolve();
  order.push("same turn");
  await Promise.all(first);
  expect(order).toEqual(["microtask", "same turn", "a", "b"]);
  // A wait asked after a batch ran starts a batch of its own (a stuck one would never resolve).
  await batch.turn();
  order.push("c");
  expect(order).toEqual(["microtask", "same turn", "a", "b", "c"]);
});

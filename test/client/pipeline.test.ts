import { expect, test } from "bun:test";
import { Client } from "../../src/client/client.ts";
import { encodePacket } from "../../src/protocol/encode.ts";
import { PacketType, RES_MAGIC } from "../../src/protocol/packets.ts";
import { startFaultServer, type FaultPacket } from "../support/fault-server.ts";

const SUBMIT_TYPES: ReadonlySet<number> = new Set([
  PacketType.SUBMIT_JOB,
  PacketType.SUBMIT_JOB_HIGH,
  PacketType.SUBMIT_JOB_LOW,
  PacketType.SUBMIT_JOB_BG,
  PacketType.SUBMIT_JOB_HIGH_BG,
  PacketType.SUBMIT_JOB_LOW_BG,
  PacketType.SUBMIT_JOB_EPOCH,
  PacketType.SUBMIT_REDUCE_JOB,
  PacketType.SUBMIT_REDUCE_JOB_BACKGROUND,
]);

/** A job server that creates every job ("H:n" in arrival order) and answers OPTION_REQ. */
async function creatingServer() {
  let n = 0;
  return startFaultServer({
    reply(p: FaultPacket) {
      if (p.type === PacketType.OPTION_REQ) return [[PacketType.OPTION_RES, p.arg(0)]];
      if (SUBMIT_TYPES.has(p.type)) return [[PacketType.JOB_CREATED, `H:${++n}`]];
    },
  });
}

test("client pipeline - OPTION_REQ exceptions goes out before any submit, on every connect", async () => {
  await using server = await creatingServer();
  await using client = new Client({
    servers: server.address,
    clientId: "pipe-1",
    reconnect: { initialDelay: 20, maxDelay: 50 },
  });
  const first = client.submit("f", "a"); // submitted before the connection is up
  await first.handle;
  server.peers[0]!.close();
  while (client.servers()[0]!.state === "ready") await Bun.sleep(5);
  while (client.servers()[0]!.state !== "ready") await Bun.sleep(5);
  await client.submit("f", "b").handle;
  expect(server.peers.length).toBe(2);
  for (const peer of server.peers) {
    const types = peer.received.map((p) => p.type);
    expect(types.slice(0, 4)).toEqual([
      PacketType.ECHO_REQ, // the connection's probe
      PacketType.SET_CLIENT_ID,
      PacketType.OPTION_REQ,
      PacketType.SUBMIT_JOB,
    ]);
    expect(peer.received[2]!.arg(0)).toBe("exceptions");
    expect(peer.received[1]!.arg(0)).toBe("pipe-1");
  }
});

test("client pipeline - JOB_CREATED answers submits first in first out; results find their job by handle", async () => {
  await using server = await creatingServer();
  await using client = new Client({ servers: server.address });
  const tasks = Array.from({ length: 500 }, (_, i) =>
    client.submit("f", `${i}`, { priority: (["high", "normal", "low"] as const)[i % 3] }),
  );
  const handles = await Promise.all(tasks.map((t) => t.handle));
  expect(handles).toEqual(tasks.map((_, i) => `H:${i + 1}`));
  // Every submit went out in one pipelined stream, in order.
  const submits = server.received.filter((p) => SUBMIT_TYPES.has(p.type));
  expect(submits.map((p) => p.arg(2))).toEqual(tasks.map((_, i) => `${i}`));
  // Results in reverse order, with events in between.
  const peer = server.peers[0]!;
  for (let i = tasks.length - 1; i >= 0; i--) {
    peer.send(PacketType.WORK_STATUS, `H:${i + 1}`, "1", "2");
    peer.send(PacketType.WORK_COMPLETE, `H:${i + 1}`, `result-${i}`);
  }
  const results = await Promise.all(tasks.map((t) => t.text()));
  expect(results).toEqual(tasks.map((_, i) => `result-${i}`));
  expect(client.servers()[0]!.inFlight).toEqual({ requests: 0, jobs: 0 });
});

test("client pipeline - the payload goes out as given, bytes or UTF-8, in the submit packet's last argument", async () => {
  await using server = await creatingServer();
  await using client = new Client({ servers: server.address });
  const bytes = new Uint8Array([0, 0xff, 0, 1]);
  await client.submitBackground("f", bytes, { unique: "u1" });
  await client.submitBackground("f", "ünï", { priority: "high" });
  await client.submitBackground("f", "r", { reducer: "red" });
  await client.submitBackground("f", "e", { runAt: 1_900_000_000_500 });
  const got = server.received.filter((p) => SUBMIT_TYPES.has(p.type));
  expect(got.map((p) => p.type)).toEqual([
    PacketType.SUBMIT_JOB_BG,
    PacketType.SUBMIT_JOB_HIGH_BG,
    PacketType.SUBMIT_REDUCE_JOB_BACKGROUND,
    PacketType.SUBMIT_JOB_EPOCH,
  ]);
  expect(got[0]!.args).toEqual([new TextEncoder().encode("f"), new TextEncoder().encode("u1"), bytes]);
  expect(got[1]!.arg(2)).toBe("ünï");
  expect(got[2]!.args.map((a) => new TextDecoder().decode(a))).toEqual(["f", "", "red", "", "r"]);
  // Epoch seconds, rounded up so the job never runs before runAt.
  expect(got[3]!.args.map((a) => new TextDecoder().decode(a))).toEqual(["f", "", "1900000001", "e"]);
});

test("client pipeline - results of every size, split across chunks or not, reach their job; handles may be any UTF-8", async () => {
  const handles = ["H:1", "H:ü-2", "H:3"];
  let n = 0;
  await using server = await startFaultServer({
    reply(p: FaultPacket) {
      if (p.type === PacketType.OPTION_REQ) return [[PacketType.OPTION_RES, p.arg(0)]];
      if (p.type === PacketType.SUBMIT_JOB) return [[PacketType.JOB_CREATED, handles[n++]!]];
    },
  });
  await using client = new Client({ servers: server.address });
  const sizes = [0, 16, 1024, 1025, 200_000];
  for (const size of sizes) {
    const result = new Uint8Array(size);
    for (let i = 0; i < size; i++) result[i] = (i * 7 + 1) & 0xff;
    n = 0;
    const tasks = handles.map((_, i) => client.submit("f", `${i}`));
    expect(await Promise.all(tasks.map((t) => t.handle))).toEqual(handles);
    const peer = server.peers[0]!;
    // The last job's result first, whole; the others byte by byte around its header.
    const encoded = handles.map((h) => encodePacket(PacketType.WORK_COMPLETE, [h, result], RES_MAGIC));
    peer.write(encoded[2]!);
    for (const packet of encoded.slice(0, 2)) {
      peer.write(packet.subarray(0, 5));
      await Bun.sleep(1);
      peer.write(packet.subarray(5, 14));
      await Bun.sleep(1);
      peer.write(packet.subarray(14));
    }
    const results = await Promise.all(tasks);
    for (const r of results) expect(Buffer.from(r).equals(Buffer.from(result))).toBe(true);
    expect(client.servers()[0]!.inFlight).toEqual({ requests: 0, jobs: 0 });
  }
});

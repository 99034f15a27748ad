/** The connect probe (ECHO round trip before `ready`) against servers that answer it wrongly. */
import { expect, test } from "bun:test";
import { ConnectionError, ProtocolError } from "../../src/errors.ts";
import { PacketType } from "../../src/protocol/packets.ts";
import { startFaultServer } from "../support/fault-server.ts";
import { recordedConnection, testConfig } from "./util.ts";

const noRetry = testConfig({ reconnect: () => null });

test("handshake - ready comes after the echoed probe; the ready handler may write at once", async () => {
  await using server = await startFaultServer();
  await using rec = recordedConnection(server.address, noRetry, {
    // As a worker does: CAN_DO from inside the ready event.
    event: (e, conn) => {
      if (e.type === "ready") conn.send(PacketType.CAN_DO, "fn");
    },
  });
  await rec.conn.connect();
  const probe = await server.waitFor(PacketType.ECHO_REQ);
  expect(probe.args[0]!.length).toBeGreaterThan(0);
  expect((await server.waitFor(PacketType.CAN_DO)).arg(0)).toBe("fn");
  expect(server.received.map((p) => p.type)).toEqual([PacketType.ECHO_REQ, PacketType.CAN_DO]);
});

test("handshake - the ready event comes before connect() resolves, in state ready", async () => {
  await using server = await startFaultServer();
  const seen: string[] = [];
  await using rec = recordedConnection(server.address, noRetry, {
    event: (e, conn) => seen.push(`${e.type}:${conn.state}`),
  });
  await rec.conn.connect();
  seen.push("resolved");
  expect(seen).toEqual(["connecting:connecting", "ready:ready", "resolved"]);
});

for (const [name, reply, code] of [
  ["another packet type", [[PacketType.NOOP]], "UNEXPECTED_PACKET"],
  ["an ECHO_RES with other bytes", [[PacketType.ECHO_RES, "not-the-probe"]], "UNEXPECTED_PACKET"],
  ["garbage", [new Uint8Array([0x45, 0x52, 0x52, 0x20, 0x0a])], "BAD_MAGIC"],
] as const) {
  test(`handshake - a probe answered with ${name} fails the dial with ${code}`, async () => {
    await using server = await startFaultServer({ reply: () => reply });
    await using rec = recordedConnection(server.address, noRetry);
    const error = await rec.conn.connect().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe(code);
    expect((error as ProtocolError).message).toContain(server.address);
    await rec.event("closed");
    expect(rec.eventTypes()).toEqual(["connecting", "disconnected", "closed"]);
    const lost = rec.events[1]!;
    expect(lost.type === "disconnected" && lost.wasReady).toBe(false);
  });
}

test("handshake - a server that closes during the probe fails the dial with CONNECT_FAILED", async () => {
  await using server = await startFaultServer();
  server.faults.dropOn.add(PacketType.ECHO_REQ);
  await using rec = recordedConnection(server.address, noRetry);
  const error = await rec.conn.connect().then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectionError);
  expect((error as ConnectionError).code).toBe("CONNECT_FAILED");
});

test("handshake - with handshake off, ready comes at socket open and nothing is sent", async () => {
  await using server = await startFaultServer();
  server.faults.hang = true;
  await using rec = recordedConnection(server.address, testConfig({ handshake: false }));
  await rec.conn.connect();
  expect(rec.eventTypes()).toEqual(["connecting", "ready"]);
  await Bun.sleep(20);
  expect(server.received).toEqual([]);
});

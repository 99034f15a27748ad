/** The fault server itself, driven through a real Connection: each switch does what it says. */
import { expect, test } from "bun:test";
import { ConnectionError, ProtocolError } from "../../src/errors.ts";
import { PacketType } from "../../src/protocol/packets.ts";
import { startFaultServer } from "../support/fault-server.ts";
import { recordedConnection, testConfig } from "./util.ts";

test("fault server - answers the ECHO handshake and scripted replies", async () => {
  await using server = await startFaultServer({
    reply(packet) {
      if (packet.type === PacketType.GET_STATUS) return [[PacketType.STATUS_RES, packet.arg(0), "1", "0", "3", "7"]];
    },
  });
  await using rec = recordedConnection(server.address, testConfig());
  await rec.conn.connect();
  rec.conn.send(PacketType.GET_STATUS, "H:x:1");
  await rec.packetsReach(1);
  expect(rec.packets[0]!.type).toBe(PacketType.STATUS_RES);
  expect(rec.packets[0]!.args.map((a) => Buffer.from(a).toString())).toEqual(["H:x:1", "1", "0", "3", "7"]);
  const seen = await server.waitFor(PacketType.GET_STATUS);
  expect(seen.arg(0)).toBe("H:x:1");
  expect(server.received.map((p) => p.type)).toEqual([PacketType.ECHO_REQ, PacketType.GET_STATUS]);
  expect(server.peers.length).toBe(1);
});

test("fault server - hang makes the connect time out", async () => {
  await using server = await startFaultServer();
  server.faults.hang = true;
  await using rec = recordedConnection(server.address, testConfig({ connectTimeout: 200, reconnect: () => null }));
  const error = await rec.conn.connect().then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectionError);
  expect((error as ConnectionError).code).toBe("CONNECT_TIMEOUT");
  expect((await server.waitFor(PacketType.ECHO_REQ)).type).toBe(PacketType.ECHO_REQ);
});

test("fault server - dropOn closes the socket when the chosen packet arrives", async () => {
  await using server = await startFaultServer();
  await using rec = recordedConnection(server.address, testConfig({ reconnect: () => null }));
  await rec.conn.connect();
  server.faults.dropOn.add(PacketType.PRE_SLEEP);
  const lost = rec.event("disconnected");
  rec.conn.send(PacketType.PRE_SLEEP);
  const event = await lost;
  expect(event.type === "disconnected" && event.wasReady).toBe(true);
  expect(rec.eventTypes()).toEqual(["connecting", "ready", "disconnected", "closed"]);
});

test("fault server - garbleOn answers with bad bytes: the client reports BAD_MAGIC", async () => {
  await using server = await startFaultServer();
  await using rec = recordedConnection(server.address, testConfig({ reconnect: () => null }));
  await rec.conn.connect();
  server.faults.garbleOn.add(PacketType.GRAB_JOB);
  const lost = rec.event("disconnected");
  rec.conn.send(PacketType.GRAB_JOB);
  const event = await lost;
  if (event.type !== "disconnected") throw new Error("unreachable");
  expect(event.error).toBeInstanceOf(ProtocolError);
  expect(event.error.code).toBe("BAD_MAGIC");
  expect(event.error.message).toContain(server.address);
});

test("fault server - withhold drops chosen packet types from replies and peer.send", async () => {
  await using server = await startFaultServer({
    reply(packet) {
      if (packet.type === PacketType.PRE_SLEEP) return [[PacketType.NOOP], [PacketType.NO_JOB]];
    },
  });
  await using rec = recordedConnection(server.address, testConfig());
  await rec.conn.connect();
  server.faults.withhold.add(PacketType.NOOP);
  rec.conn.send(PacketType.PRE_SLEEP);
  await rec.packetsReach(1);
  server.peers[0]!.send(PacketType.NOOP);
  server.peers[0]!.send(PacketType.JOB_CREATED, "H:1");
  await rec.packetsReach(2);
  expect(rec.packets.map((p) => p.type)).toEqual([PacketType.NO_JOB, PacketType.JOB_CREATED]);
});

test("fault server - nextPeer and waitFor hand out each connection and packet once", async () => {
  await using server = await startFaultServer();
  await using a = recordedConnection(server.address, testConfig());
  await using b = recordedConnection(server.address, testConfig());
  await Promise.all([a.conn.connect(), b.conn.connect()]);
  const p1 = await server.nextPeer();
  const p2 = await server.nextPeer();
  expect([p1.id, p2.id]).toEqual([1, 2]);
  await expect(server.nextPeer(50)).rejects.toThrow("no connection");
  const e1 = await server.waitFor(PacketType.ECHO_REQ);
  const e2 = await server.waitFor(PacketType.ECHO_REQ);
  expect(e1).not.toBe(e2);
  await expect(server.waitFor(PacketType.ECHO_REQ, 50)).rejects.toThrow("no packet type");
});

/** The `body` handler: packets read straight from the received bytes, counted like any other. */
import { expect, test } from "bun:test";
import { Connection } from "../../src/connection/connection.ts";
import { parseAddress } from "../../src/connection/servers.ts";
import { PacketType } from "../../src/protocol/packets.ts";
import { startFaultServer } from "../support/fault-server.ts";
import { testConfig } from "./util.ts";

test("body - a packet the body handler takes skips `packet` and still counts as received; declined ones reach `packet`", async () => {
  await using server = await startFaultServer();
  const bodies: string[] = [];
  const packets: number[] = [];
  const conn = new Connection(parseAddress(server.address), testConfig(), {
    packet: (p) => packets.push(p.type),
    // Takes every packet it is offered: the connect probe's ECHO_RES must not be offered.
    body(type, buf, from, to) {
      if (type === PacketType.WORK_DATA) return false;
      bodies.push(`${type}:${new TextDecoder().decode(buf.subarray(from, to))}`);
      return true;
    },
  });
  try {
    await conn.connect();
    const peer = server.peers[0]!;
    peer.send(PacketType.JOB_CREATED, "H:1");
    peer.send(PacketType.WORK_DATA, "H:1", "d");
    peer.send(PacketType.WORK_COMPLETE, "H:1", "r");
    peer.send(PacketType.NOOP); // no arguments: never offered to `body`
    const deadline = Date.now() + 5000;
    while (packets.length < 2 && Date.now() < deadline) await Bun.sleep(5);
    expect(bodies).toEqual([`${PacketType.JOB_CREATED}:H:1`, `${PacketType.WORK_COMPLETE}:H:1\0r`]);
    expect(packets).toEqual([PacketType.WORK_DATA, PacketType.NOOP]);
    const received = conn.packetsReceived;
    expect([received[PacketType.ECHO_RES], received[PacketType.JOB_CREATED]]).toEqual([1, 1]);
    expect([received[PacketType.WORK_DATA], received[PacketType.WORK_COMPLETE], received[PacketType.NOOP]]).toEqual([
      1, 1, 1,
    ]);
  } finally {
    await conn.close();
  }
});

/** ECHO round trips through Connection against a real gearmand: sizes and pipelining. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { PacketType } from "../../src/protocol/packets.ts";
import { describeGearmand, logsOnFailure, startGearmand, type Gearmand } from "../support/gearmand.ts";
import { recordedConnection, testConfig } from "./util.ts";

describeGearmand("echo against gearmand", () => {
  let gearmand: Gearmand;
  beforeAll(async () => {
    gearmand = await startGearmand();
  });
  afterAll(async () => {
    await gearmand?.[Symbol.asyncDispose]();
  });

  for (const size of [0, 1, 64 * 1024, 16 * 1024 * 1024]) {
    test(
      `echo - ECHO_REQ of ${size} bytes comes back as ECHO_RES with the same bytes`,
      logsOnFailure(async () => {
        await using rec = recordedConnection(gearmand.address, testConfig());
        await rec.conn.connect();
        const payload = new Uint8Array(size);
        for (let i = 0; i < size; i++) payload[i] = (i * 131 + 7) & 0xff;
        if (size > 0) payload[0] = 0; // a NUL in the data
        rec.conn.send(PacketType.ECHO_REQ, payload);
        await rec.packetsReach(1, 20_000);
        expect(rec.packets.length).toBe(1);
        expect(rec.packets[0]!.type).toBe(PacketType.ECHO_RES);
        const got = rec.packets[0]!.args[0]!;
        expect(got.length).toBe(size);
        expect(Buffer.from(got).equals(Buffer.from(payload))).toBe(true);
      }),
      30_000,
    );
  }

  test(
    "echo - 10,000 pipelined echoes come back in order",
    logsOnFailure(async () => {
      const COUNT = 10_000;
      await using rec = recordedConnection(gearmand.address, testConfig());
      await rec.conn.connect();
      for (let i = 0; i < COUNT; i++) rec.conn.send(PacketType.ECHO_REQ, `echo-${i}`);
      await rec.packetsReach(COUNT, 20_000);
      const texts = rec.packets.map((p) => `${p.type}:${Buffer.from(p.args[0]!).toString()}`);
      expect(texts).toEqual(Array.from({ length: COUNT }, (_, i) => `${PacketType.ECHO_RES}:echo-${i}`));
    }),
    30_000,
  );
});

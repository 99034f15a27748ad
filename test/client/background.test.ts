/**
 * Background submits on a ready connection. One with nothing to watch over it (no timeout, no
 * window, no resend) waits for its JOB_CREATED as its promise's resolve function alone, in the
 * same reply FIFO as every other request (src/client/requests.ts): its reply, an ERROR in its
 * place, a stray reply and a lost connection must each reach it, and only it, in send order.
 */
import { expect, test } from "bun:test";
import { Client } from "../../src/client/client.ts";
import { ConnectionError, ProtocolError, ServerError } from "../../src/errors.ts";
import { PacketType } from "../../src/protocol/packets.ts";
import { startFaultServer, type FaultPacket } from "../support/fault-server.ts";

const SUBMITS: ReadonlySet<number> = new Set([
  PacketType.SUBMIT_JOB,
  PacketType.SUBMIT_JOB_BG,
  PacketType.SUBMIT_JOB_HIGH_BG,
  PacketType.SUBMIT_JOB_LOW_BG,
  PacketType.SUBMIT_JOB_EPOCH,
  PacketType.SUBMIT_REDUCE_JOB_BACKGROUND,
]);

const settled = (p: PromiseLike<unknown>): Promise<unknown> =>
  Promise.resolve(p).then(
    (value) => value,
    (error: unknown) => error,
  );

test("client background - on a ready connection each reply reaches its own submit in send order, whatever kind waits beside it", async () => {
  let n = 0;
  await using server = await startFaultServer({
    reply(p: FaultPacket) {
      if (p.type === PacketType.OPTION_REQ) return [[PacketType.OPTION_RES, p.arg(0)]];
      if (SUBMITS.has(p.type)) {
        n++;
        // The payload says how to answer: an ERROR in place of JOB_CREATED, or a stray reply.
        if (p.arg(p.args.length - 1) === "refuse") return [[PacketType.ERROR, "QUEUE_ERROR", "queue full"]];
        if (p.arg(p.args.length - 1) === "stray") return [[PacketType.STATUS_RES, "H:x", "0", "0", "0", "0"]];
        return [[PacketType.JOB_CREATED, `H:fault:${n}:${p.arg(0)}`]];
      }
      if (p.type === PacketType.GET_STATUS) return [[PacketType.STATUS_RES, p.arg(0), "1", "0", "0", "0"]];
    },
  });
  await using client = new Client({ servers: server.address });
  await client.connect();
  const results = [
    client.submitBackground("a", "1"),
    client.submitBackground("a", "2", { priority: "high" }),
    client.submitBackground("b", "3", { timeout: 10_000 }), // a record: it has a timer
    client.submitBackground("b", "refuse"),
    client.status("H:fault:1", server.address),
    client.submit("c", "5"),
    client.submitBackground("a", "6", { retryOnDisconnect: true }), // a record: it may be resent
    client.submitBackground("d", "7", { reducer: "r" }),
    client.submitBackground("d", "stray"),
    client.submitBackground("e", "9", { runAt: Date.now() + 3_600_000 }),
    client.submitBackground("a", "10", { priority: "low" }),
  ];
  const [a1, a2, b3, refused, status, c5, a6, d7, stray, e9, a10] = await Promise.all(
    results.map((r) => settled(r instanceof Promise ? r : r.handle)),
  );
  expect([a1, a2, b3]).toEqual(["H:fault:1:a", "H:fault:2:a", "H:fault:3:b"]);
  expect(refused).toBeInstanceOf(ServerError);
  expect((refused as ServerError).serverCode).toBe("QUEUE_ERROR");
  expect((status as { known: boolean }).known).toBe(true);
  expect([c5, a6, d7]).toEqual(["H:fault:5:c", "H:fault:6:a", "H:fault:7:d"]);
  expect(stray).toBeInstanceOf(ProtocolError);
  expect((stray as ProtocolError).code).toBe("UNEXPECTED_PACKET");
  expect([e9, a10]).toEqual(["H:fault:9:e", "H:fault:10:a"]);
  // Every submit was sent on the ready connection, none was held back.
  expect(server.received.filter((p) => SUBMITS.has(p.type)).map((p) => p.arg(0))).toEqual([
    "a",
    "a",
    "b",
    "b",
    "c",
    "a",
    "d",
    "d",
    "e",
    "a",
  ]);
  expect(client.servers()[0]!.inFlight).toEqual({ requests: 0, jobs: 1 }); // c5 waits for its result
});

test("client background - a lost connection rejects each pending background submit with sent: true, naming its own function", async () => {
  let answer = 2; // the first two are created, the rest wait
  await using server = await startFaultServer({
    reply(p: FaultPacket) {
      if (p.type === PacketType.OPTION_REQ) return [[PacketType.OPTION_RES, p.arg(0)]];
      if (SUBMITS.has(p.type)) return answer-- > 0 ? [[PacketType.JOB_CREATED, `H:${p.arg(1)}`]] : [];
    },
  });
  await using client = new Client({ servers: server.address, reconnect: { initialDelay: 5000 } });
  await client.connect();
  const fns = ["a", "a", "a", "b", "b", "a", "c", "c", "a"];
  const pending = fns.map((fn, i) => client.submitBackground(fn, `${i}`, { unique: `u${i}` }));
  expect(await pending[0]).toBe("H:u0");
  expect(await pending[1]).toBe("H:u1");
  await server.waitFor((p) => p.type === PacketType.SUBMIT_JOB_BG && p.arg(1) === `u${fns.length - 1}`);
  expect(client.servers()[0]!.inFlight.requests).toBe(fns.length - 2);
  server.peers[0]!.close();
  for (let i = 2; i < fns.length; i++) {
    const error = await settled(pending[i]!);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).code).toBe("CONNECTION_LOST");
    expect((error as ConnectionError).sent).toBe(true);
    expect((error as ConnectionError).message).toContain(`submit to ${fns[i]} waited`);
    expect((error as ConnectionError).message).toContain(server.address);
  }
  expect(client.servers()[0]!.inFlight).toEqual({ requests: 0, jobs: 0 });
});

test("client background - close rejects pending background submits with CLOSED, sent: true", async () => {
  await using server = await startFaultServer({
    reply(p: FaultPacket) {
      if (p.type === PacketType.OPTION_REQ) return [[PacketType.OPTION_RES, p.arg(0)]];
    },
  });
  const client = new Client({ servers: server.address });
  await client.connect();
  const pending = ["x", "y", "x"].map((fn, i) => client.submitBackground(fn, "p", { unique: `u${i}` }));
  await server.waitFor((p) => p.type === PacketType.SUBMIT_JOB_BG && p.arg(1) === "u2");
  await client.close();
  const errors = await Promise.all(pending.map(settled));
  expect(errors.map((e) => (e as ConnectionError).code)).toEqual(["CLOSED", "CLOSED", "CLOSED"]);
  expect(errors.map((e) => (e as ConnectionError).sent)).toEqual([true, true, true]);
  expect((errors[1] as Error).message).toContain("submit to y");
});

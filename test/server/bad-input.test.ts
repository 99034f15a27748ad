/**
 * Bad input costs only its own connection: a decoder error gets an ERROR packet and a close;
 * a peer that does not read is paused, and dropped when forwarded data for it piles up past
 * `maxPendingOutput`; every other connection keeps working.
 *
 * DIFFERENCES from gearmand 1.1.20, which (checked by hand) closes silently on a bad magic or an
 * unknown type number, keeps a connection that sent a \0RES header or type 5 (ERROR only),
 * answers a GRAB_JOB with a body as if it had none, and waits for more bytes when a packet has
 * too few arguments: the embedded server answers ERROR and closes in all of these cases.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { encodePacket } from "../../src/protocol/encode.ts";
import { PacketType as T } from "../../src/protocol/packets.ts";
import { startServer, type EmbeddedServer } from "../../src/server/server.ts";
import { RawPeer } from "../support/raw-peer.ts";

const servers: EmbeddedServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

async function server(options: Parameters<typeof startServer>[0] = {}): Promise<EmbeddedServer> {
  const s = await startServer({ port: 0, firstHandle: 1, ...options });
  servers.push(s);
  return s;
}

function header(magic: string, type: number, size: number): Buffer {
  const b = Buffer.alloc(12);
  b.write(magic, 0, "latin1");
  b.writeUInt32BE(type, 4);
  b.writeUInt32BE(size, 8);
  return b;
}

/** Sends bytes; returns what came back (rendered) and whether the server closed. */
async function probe(port: number, bytes: Uint8Array): Promise<{ got: string[]; closed: boolean }> {
  const p = await RawPeer.connect(port);
  p.write(bytes);
  await Promise.race([p.closedPromise, Bun.sleep(300)]);
  const got = (await p.drain(0)).map((i) => (i.type === "text" ? `text:${i.line}` : `${i.name}(${i.args[0]})`));
  const closed = p.closed;
  p.terminate();
  return { got, closed };
}

describe("bad input - decoder errors", () => {
  const cases: [string, Uint8Array, string[]][] = [
    ["bad magic", Buffer.concat([header("\0XYZ", T.ECHO_REQ, 2), Buffer.from("hi")]), ["ERROR(INVALID_MAGIC)"]],
    ["response magic", Buffer.concat([header("\0RES", T.ECHO_REQ, 2), Buffer.from("hi")]), ["ERROR(INVALID_MAGIC)"]],
    ["unknown type 5", header("\0REQ", 5, 0), ["ERROR(INVALID_COMMAND)"]],
    ["unknown type 1000", header("\0REQ", 1000, 0), ["ERROR(INVALID_COMMAND)"]],
    [
      "too few arguments",
      Buffer.concat([header("\0REQ", T.SUBMIT_JOB, 3), Buffer.from("abc")]),
      ["ERROR(INVALID_PACKET)"],
    ],
    [
      "body on a no-argument packet",
      Buffer.concat([header("\0REQ", T.GRAB_JOB, 3), Buffer.from("abc")]),
      ["ERROR(INVALID_PACKET)"],
    ],
    ["oversized packet", header("\0REQ", T.ECHO_REQ, 0x7fffffff), ["ERROR(ARGUMENT_TOO_LARGE)"]],
    ["admin line longer than 8 KiB", Buffer.from(`${"x".repeat(10_000)}\n`), []],
    [
      "a good packet, then garbage",
      Buffer.concat([encodePacket(T.ECHO_REQ, ["ok"]), Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])]),
      ["ECHO_RES(ok)", "ERROR(INVALID_MAGIC)"],
    ],
  ];
  for (const [name, bytes, expected] of cases) {
    test(`bad input - ${name}: ERROR (when it can be told) and the connection is closed`, async () => {
      const s = await server();
      using bystander = await RawPeer.connect(s.port);
      const { got, closed } = await probe(s.port, bytes);
      expect(got).toEqual(expected);
      expect(closed).toBe(true);
      bystander.send(T.ECHO_REQ, "still here");
      expect(await bystander.syncRendered()).toEqual(["ECHO_RES(still here)"]);
      expect(s.stats().connections).toBe(1);
    });
  }

  test("bad input - maxPacketSize is the limit, and a packet under it is served", async () => {
    const s = await server({ maxPacketSize: 64 * 1024 });
    const ok = await probe(s.port, encodePacket(T.ECHO_REQ, [new Uint8Array(64 * 1024)]));
    expect(ok.got).toEqual([`ECHO_RES(${"\0".repeat(64 * 1024)})`]);
    expect(ok.closed).toBe(false);
    const big = await probe(s.port, encodePacket(T.ECHO_REQ, [new Uint8Array(64 * 1024 + 1)]));
    expect(big.got).toEqual(["ERROR(ARGUMENT_TOO_LARGE)"]);
    expect(big.closed).toBe(true);
  });

  test("bad input - a worker that breaks its stream with a job in hand: the job is re-queued", async () => {
    const s = await server();
    using c = await RawPeer.connect(s.port);
    c.send(T.SUBMIT_JOB, "f", "", "x");
    await c.sync();
    const bad = await RawPeer.connect(s.port);
    bad.send(T.CAN_DO, "f");
    bad.send(T.GRAB_JOB);
    expect(await bad.syncRendered()).toEqual([expect.stringMatching(/^JOB_ASSIGN\(H:1,f,x\)$/)]);
    bad.write(header("\0XYZ", 1, 0));
    await bad.closedPromise;
    using w = await RawPeer.connect(s.port);
    w.send(T.CAN_DO, "f");
    w.send(T.GRAB_JOB);
    const [assign] = await w.syncItems();
    w.send(T.WORK_COMPLETE, (assign as { args: string[] }).args[0]!, "done");
    await w.sync();
    expect(await c.syncRendered()).toEqual(["WORK_COMPLETE(H:1,done)"]);
  });
});

describe("bad input - peers that do not read", () => {
  /** A client socket that does not read (pause) and writes whole ECHO_REQ batches. */
  async function pipeliner(port: number) {
    let received = 0;
    const sock = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: { data: (_s, d) => void (received += d.length) },
    });
    sock.pause();
    const batch = Buffer.concat(Array.from({ length: 64 }, () => encodePacket(T.ECHO_REQ, ["x".repeat(1024)])));
    let sent = 0;
    let rest: Uint8Array = batch;
    return {
      sock,
      get sent() {
        return sent;
      },
      get received() {
        return received;
      },
      /** Writes until `limit` bytes went out or the kernel takes no more for `ms`. */
      async write(limit: number, ms: number) {
        const deadline = Date.now() + ms;
        while (Date.now() < deadline && sent < limit) {
          const n = Math.max(0, sock.write(rest));
          sent += n;
          rest = n < rest.length ? rest.subarray(n) : batch;
          await Bun.sleep(rest === batch ? 0 : 10);
        }
      },
      /** Finishes a partly written batch (once the server reads again). */
      async finish() {
        while (rest !== batch) {
          const n = Math.max(0, sock.write(rest));
          sent += n;
          rest = n < rest.length ? rest.subarray(n) : batch;
          if (rest !== batch) await Bun.sleep(10);
        }
      },
    };
  }

  test("bad input - a client that pipelines and reads late: requests held, output bounded, every answer arrives", async () => {
    const s = await server();
    const p = await pipeliner(s.port);
    await p.write(6 * 1024 * 1024, 1500);
    expect(p.received).toBe(0);
    // The server stopped answering once about 1 MiB of replies was unread.
    expect(s.stats().pendingOutput).toBeLessThan(2 * 1024 * 1024);
    using other = await RawPeer.connect(s.port);
    other.send(T.ECHO_REQ, "fine");
    expect(await other.syncRendered()).toEqual(["ECHO_RES(fine)"]);
    p.sock.resume();
    await p.finish();
    const until = Date.now() + 3000;
    while (p.received < p.sent && Date.now() < until) await Bun.sleep(10);
    expect(p.received).toBe(p.sent); // an ECHO_RES is as long as its ECHO_REQ
    p.sock.terminate();
  });

  test("bad input - a client that pipelines and never reads is dropped past maxPendingOutput", async () => {
    const s = await server({ maxPendingOutput: 512 * 1024 });
    using bystander = await RawPeer.connect(s.port);
    const p = await pipeliner(s.port);
    const until = Date.now() + 3000;
    while (s.stats().connections > 1 && Date.now() < until) await p.write(Number.MAX_SAFE_INTEGER, 50);
    expect(s.stats().connections).toBe(1);
    expect(s.stats().pendingOutput).toBe(0);
    expect(p.received).toBe(0);
    bystander.send(T.ECHO_REQ, "fine");
    expect(await bystander.syncRendered()).toEqual(["ECHO_RES(fine)"]);
    p.sock.terminate();
  });

  test("bad input - a peer that hangs up while its replies pile up is cleaned up", async () => {
    const s = await server();
    const p = await pipeliner(s.port);
    await p.write(6 * 1024 * 1024, 1000);
    expect(s.stats().connections).toBe(1);
    p.sock.end();
    const until = Date.now() + 3000;
    while (s.stats().connections > 0 && Date.now() < until) await Bun.sleep(10);
    expect(s.stats().connections).toBe(0);
    expect(s.stats().pendingOutput).toBe(0);
    p.sock.terminate();
  });

  test("bad input - a client that stops reading while a worker streams to it is dropped past maxPendingOutput", async () => {
    const s = await server({ maxPendingOutput: 256 * 1024 });
    const sock = await Bun.connect({ hostname: "127.0.0.1", port: s.port, socket: { data() {} } });
    sock.write(encodePacket(T.SUBMIT_JOB, ["stream", "", "go"]));
    await Bun.sleep(50);
    sock.pause();
    using w = await RawPeer.connect(s.port);
    w.send(T.CAN_DO, "stream");
    w.send(T.GRAB_JOB);
    const [assign] = await w.syncItems();
    const handle = (assign as { args: string[] }).args[0]!;
    const chunk = "y".repeat(64 * 1024);
    for (let i = 0; i < 2000 && s.stats().connections > 1; i++) {
      w.send(T.WORK_DATA, handle, chunk);
      if (i % 16 === 15) await w.sync();
    }
    expect(s.stats().connections).toBe(1); // only the worker is left
    expect(s.stats().pendingOutput).toBeLessThan(1024 * 1024);
    // The worker is unharmed; the job is finished normally (nobody waits for it any more).
    w.send(T.WORK_COMPLETE, handle, "done");
    expect(await w.syncRendered()).toEqual([]);
    expect(s.stats().jobs).toBe(0);
    sock.terminate();
  });
});

describe("bad input - dropping a connection in the middle of a fan-out", () => {
  test("bad input - a sleeping worker dropped while NOOPs go out: the others are still woken", async () => {
    const s = await server({ maxPendingOutput: 4096 });
    // The bad worker registers first, so it is woken first; then it stops reading and floods.
    const bad = await RawPeer.connect(s.port);
    bad.send(T.CAN_DO, "f");
    bad.send(T.PRE_SLEEP);
    await bad.sync();
    using w2 = await RawPeer.connect(s.port);
    using w3 = await RawPeer.connect(s.port);
    for (const w of [w2, w3]) {
      w.send(T.CAN_DO, "f");
      w.send(T.PRE_SLEEP);
      await w.sync();
    }
    const sock = (bad as unknown as { socket: { pause(): void; write(b: Uint8Array): number } }).socket;
    sock.pause();
    const echo = encodePacket(T.ECHO_REQ, [new Uint8Array(60 * 1024)]);
    // Fill the kernel buffers until the server holds unread replies for it.
    const until = Date.now() + 3000;
    while (s.stats().pendingOutput <= 4096 && Date.now() < until) {
      sock.write(echo);
      await Bun.sleep(5);
    }
    expect(s.stats().pendingOutput).toBeGreaterThan(4096);
    expect(s.stats().connections).toBe(3);
    using c = await RawPeer.connect(s.port);
    c.send(T.SUBMIT_JOB_BG, "f", "", "x");
    expect(await c.syncRendered()).toEqual(["JOB_CREATED(H:1)"]);
    expect(await w2.sync()).toEqual(["NOOP"]);
    expect(await w3.sync()).toEqual(["NOOP"]);
    expect(s.stats().connections).toBe(3); // the bad worker is gone
    bad.terminate();
  });
});

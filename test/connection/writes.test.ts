/**
 * Writing through a Connection: coalescing, partial writes and drain under backpressure,
 * writes before ready and after close, and socket options.
 */
import { expect, test } from "bun:test";
import { ConnectionError } from "../../src/errors.ts";
import { PacketDecoder } from "../../src/protocol/decode.ts";
import { encodeResponse } from "../../src/protocol/encode.ts";
import { PacketType, REQ_MAGIC, type Packet } from "../../src/protocol/packets.ts";
import { startFaultServer } from "../support/fault-server.ts";
import { recordedConnection, testConfig } from "./util.ts";

test("writes - before connect and after close, writes throw ConnectionError", async () => {
  await using server = await startFaultServer();
  await using rec = recordedConnection(server.address, testConfig());
  expect(() => rec.conn.send(PacketType.ECHO_REQ, "early")).toThrow(ConnectionError);
  try {
    rec.conn.write(new Uint8Array([1]));
  } catch (e) {
    expect((e as ConnectionError).code).toBe("NOT_CONNECTED");
  }
  await rec.conn.connect();
  await rec.conn.close();
  expect(rec.conn.state).toBe("closed");
  let error: unknown = null;
  try {
    rec.conn.send(PacketType.ECHO_REQ, "late");
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConnectionError);
  expect((error as ConnectionError).code).toBe("CLOSED");
  expect((error as ConnectionError).message).toContain(server.address);
  expect(() => rec.conn.sendText("status")).toThrow(ConnectionError);
  expect(rec.eventTypes()).toEqual(["connecting", "ready", "closed"]);
});

test("writes - close() flushes what was queued before ending the socket", async () => {
  await using server = await startFaultServer();
  await using rec = recordedConnection(server.address, testConfig());
  await rec.conn.connect();
  for (let i = 0; i < 100; i++) rec.conn.send(PacketType.CAN_DO, `fn-${i}`);
  await rec.conn.close();
  await server.waitFor((p) => p.type === PacketType.CAN_DO && p.arg(0) === "fn-99");
  expect(server.received.filter((p) => p.type === PacketType.CAN_DO).map((p) => p.arg(0))).toEqual(
    Array.from({ length: 100 }, (_, i) => `fn-${i}`),
  );
});

test("writes - packets sent in one tick are coalesced into few socket writes", async () => {
  let reads = 0;
  const got: string[] = [];
  const decoder = new PacketDecoder(
    {
      packet: (p: Packet) => got.push(Buffer.from(p.args[0]!).toString()),
      error: (e) => {
        throw e;
      },
    },
    { magic: REQ_MAGIC },
  );
  let echoed = false;
  await using listener = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      binaryType: "uint8array",
      data(s, data) {
        if (!echoed) {
          // The connect probe: answer it, then count the reads of what follows.
          echoed = true;
          s.write(encodeResponse(PacketType.ECHO_RES, "gearbun-hello"));
          return;
        }
        reads++;
        decoder.push(data);
      },
    },
  });
  await using rec = recordedConnection(`127.0.0.1:${listener.port}`, testConfig());
  await rec.conn.connect();
  for (let i = 0; i < 200; i++) rec.conn.send(PacketType.CAN_DO, `f${i}`);
  expect(rec.conn.pendingBytes).toBeGreaterThan(0); // queued, not written yet
  await rec.conn.drained();
  await rec.until(() => got.length === 200, "200 packets");
  expect(got).toEqual(Array.from({ length: 200 }, (_, i) => `f${i}`));
  expect(reads).toBeLessThanOrEqual(3);
});

test("writes - partial writes and drain: several MiB to a server that stops reading arrive whole and in order", async () => {
  const PACKET = 64 * 1024;
  const TOTAL = 24 * 1024 * 1024; // well beyond the loopback socket buffers
  const COUNT = TOTAL / PACKET;
  const HWM = 256 * 1024;
  await using server = await startFaultServer({ reply: (p) => (p.peer.received.length > 1 ? [] : undefined) }); // echo the probe only
  await using rec = recordedConnection(server.address, testConfig({ highWaterMark: HWM }));
  await rec.conn.connect();
  const peer = await server.nextPeer();
  peer.pause();

  const payload = (i: number) => new Uint8Array(PACKET).fill(i & 0xff).fill((i >> 8) & 0xff, 0, 1);
  for (let i = 0; i < COUNT; i++) rec.conn.send(PacketType.ECHO_REQ, payload(i));
  await Bun.sleep(100);
  // The kernel took what it could; the rest waits in the queue for drain.
  const pending = rec.conn.pendingBytes;
  expect(pending).toBeGreaterThan(HWM);
  expect(pending).toBeLessThan(TOTAL + COUNT * 12);
  let writable = false;
  const wait = rec.conn.writable().then(() => {
    writable = true;
  });
  await Bun.sleep(100);
  expect(writable).toBe(false); // still over the high-water mark while the server does not read
  expect(rec.conn.pendingBytes).toBe(pending);

  peer.resume();
  await wait;
  expect(rec.conn.pendingBytes).toBeLessThanOrEqual(HWM);
  await rec.conn.drained();
  expect(rec.conn.pendingBytes).toBe(0);
  await rec.until(() => server.received.length >= COUNT + 1, `${COUNT} packets at the server`, 20_000);
  const echoes = server.received.filter((p) => p.type === PacketType.ECHO_REQ).slice(1); // after the probe
  expect(echoes.length).toBe(COUNT);
  for (let i = 0; i < COUNT; i++) {
    const got = echoes[i]!.args[0]!;
    if (
      got.length !== PACKET ||
      got[0] !== ((i >> 8) & 0xff) ||
      got[1] !== (i & 0xff) ||
      got[PACKET - 1] !== (i & 0xff)
    ) {
      throw new Error(`packet ${i} arrived wrong or out of order`);
    }
  }
  expect(server.errors).toEqual([]);
}, 30_000);

test("writes - writable() waiters reject with the loss error when the socket is lost", async () => {
  await using server = await startFaultServer({ reply: (p) => (p.peer.received.length > 1 ? [] : undefined) });
  await using rec = recordedConnection(server.address, testConfig({ highWaterMark: 1024, reconnect: () => null }));
  await rec.conn.connect();
  const peer = await server.nextPeer();
  peer.pause();
  for (let i = 0; i < 256; i++) rec.conn.send(PacketType.ECHO_REQ, new Uint8Array(64 * 1024));
  await Bun.sleep(50);
  expect(rec.conn.pendingBytes).toBeGreaterThan(1024);
  const wait = rec.conn.writable();
  await server.stop();
  const error = await wait.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectionError);
  expect((error as ConnectionError).code).toBe("CONNECTION_LOST");
  expect(rec.conn.pendingBytes).toBe(0);
});

test("writes - keepalive is on the socket when enabled (seen by ss), off when disabled; both connect", async () => {
  await using server = await startFaultServer();
  for (const keepAlive of [true, false]) {
    await using rec = recordedConnection(server.address, testConfig({ keepAlive, keepAliveDelay: 7000 }));
    await rec.conn.connect();
    rec.conn.send(PacketType.ECHO_REQ, "ka");
    await rec.packetsReach(1);
    if (Bun.which("ss") !== null) {
      // Our side of the connection: its timer column shows keepalive when SO_KEEPALIVE is on.
      const out = Bun.spawnSync([
        "ss",
        "-tnoH",
        "state",
        "established",
        `( dport = :${server.port} )`,
      ]).stdout.toString();
      expect(out).not.toBe("");
      if (keepAlive) expect(out).toContain("keepalive");
      else expect(out).not.toContain("keepalive");
    }
  }
});

test("writes - close() with queued bytes leaves no timer that keeps the process alive", async () => {
  // A child process closes a connection right after queueing a packet (the flush-on-close path)
  // with a long connectTimeout; once the flush is done nothing may keep it alive.
  const script = `
    import { Connection } from ${JSON.stringify(`${import.meta.dir}/../../src/connection/connection.ts`)};
    import { parseAddress } from ${JSON.stringify(`${import.meta.dir}/../../src/connection/servers.ts`)};
    import { PacketType } from ${JSON.stringify(`${import.meta.dir}/../../src/protocol/packets.ts`)};
    import { startServer } from ${JSON.stringify(`${import.meta.dir}/../../src/server/server.ts`)};
    const server = await startServer({ port: 0 });
    const conn = new Connection(parseAddress(server.address), {
      connectTimeout: 60_000, keepAlive: false, keepAliveDelay: 10_000, reconnect: () => null,
      heartbeatInterval: 0, heartbeatTimeout: 1000, maxPacketSize: 1 << 20, highWaterMark: 1 << 20, handshake: true,
    }, { packet() {} });
    await conn.connect();
    conn.send(PacketType.CAN_DO, "x");
    await conn.close();
    await server.stop();
    console.log("closed");
  `;
  const child = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "inherit" });
  let limit: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<boolean>((resolve) => (limit = setTimeout(() => resolve(false), 15_000)));
  const exited = await Promise.race([child.exited.then(() => true), late]);
  clearTimeout(limit);
  if (!exited) child.kill();
  expect(await new Response(child.stdout).text()).toContain("closed");
  expect(exited).toBe(true);
}, 20_000);

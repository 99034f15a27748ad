/**
 * The connection heartbeat against the fault server: an idle connection pings once per
 * interval, a busy one never, a silent server is dropped with HEARTBEAT_TIMEOUT and redialled,
 * and a busy event loop on our side is not taken for silence.
 */
import { expect, test } from "bun:test";
import { Heartbeat } from "../../src/connection/heartbeat.ts";
import { ConnectionError } from "../../src/errors.ts";
import { PacketType } from "../../src/protocol/packets.ts";
import { startFaultServer, type FaultServer } from "../support/fault-server.ts";
import { recordedConnection, testConfig } from "./util.ts";

const HEARTBEAT = "gearbun-heartbeat";

function heartbeatsAt(server: FaultServer): number {
  return server.received.filter((p) => p.type === PacketType.ECHO_REQ && p.arg(0) === HEARTBEAT).length;
}

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // our own code holding the event loop, as a CPU-heavy job or a bulk submit loop does
  }
}

test("heartbeat - an idle connection pings once per interval, and the answers are not passed on", async () => {
  await using server = await startFaultServer();
  await using rec = recordedConnection(server.address, testConfig({ heartbeatInterval: 100, heartbeatTimeout: 1000 }));
  await rec.conn.connect();
  const started = performance.now();
  await Bun.sleep(650);
  const elapsed = performance.now() - started;
  const pings = heartbeatsAt(server);
  // One per interval of silence after the last answer: about elapsed / interval, never more.
  expect(pings).toBeGreaterThanOrEqual(3);
  expect(pings).toBeLessThanOrEqual(Math.ceil(elapsed / 100));
  expect(rec.conn.heartbeats).toBe(pings);
  expect(rec.packets).toEqual([]); // the ECHO_RES answers stay inside the connection
  expect(rec.eventTypes()).toEqual(["connecting", "ready"]);
});

test("heartbeat - a busy connection never pings", async () => {
  await using server = await startFaultServer({
    reply(packet) {
      if (packet.type === PacketType.GET_STATUS) return [[PacketType.STATUS_RES, packet.arg(0), "0", "0", "0", "0"]];
    },
  });
  await using rec = recordedConnection(server.address, testConfig({ heartbeatInterval: 100, heartbeatTimeout: 1000 }));
  await rec.conn.connect();
  // A request every 20 ms for 600 ms: an answer arrives far more often than the interval.
  for (let i = 0; i < 30; i++) {
    rec.conn.send(PacketType.GET_STATUS, `H:busy:${i}`);
    await Bun.sleep(20);
  }
  await rec.packetsReach(30);
  expect(heartbeatsAt(server)).toBe(0);
  expect(rec.conn.heartbeats).toBe(0);
});

test("heartbeat - a silent server is dropped with HEARTBEAT_TIMEOUT within interval + timeout, then redialled", async () => {
  await using server = await startFaultServer();
  const interval = 200;
  const timeout = 300;
  await using rec = recordedConnection(
    server.address,
    testConfig({ heartbeatInterval: interval, heartbeatTimeout: timeout, connectTimeout: 300, reconnect: () => 50 }),
  );
  await rec.conn.connect();
  const silentFrom = performance.now();
  server.faults.silent = true;
  const lost = await rec.event("disconnected", 1, 5000);
  const detection = performance.now() - silentFrom;
  console.log(
    `heartbeat detection (connection, interval ${interval} + timeout ${timeout}): ${Math.round(detection)} ms`,
  );
  if (lost.type !== "disconnected") throw new Error("unreachable");
  expect(lost.wasReady).toBe(true);
  expect(lost.error).toBeInstanceOf(ConnectionError);
  expect(lost.error.code).toBe("HEARTBEAT_TIMEOUT");
  expect(lost.error.message).toContain(server.address);
  expect(lost.error.message).toMatch(/silent for \d+ ms/);
  expect(detection).toBeGreaterThanOrEqual(timeout);
  expect(detection).toBeLessThan(interval + timeout + 1500);
  // While silent, redials open a socket but get no answer to the connect probe.
  await rec.event("disconnected", 2, 5000);
  expect(rec.conn.isReady).toBe(false);
  server.faults.silent = false;
  await rec.event("ready", 2, 5000);
  expect(server.peers.length).toBeGreaterThanOrEqual(3);
});

test("heartbeat - heartbeatInterval 0 sends no ping and never drops a silent server", async () => {
  await using server = await startFaultServer();
  await using rec = recordedConnection(server.address, testConfig({ heartbeatInterval: 0, heartbeatTimeout: 100 }));
  await rec.conn.connect();
  server.faults.silent = true;
  await Bun.sleep(500);
  expect(rec.conn.heartbeats).toBe(0);
  expect(rec.eventTypes()).toEqual(["connecting", "ready"]);
});

test("heartbeat - our own loop blocked far past the timeout while a ping is out is not silence", async () => {
  // The server is in this process: blocking in its ECHO handler blocks the connection too, and
  // its answer is written only when the block ends, long after the ping's timeout was due.
  await using server = await startFaultServer({
    reply(packet) {
      if (packet.type === PacketType.ECHO_REQ && packet.arg(0) === HEARTBEAT) busyWait(1000);
    },
  });
  await using rec = recordedConnection(server.address, testConfig({ heartbeatInterval: 100, heartbeatTimeout: 100 }));
  await rec.conn.connect();
  await Bun.sleep(1500);
  expect(rec.conn.heartbeats).toBeGreaterThanOrEqual(1);
  expect(rec.eventTypes()).toEqual(["connecting", "ready"]);
});

test("heartbeat - an answer that arrived while our loop was blocked is seen before the timeout is declared", async () => {
  // Blocked for 1.3 s with a 1 s timeout: the timer fires 0.3 s late (not late enough to start
  // over), and the answer written at the end of the block must be read before the verdict.
  let blocks = 0;
  await using server = await startFaultServer({
    reply(packet) {
      if (packet.type === PacketType.ECHO_REQ && packet.arg(0) === HEARTBEAT && blocks++ === 0) busyWait(1300);
    },
  });
  await using rec = recordedConnection(server.address, testConfig({ heartbeatInterval: 100, heartbeatTimeout: 1000 }));
  await rec.conn.connect();
  await Bun.sleep(1800);
  expect(blocks).toBeGreaterThanOrEqual(2); // pinging went on after the block
  expect(rec.eventTypes()).toEqual(["connecting", "ready"]);
});

test("connect timeout - our own loop blocked past connectTimeout right after the dial still connects", async () => {
  await using server = await startFaultServer();
  await using rec = recordedConnection(server.address, testConfig({ connectTimeout: 1000, reconnect: () => null }));
  const connected = rec.conn.connect();
  busyWait(1300);
  await connected;
  expect(rec.eventTypes()).toEqual(["connecting", "ready"]);
});

test("heartbeat policy - a ping answered a round trip after it went out is followed by the next one at the next check", () => {
  const beat = new Heartbeat(5000, 5000);
  expect(beat.reset()).toBe(5000);
  // Ready at 0, nothing received: the first check pings.
  expect(beat.check(5000, 0)).toEqual({ kind: "ping", ms: 5000 });
  expect(beat.awaitingAnswer).toBe(true);
  // Answered 0.2 ms later; the check an interval after the ping pings again at once rather than
  // waiting out the 0.2 ms the answer came after it (one timer per ping).
  expect(beat.check(10_000, 5000.2)).toEqual({ kind: "ping", ms: 5000 });
  // Data 1 s before the check: the connection is busy enough, the next check is when the
  // interval since that data ends.
  expect(beat.check(15_000, 14_000)).toEqual({ kind: "wait", ms: 4000 });
  expect(beat.awaitingAnswer).toBe(false);
  // Silent past the timeout while a ping is out: dead, with the silence measured from the last data.
  expect(beat.check(19_000, 14_000)).toEqual({ kind: "ping", ms: 5000 });
  expect(beat.check(24_000, 14_000)).toEqual({ kind: "dead", silentMs: 10_000 });
});

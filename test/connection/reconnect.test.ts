/**
 * Reconnecting: the pure backoff policy, and a Connection that loses real gearmand (killed) and
 * finds it again (restarted), with its state events in the documented order.
 */
import { describe, expect, test } from "bun:test";
import type { ConnectionEvent } from "../../src/connection/connection.ts";
import { BACKOFF_DEFAULTS, exponentialBackoff, noReconnect } from "../../src/connection/reconnect.ts";
import { ConnectionError } from "../../src/errors.ts";
import { PacketType } from "../../src/protocol/packets.ts";
import { startFaultServer } from "../support/fault-server.ts";
import { describeGearmand, freePort, logsOnFailure, startGearmand } from "../support/gearmand.ts";
import { recordedConnection, testConfig } from "./util.ts";

describe("reconnect policy", () => {
  test("reconnect - exponential backoff grows by the factor from the initial delay", () => {
    const policy = exponentialBackoff({ initialDelay: 100, factor: 2, maxDelay: 100_000, jitter: 0 });
    expect([1, 2, 3, 4, 5].map(policy)).toEqual([100, 200, 400, 800, 1600]);
    const triple = exponentialBackoff({ initialDelay: 10, factor: 3, maxDelay: 100_000, jitter: 0 });
    expect([1, 2, 3].map(triple)).toEqual([10, 30, 90]);
  });

  test("reconnect - the delay is capped at maxDelay, also for huge attempt numbers", () => {
    const policy = exponentialBackoff({ initialDelay: 100, maxDelay: 1000, jitter: 0 });
    expect([4, 5, 6, 50, 5000].map(policy)).toEqual([800, 1000, 1000, 1000, 1000]);
  });

  test("reconnect - jitter stays within ±jitter of the base and under the cap", () => {
    const at = (r: number) => exponentialBackoff({ initialDelay: 1000, maxDelay: 1500, jitter: 0.2, random: () => r });
    expect(at(0)(1)).toBe(800); // base − 20 %
    expect(at(0.5)(1)).toBe(1000); // base
    expect(at(0.999999)(1)).toBe(1200); // just under base + 20 %
    expect(at(0.999999)(2)).toBe(1500); // base 1500 (capped); + jitter still capped
    expect(at(0)(2)).toBe(1200);
    // Seeded sweep: every value within bounds.
    let x = 1;
    const random = () => (x = (x * 48271) % 2147483647) / 2147483647;
    const policy = exponentialBackoff({ initialDelay: 100, maxDelay: 5000, jitter: 0.2, random });
    for (let attempt = 1; attempt <= 30; attempt++) {
      const base = Math.min(5000, 100 * 2 ** (attempt - 1));
      for (let k = 0; k < 50; k++) {
        const d = policy(attempt)!;
        expect(d).toBeGreaterThanOrEqual(Math.floor(base * 0.8));
        expect(d).toBeLessThanOrEqual(Math.min(5000, Math.ceil(base * 1.2)));
      }
    }
  });

  test("reconnect - maxAttempts: attempts 1…max get a delay, the next gets null", () => {
    const policy = exponentialBackoff({ maxAttempts: 3, jitter: 0 });
    expect([1, 2, 3, 4, 5].map(policy)).toEqual([100, 200, 400, null, null]);
    expect(exponentialBackoff({ maxAttempts: 0 })(1)).toBeNull();
  });

  test("reconnect - defaults are 100 ms doubling to 5 s with ±20 % jitter, never giving up", () => {
    expect(BACKOFF_DEFAULTS).toEqual({
      initialDelay: 100,
      maxDelay: 5000,
      factor: 2,
      jitter: 0.2,
      maxAttempts: Infinity,
    });
    const policy = exponentialBackoff({ random: () => 0.5 });
    expect([1, 2, 7, 100_000].map(policy)).toEqual([100, 200, 5000, 5000]);
    expect(noReconnect(1)).toBeNull();
  });
});

/** Event types, with attempt numbers for connecting/reconnecting, e.g. "reconnecting#1". */
const describeEvents = (events: readonly ConnectionEvent[]): string[] =>
  events.map((e) => (e.type === "connecting" || e.type === "reconnecting" ? `${e.type}#${e.attempt}` : e.type));

describe("reconnect against fault servers", () => {
  test("reconnect - the policy sees 1 for the first retry after a lost connection, and counts up", async () => {
    const seen: number[] = [];
    await using server = await startFaultServer();
    await using rec = recordedConnection(
      server.address,
      testConfig({
        reconnect: (attempt) => {
          seen.push(attempt);
          return attempt <= 2 ? 10 : null;
        },
      }),
    );
    await rec.conn.connect();
    await server.stop(); // listener gone: the loss, then refused redials
    await rec.event("closed");
    expect(seen).toEqual([1, 2, 3]);
    expect(describeEvents(rec.events)).toEqual([
      "connecting#1",
      "ready",
      "disconnected",
      "reconnecting#1",
      "connecting#1",
      "disconnected",
      "reconnecting#2",
      "connecting#2",
      "disconnected",
      "closed",
    ]);
  });

  test("reconnect - a failed first dial is retried per the policy with the same numbering", async () => {
    const seen: number[] = [];
    const port = freePort(); // nothing listens here
    await using rec = recordedConnection(
      `127.0.0.1:${port}`,
      testConfig({
        reconnect: (attempt) => {
          seen.push(attempt);
          return attempt <= 1 ? 10 : null;
        },
      }),
    );
    const error = await rec.conn.connect().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).code).toBe("CONNECT_FAILED");
    expect((error as ConnectionError).message).toContain(`127.0.0.1:${port}`);
    await rec.event("closed");
    expect(seen).toEqual([1, 2]);
    expect(describeEvents(rec.events)).toEqual([
      "connecting#1",
      "disconnected",
      "reconnecting#1",
      "connecting#2",
      "disconnected",
      "closed",
    ]);
  });

  test("reconnect - a policy returning null closes the connection with a closed event", async () => {
    await using server = await startFaultServer();
    await using rec = recordedConnection(server.address, testConfig({ reconnect: () => null }));
    await rec.conn.connect();
    server.peers[0]!.close();
    await rec.event("closed");
    expect(rec.eventTypes()).toEqual(["connecting", "ready", "disconnected", "closed"]);
    expect(rec.conn.state).toBe("closed");
    const lost = rec.events[2]!;
    expect(lost.type === "disconnected" && lost.wasReady && lost.error.code).toBe("CONNECTION_LOST");
    expect(() => rec.conn.send(PacketType.ECHO_REQ, "x")).toThrow(ConnectionError);
    await expect(rec.conn.connect()).rejects.toMatchObject({ code: "CLOSED" });
  });

  test("reconnect - close() while waiting to redial stops for good", async () => {
    await using server = await startFaultServer();
    await using rec = recordedConnection(server.address, testConfig({ reconnect: () => 200 }));
    await rec.conn.connect();
    server.peers[0]!.close();
    await rec.event("reconnecting");
    expect(rec.conn.state).toBe("reconnecting");
    await rec.conn.close();
    await Bun.sleep(300); // past the retry delay: no new dial
    expect(rec.eventTypes()).toEqual(["connecting", "ready", "disconnected", "reconnecting", "closed"]);
    expect(server.peers.length).toBe(1);
  });

  test("reconnect - a connection lost while ready reconnects to the same server and works", async () => {
    await using server = await startFaultServer();
    await using rec = recordedConnection(server.address, testConfig({ reconnect: () => 5 }));
    await rec.conn.connect();
    server.peers[0]!.close();
    await rec.event("ready", 2);
    rec.conn.send(PacketType.ECHO_REQ, "again");
    await rec.packetsReach(1);
    expect(server.peers.length).toBe(2);
    expect(server.peers[1]!.received.map((p) => p.arg(0)).at(-1)).toBe("again");
    expect(rec.conn.connects).toBe(2);
  });

  test("reconnect - one dial in flight: repeated connect() calls open one socket", async () => {
    await using server = await startFaultServer();
    await using rec = recordedConnection(server.address, testConfig());
    await Promise.all([rec.conn.connect(), rec.conn.connect(), rec.conn.connect()]);
    await rec.conn.connect();
    await Bun.sleep(20);
    expect(server.peers.length).toBe(1);
    expect(rec.eventTypes()).toEqual(["connecting", "ready"]);
  });
});

describeGearmand("reconnect against gearmand", () => {
  test(
    "reconnect - gearmand killed and restarted: events in order, then echoes work again",
    logsOnFailure(async () => {
      await using gearmand = await startGearmand();
      await using rec = recordedConnection(
        gearmand.address,
        testConfig({ reconnect: exponentialBackoff({ initialDelay: 20, maxDelay: 100, jitter: 0 }) }),
      );
      await rec.conn.connect();
      rec.conn.send(PacketType.ECHO_REQ, "before");
      await rec.packetsReach(1);

      await gearmand.kill();
      // Let at least one redial fail against the dead port before bringing gearmand back.
      await rec.until(() => rec.events.filter((e) => e.type === "disconnected").length >= 2, "a failed redial");
      const readyBefore = rec.events.filter((e) => e.type === "ready").length;
      await gearmand.restart();
      await rec.until(() => rec.events.filter((e) => e.type === "ready").length > readyBefore, "ready again", 10_000);

      const names = describeEvents(rec.events);
      // connecting#1 ready | disconnected reconnecting#1 | (connecting#n disconnected reconnecting#n+1)* | connecting#n ready
      expect(names.slice(0, 4)).toEqual(["connecting#1", "ready", "disconnected", "reconnecting#1"]);
      expect(names.at(-1)).toBe("ready");
      const middle = names.slice(4, -1);
      let n = 1;
      for (let i = 0; i < middle.length - 1; i += 3) {
        expect(middle.slice(i, i + 3)).toEqual([`connecting#${n}`, "disconnected", `reconnecting#${n + 1}`]);
        n++;
      }
      expect(middle.at(-1)).toBe(`connecting#${n}`);
      expect(n).toBeGreaterThanOrEqual(2);

      const losses = rec.events.filter((e) => e.type === "disconnected");
      expect(losses.map((e) => e.type === "disconnected" && e.wasReady)).toEqual([
        true,
        ...losses.slice(1).map(() => false),
      ]);
      expect(losses[0]!.type === "disconnected" && losses[0]!.error.code).toBe("CONNECTION_LOST");
      for (const e of losses.slice(1)) expect(e.type === "disconnected" && e.error.code).toBe("CONNECT_FAILED");
      for (const e of rec.events) expect(e.server).toBe(gearmand.address);

      expect(rec.conn.state).toBe("ready");
      expect(rec.conn.connects).toBe(2);
      rec.conn.send(PacketType.ECHO_REQ, "after");
      await rec.packetsReach(2);
      expect(Buffer.from(rec.packets[1]!.args[0]!).toString()).toBe("after");
    }),
    30_000,
  );
});

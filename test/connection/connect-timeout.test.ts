/** Connect timeouts: a listener that accepts but never answers the ECHO probe. */
import { expect, test } from "bun:test";
import { ConnectionError } from "../../src/errors.ts";
import { recordedConnection, testConfig } from "./util.ts";

/** A plain listener that accepts, reads, and never writes; counts open sockets. */
function silentListener() {
  let open = 0;
  let maxOpen = 0;
  let accepted = 0;
  let received = 0;
  const listener = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open() {
        accepted++;
        open++;
        maxOpen = Math.max(maxOpen, open);
      },
      data(_s, data) {
        received += data.length;
      },
      close() {
        open--;
      },
    },
  });
  return {
    address: `127.0.0.1:${listener.port}`,
    stats: () => ({ open, maxOpen, accepted, received }),
    [Symbol.dispose]: () => listener.stop(true),
  };
}

test("connect timeout - a listener that never answers fails the dial with CONNECT_TIMEOUT", async () => {
  using silent = silentListener();
  await using rec = recordedConnection(silent.address, testConfig({ connectTimeout: 150, reconnect: () => null }));
  const started = performance.now();
  const error = await rec.conn.connect().then(
    () => null,
    (e: unknown) => e,
  );
  const elapsed = performance.now() - started;
  expect(error).toBeInstanceOf(ConnectionError);
  const e = error as ConnectionError;
  expect(e.code).toBe("CONNECT_TIMEOUT");
  expect(e.server).toBe(silent.address);
  expect(e.message).toContain("150 ms");
  expect(e.message).toContain(silent.address);
  // TCP connected: the message says the server is silent, not unreachable.
  expect(e.message).toStartWith("connected, but no answer to the connect probe (ECHO_REQ) within 150 ms");
  expect(elapsed).toBeGreaterThanOrEqual(140); // not before the timeout
  await rec.event("closed");
  expect(rec.eventTypes()).toEqual(["connecting", "disconnected", "closed"]);
  const lost = rec.events[1]!;
  expect(lost.type === "disconnected" && !lost.wasReady && lost.error).toBe(e);
  expect(rec.conn.state).toBe("closed");
  // The probe was sent, and the timed-out socket is closed on our side.
  await Bun.sleep(20);
  expect(silent.stats()).toMatchObject({ accepted: 1, open: 0 });
  expect(silent.stats().received).toBeGreaterThan(0);
});

test("connect timeout - retries time out one dial at a time, then the policy gives up", async () => {
  using silent = silentListener();
  await using rec = recordedConnection(
    silent.address,
    testConfig({ connectTimeout: 60, reconnect: (attempt) => (attempt <= 2 ? 5 : null) }),
  );
  await expect(rec.conn.connect()).rejects.toMatchObject({ code: "CONNECT_TIMEOUT" });
  await rec.event("closed", 1, 5000);
  expect(rec.eventTypes()).toEqual([
    "connecting",
    "disconnected",
    "reconnecting",
    "connecting",
    "disconnected",
    "reconnecting",
    "connecting",
    "disconnected",
    "closed",
  ]);
  for (const e of rec.events) if (e.type === "disconnected") expect(e.error.code).toBe("CONNECT_TIMEOUT");
  await Bun.sleep(20);
  expect(silent.stats()).toMatchObject({ accepted: 3, maxOpen: 1, open: 0 });
});

test("connect timeout - close() during a hanging dial ends it with closed and rejects connect()", async () => {
  using silent = silentListener();
  await using rec = recordedConnection(silent.address, testConfig({ connectTimeout: 5000 }));
  const pending = rec.conn.connect();
  await rec.until(() => silent.stats().accepted === 1, "accept");
  await rec.conn.close();
  await expect(pending).rejects.toMatchObject({ code: "CLOSED" });
  expect(rec.eventTypes()).toEqual(["connecting", "closed"]);
  await Bun.sleep(20);
  expect(silent.stats().open).toBe(0);
});

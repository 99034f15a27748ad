/**
 * startServer / stop: addresses, options checked with errors that name the option, a busy port,
 * `await using`, and stop() closing every connection.
 */
import { describe, expect, test } from "bun:test";
import { ConfigError } from "../../src/errors.ts";
import { resolveServerOptions, SERVER_DEFAULTS } from "../../src/options.ts";
import { PacketType as T } from "../../src/protocol/packets.ts";
import { startServer } from "../../src/server/server.ts";
import { RawPeer } from "../support/raw-peer.ts";

describe("lifecycle", () => {
  test("lifecycle - port 0 picks a free port; address is host:port", async () => {
    await using server = await startServer({ port: 0, host: "127.0.0.1" });
    expect(server.port).toBeGreaterThan(0);
    expect(server.address).toBe(`127.0.0.1:${server.port}`);
    using peer = await RawPeer.connect(server.port);
    peer.send(T.ECHO_REQ, "hi");
    expect(await peer.syncRendered()).toEqual(["ECHO_RES(hi)"]);
  });

  test("lifecycle - IPv6 loopback address is bracketed", async () => {
    let server: Awaited<ReturnType<typeof startServer>>;
    try {
      server = await startServer({ port: 0, host: "::1" });
    } catch {
      return; // no IPv6 on this machine
    }
    await using s = server;
    expect(s.address).toBe(`[::1]:${s.port}`);
  });

  test("lifecycle - stop() closes every connection and frees the port; stop twice is fine", async () => {
    const server = await startServer({ port: 0 });
    const peer = await RawPeer.connect(server.port);
    peer.send(T.CAN_DO, "f");
    await peer.sync();
    await server.stop();
    await Promise.race([peer.closedPromise, Bun.sleep(1000)]);
    expect(peer.closed).toBe(true);
    await server.stop();
    // The port can be listened on again.
    await using again = await startServer({ port: server.port });
    expect(again.port).toBe(server.port);
  });

  test("lifecycle - a busy port is a ConfigError naming the option", async () => {
    await using first = await startServer({ port: 0 });
    const error = await startServer({ port: first.port }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).option).toBe("port");
    expect((error as ConfigError).message).toContain(`127.0.0.1:${first.port}`);
  });

  test("lifecycle - options are checked, and defaults are gearmand's", () => {
    const d = resolveServerOptions();
    expect(d.port).toBe(4730);
    expect(d.host).toBe("127.0.0.1");
    expect(d.store).toBeNull();
    expect(d.jobRetries).toBe(SERVER_DEFAULTS.jobRetries);
    expect(d.workerWakeup).toBe(0);
    expect(d.keepAliveDelay).toBe(0);
    expect(d.handlePrefix).toMatch(/^H:.+:$/);
    expect(d.faults).toEqual({ withholdNoop: false, ignoreGrabs: false, dropOnAssign: false });
    for (const [option, value] of [
      ["port", 70000],
      ["port", -1],
      ["port", 1.5],
      ["jobRetries", -2],
      ["workerWakeup", Number.NaN],
      ["keepAliveDelay", -1],
      ["keepAliveDelay", 2.5],
      ["maxPacketSize", 10],
      ["maxPendingOutput", 0],
      ["host", ""],
      ["store", ""],
    ] as const) {
      expect(() => resolveServerOptions({ [option]: value })).toThrow(new RegExp(`^${option}: `));
    }
  });
});

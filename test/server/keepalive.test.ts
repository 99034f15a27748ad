/**
 * TCP keepalive on accepted connections, so a worker that died without a FIN (power loss, a
 * partition) is noticed and its jobs go back to the queue. gearmand sets SO_KEEPALIVE on every
 * accepted connection, and `--keepalive --keepalive-idle N` sets their idle time: gearmand 2.0
 * sets it on each accepted socket, 1.1 on the listening one only, which on Linux comes to the
 * same (accepted sockets inherit it). The embedded server: always on, idle time
 * `keepAliveDelay` (0: the system's).
 *
 * Read from the kernel's own table: /proc/net/tcp column `tr:tm->when` is "02:<ticks left>"
 * while a keepalive timer runs (ticks of 1/100 s).
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { encodePacket } from "../../src/protocol/encode.ts";
import { PacketType } from "../../src/protocol/packets.ts";
import { startServer } from "../../src/server/server.ts";
import { describeGearmand, startGearmand } from "../support/gearmand.ts";

const TICKS_PER_SECOND = 100;
const SYSTEM_IDLE_SECONDS = Number(readFileSync("/proc/sys/net/ipv4/tcp_keepalive_time", "utf8"));

/** The keepalive timer of the server's end of a loopback connection: seconds left, or null if none runs. */
function keepAliveSecondsLeft(serverPort: number, clientPort: number): number | null {
  const hex = (n: number): string => n.toString(16).toUpperCase().padStart(4, "0");
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1]?.endsWith(`:${hex(serverPort)}`) && f[2]?.endsWith(`:${hex(clientPort)}`)) {
      const [timer, ticks] = f[5]!.split(":");
      return timer === "02" ? Number.parseInt(ticks!, 16) / TICKS_PER_SECOND : null;
    }
  }
  throw new Error(`no connection 127.0.0.1:${serverPort} <- :${clientPort} in /proc/net/tcp`);
}

/** Connects, waits for an ECHO round trip (so the server has accepted), and reads the timer of its end. */
async function acceptedKeepAlive(port: number): Promise<number | null> {
  const echoed = Promise.withResolvers<void>();
  const client = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data: () => echoed.resolve() } });
  try {
    client.write(encodePacket(PacketType.ECHO_REQ, ["ping"]));
    await echoed.promise;
    return keepAliveSecondsLeft(port, client.localPort);
  } finally {
    client.end();
  }
}

test("keepalive - embedded: accepted connections have it, with keepAliveDelay as the idle time (default: the system's)", async () => {
  await using plain = await startServer({ port: 0 });
  const left = await acceptedKeepAlive(plain.port);
  expect(left).not.toBeNull();
  expect(left!).toBeGreaterThan(SYSTEM_IDLE_SECONDS - 60);
  await using quick = await startServer({ port: 0, keepAliveDelay: 5000 });
  const quickLeft = await acceptedKeepAlive(quick.port);
  expect(quickLeft).not.toBeNull();
  expect(quickLeft!).toBeLessThanOrEqual(5);
  expect(quickLeft!).toBeGreaterThan(3);
});

describeGearmand("keepalive", () => {
  test("keepalive - gearmand: accepted connections have it, with --keepalive-idle as the idle time (default: the system's)", async () => {
    await using plain = await startGearmand();
    const left = await acceptedKeepAlive(plain.port);
    expect(left).not.toBeNull();
    expect(left!).toBeGreaterThan(SYSTEM_IDLE_SECONDS - 60);
    await using quick = await startGearmand({ args: ["--keepalive", "--keepalive-idle", "5"] });
    const quickLeft = await acceptedKeepAlive(quick.port);
    expect(quickLeft).not.toBeNull();
    expect(quickLeft!).toBeLessThanOrEqual(5);
    expect(quickLeft!).toBeGreaterThan(3);
  });
});

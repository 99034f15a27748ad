/** Shared helpers for the connection tests: a config with test-friendly defaults, event capture. */
import { Connection, type ConnectionConfig, type ConnectionEvent } from "../../src/connection/connection.ts";
import { parseAddress } from "../../src/connection/servers.ts";
import type { Packet } from "../../src/protocol/packets.ts";

export function testConfig(overrides: Partial<ConnectionConfig> = {}): ConnectionConfig {
  return {
    connectTimeout: 2000,
    keepAlive: true,
    keepAliveDelay: 10_000,
    heartbeatInterval: 0,
    heartbeatTimeout: 1000,
    reconnect: () => 50,
    maxPacketSize: 64 * 1024 * 1024,
    highWaterMark: 1024 * 1024,
    handshake: true,
    ...overrides,
  };
}

/** A Connection whose packets and events are recorded; `packets` holds copies. */
export interface Recorded {
  readonly conn: Connection;
  readonly packets: { type: number; args: Uint8Array[] }[];
  readonly events: ConnectionEvent[];
  /** Event types so far, e.g. ["connecting", "ready"]. */
  eventTypes(): string[];
  /** The `nth` (1-based) event of `type` since the start, waiting for it if needed. */
  event(type: ConnectionEvent["type"], nth?: number, timeoutMs?: number): Promise<ConnectionEvent>;
  /** Resolves once `ok()` holds (checked after every packet and event, and every 5 ms). */
  until(ok: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Resolves once `n` packets have arrived. */
  packetsReach(n: number, timeoutMs?: number): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Optional hooks, called from inside the Connection's handlers after recording. */
export interface Hooks {
  packet?(packet: Packet, conn: Connection): void;
  event?(event: ConnectionEvent, conn: Connection): void;
}

export function recordedConnection(address: string, config: ConnectionConfig, hooks: Hooks = {}): Recorded {
  const packets: { type: number; args: Uint8Array[] }[] = [];
  const events: ConnectionEvent[] = [];
  let wake: (() => void)[] = [];
  const poke = (): void => {
    const w = wake;
    wake = [];
    for (const f of w) f();
  };
  const conn = new Connection(parseAddress(address), config, {
    packet(p) {
      packets.push({ type: p.type, args: p.args.map((a) => a.slice()) });
      hooks.packet?.(p, conn);
      poke();
    },
    event(e) {
      events.push(e);
      hooks.event?.(e, conn);
      poke();
    },
  });
  const waitUntil = (ok: () => boolean, what: string, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (): void => {
        done = true;
        clearTimeout(timer);
        clearInterval(poll);
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out waiting for ${what}; events: ${events.map((e) => e.type).join(",")}`));
      }, timeoutMs);
      const check = (): void => {
        if (done) return;
        if (ok()) {
          finish();
          resolve();
        } else wake.push(check);
      };
      const poll = setInterval(check, 5);
      check();
    });
  return {
    conn,
    packets,
    events,
    eventTypes: () => events.map((e) => e.type),
    until: (ok, what, timeoutMs = 5000) => waitUntil(ok, what, timeoutMs),
    async event(type, nth = 1, timeoutMs = 5000) {
      const ofType = () => events.filter((e) => e.type === type);
      await waitUntil(() => ofType().length >= nth, `event ${type} #${nth}`, timeoutMs);
      return ofType()[nth - 1]!;
    },
    packetsReach(n, timeoutMs = 10_000) {
      return waitUntil(() => packets.length >= n, `${n} packets (have ${packets.length})`, timeoutMs);
    },
    async [Symbol.asyncDispose]() {
      await conn.close();
    },
  };
}

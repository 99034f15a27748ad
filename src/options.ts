/**
 * Options resolved in one place. Each table below is the default a user gets; the resolve
 * functions check values and name the option to change in their errors.
 */
import type { ConnectionConfig } from "./connection/connection.ts";
import { exponentialBackoff, type BackoffOptions, type ReconnectPolicy } from "./connection/reconnect.ts";
import { parseServers, type ServerAddress, type ServersInput } from "./connection/servers.ts";
import { ConfigError } from "./errors.ts";
import { DEFAULT_MAX_PACKET_SIZE } from "./protocol/decode.ts";

/** Settings every connection (worker, client, admin) takes. */
export interface ConnectionOptions {
  /**
   * Servers as "host:port", "host", "[v6]:port", comma-separated or an array.
   * @default process.env.GEARMAN_SERVERS, else "127.0.0.1:4730"
   */
  servers?: ServersInput;
  /** Milliseconds to open a socket and get the server's answer to the connect probe. @default 5000 */
  connectTimeout?: number;
  /** TCP keepalive, so a peer that died silently is noticed. @default true */
  keepAlive?: boolean;
  /** Idle milliseconds before the first keepalive probe. @default 10000 */
  keepAliveDelay?: number;
  /** `(attempt) => delayMs | null`, or backoff settings. @default exponentialBackoff() (100 ms doubling to 5 s, ±20 %) */
  reconnect?: ReconnectPolicy | BackoffOptions;
  /** Largest packet body accepted from a server, bytes. @default 64 MiB */
  maxPacketSize?: number;
  /** Bytes queued for a socket before writers wait (backpressure). @default 1 MiB */
  highWaterMark?: number;
}

export const CONNECTION_DEFAULTS = {
  connectTimeout: 5000,
  keepAlive: true,
  keepAliveDelay: 10_000,
  maxPacketSize: DEFAULT_MAX_PACKET_SIZE,
  highWaterMark: 1024 * 1024,
} as const;

export interface ResolvedConnectionOptions {
  readonly servers: ServerAddress[];
  readonly connection: ConnectionConfig;
}

/** Checks that `value` is a finite number ≥ min (or undefined); returns it or the default. */
export function numberOption(name: string, value: number | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || Number.isNaN(value) || value < min) {
    throw new ConfigError(name, `must be a number >= ${min}, got ${String(value)}`);
  }
  return value;
}

export function resolveConnectionOptions(options: ConnectionOptions = {}): ResolvedConnectionOptions {
  const reconnect =
    typeof options.reconnect === "function" ? options.reconnect : exponentialBackoff(options.reconnect ?? {});
  return {
    servers: parseServers(options.servers),
    connection: {
      connectTimeout: numberOption("connectTimeout", options.connectTimeout, CONNECTION_DEFAULTS.connectTimeout, 1),
      keepAlive: options.keepAlive ?? CONNECTION_DEFAULTS.keepAlive,
      keepAliveDelay: numberOption("keepAliveDelay", options.keepAliveDelay, CONNECTION_DEFAULTS.keepAliveDelay, 1000),
      reconnect,
      maxPacketSize: numberOption("maxPacketSize", options.maxPacketSize, CONNECTION_DEFAULTS.maxPacketSize, 1024),
      highWaterMark: numberOption("highWaterMark", options.highWaterMark, CONNECTION_DEFAULTS.highWaterMark, 0),
      handshake: true,
    },
  };
}

/**
 * Connection settings every Worker, Client and Admin takes (servers, timeouts, reconnect backoff,
 * heartbeat, TLS), with their defaults.
 */
import type { ConnectionConfig } from "../connection/connection.ts";
import {
  BACKOFF_DEFAULTS,
  exponentialBackoff,
  type BackoffOptions,
  type ReconnectPolicy,
} from "../connection/reconnect.ts";
import { DEFAULT_SERVER, parseServers, type ServerAddress, type ServersInput } from "../connection/servers.ts";
import { ConfigError } from "../errors.ts";
import { DEFAULT_MAX_PACKET_SIZE } from "../protocol/decode.ts";
import { readFileSync } from "node:fs";
import type { TlsSettings } from "../connection/tls.ts";
import { numberOption, booleanOption } from "./checks.ts";

/** Settings every connection (worker, client, admin) takes. */
export interface ConnectionOptions {
  /**
   * Servers as "host:port", "host", "[v6]:port", comma-separated or an array.
   * @default process.env.GEARMAN_SERVERS, else "127.0.0.1:4730"
   */
  servers?: ServersInput;
  /** Milliseconds to open a socket and get the server's answer to the connect probe. @default 5000 */
  connectTimeout?: number;
  /**
   * TCP keepalive. It only finds a dead peer after the idle time plus the kernel's probes
   * (minutes) and never while sent data is unacknowledged: the heartbeat is what notices a
   * silent server. @default true
   */
  keepAlive?: boolean;
  /** Idle milliseconds before the first keepalive probe. @default 10000 */
  keepAliveDelay?: number;
  /**
   * Milliseconds without a byte from the server before a heartbeat ECHO_REQ is sent; `false` or
   * 0 turns the heartbeat off. Any received byte counts as life, so a busy connection never pings.
   * @default 5000
   */
  heartbeatInterval?: number | false;
  /**
   * Milliseconds a heartbeat may go without anything at all arriving before the connection is
   * dropped (ConnectionError HEARTBEAT_TIMEOUT) and redialled: a silent server is noticed within
   * `heartbeatInterval + heartbeatTimeout`. @default 5000
   */
  heartbeatTimeout?: number;
  /** `(attempt) => delayMs | null`, or backoff settings. @default exponentialBackoff() (100 ms doubling to 5 s, ±20 %) */
  reconnect?: ReconnectPolicy | BackoffOptions;
  /** Largest packet body accepted from a server, bytes. @default 64 MiB */
  maxPacketSize?: number;
  /** Bytes queued for a socket before writers wait (backpressure). @default 1 MiB */
  highWaterMark?: number;
  /**
   * TLS to every server: `true` (the server's certificate checked against Bun's default trust
   * store) or settings. A server written "tls://host:port" uses TLS whatever this says.
   * @default false: only "tls://" servers use TLS
   */
  tls?: boolean | TlsOptions;
}

/**
 * TLS settings of a client, worker or admin connection. `ca`, `cert` and `key` are PEM text or
 * the path of a PEM file. Settings not given come from libgearman's environment variables.
 */
export interface TlsOptions {
  /** CA certificates the server's certificate must be signed by. @default $GEARMAND_CA_CERTIFICATE, else Bun's default trust store (Mozilla's CAs) */
  ca?: string;
  /** Client certificate, for servers that require one (mutual TLS). @default $GEARMAN_CLIENT_PEM, else none */
  cert?: string;
  /** The client certificate's private key. @default $GEARMAN_CLIENT_KEY, else none */
  key?: string;
  /** Name the server's certificate must carry (subjectAltName). @default the server's host */
  servername?: string;
  /**
   * Refuse a server whose certificate does not verify. `false` is unsafe: anyone on the path can
   * pose as the server and read or change every job. For tests only.
   * @default true
   */
  rejectUnauthorized?: boolean;
}

/** libgearman's environment variables that name TLS files (as `gearman -S` reads them). */
export const TLS_ENVIRONMENT = {
  ca: "GEARMAND_CA_CERTIFICATE",
  cert: "GEARMAN_CLIENT_PEM",
  key: "GEARMAN_CLIENT_KEY",
} as const;

export const CONNECTION_DEFAULTS = {
  /** Used when neither the option nor $GEARMAN_SERVERS names a server. */
  servers: DEFAULT_SERVER,
  connectTimeout: 5000,
  keepAlive: true,
  keepAliveDelay: 10_000,
  heartbeatInterval: 5000,
  heartbeatTimeout: 5000,
  maxPacketSize: DEFAULT_MAX_PACKET_SIZE,
  highWaterMark: 1024 * 1024,
} as const;

export interface ResolvedConnectionOptions {
  readonly servers: ServerAddress[];
  readonly connection: ConnectionConfig;
}

/**
 * Checks backoff settings (defaults in `BACKOFF_DEFAULTS`, src/connection/reconnect.ts) and
 * returns them whole. `maxAttempts` may be Infinity: it is a count, never a timer delay.
 */
export function resolveBackoffOptions(options: BackoffOptions = {}): Required<BackoffOptions> {
  if (typeof options !== "object" || options === null) {
    throw new ConfigError(
      "reconnect",
      `must be a function (attempt) => ms | null, or backoff settings, got ${String(options)}`,
    );
  }
  const d = BACKOFF_DEFAULTS;
  const initialDelay = numberOption("reconnect.initialDelay", options.initialDelay, d.initialDelay, 0);
  const maxDelay = numberOption("reconnect.maxDelay", options.maxDelay, Math.max(d.maxDelay, initialDelay), 0);
  if (maxDelay < initialDelay) {
    throw new ConfigError("reconnect.maxDelay", `must be >= initialDelay (${initialDelay}), got ${maxDelay}`);
  }
  const factor = numberOption("reconnect.factor", options.factor, d.factor, 1);
  const jitter = numberOption("reconnect.jitter", options.jitter, d.jitter, 0);
  if (jitter > 1) throw new ConfigError("reconnect.jitter", `must be between 0 and 1, got ${jitter}`);
  const maxAttempts = options.maxAttempts ?? d.maxAttempts;
  if (
    typeof maxAttempts !== "number" ||
    !(maxAttempts >= 0) ||
    !(Number.isInteger(maxAttempts) || maxAttempts === Infinity)
  ) {
    throw new ConfigError(
      "reconnect.maxAttempts",
      `must be a whole number >= 0 or Infinity, got ${String(maxAttempts)}`,
    );
  }
  const random = options.random ?? Math.random;
  if (typeof random !== "function") throw new ConfigError("reconnect.random", "must be a function returning [0, 1)");
  return { initialDelay, maxDelay, factor, jitter, maxAttempts, random };
}

/**
 * A PEM option: PEM text as given, or the text of the file it names. `name` is the option or
 * environment variable, named in the error when the file cannot be read or holds no PEM.
 */
export function pemOption(name: string, value: string): string {
  if (typeof value !== "string" || value.trim() === "") {
    throw new ConfigError(name, `must be PEM text or a file path, got ${JSON.stringify(value)}`);
  }
  if (value.includes("-----BEGIN ")) return value;
  let text: string;
  try {
    text = readFileSync(value, "utf8");
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ConfigError(name, `cannot read file "${value}": ${message}`);
  }
  if (!text.includes("-----BEGIN ")) throw new ConfigError(name, `file "${value}" holds no PEM ("-----BEGIN" line)`);
  return text;
}

/**
 * Resolves the `tls` option. Returns null when TLS is off and no server asks for it (`needed`);
 * otherwise the settings, the environment's files filling in what was not given.
 */
export function resolveTlsOptions(
  input: boolean | TlsOptions | undefined,
  needed: boolean,
  env: Record<string, string | undefined> = process.env,
): TlsSettings | null {
  if (input !== undefined && typeof input !== "boolean" && (typeof input !== "object" || input === null)) {
    throw new ConfigError(
      "tls",
      `must be true, false or { ca, cert, key, servername, rejectUnauthorized }, got ${String(input)}`,
    );
  }
  if (!needed && (input === undefined || input === false)) return null;
  const given: TlsOptions = typeof input === "object" ? input : {};
  const pem = (field: keyof typeof TLS_ENVIRONMENT): string | undefined => {
    if (given[field] !== undefined) return pemOption(`tls.${field}`, given[field]);
    const fromEnv = env[TLS_ENVIRONMENT[field]];
    return fromEnv === undefined || fromEnv === "" ? undefined : pemOption(TLS_ENVIRONMENT[field], fromEnv);
  };
  const ca = pem("ca");
  const cert = pem("cert");
  const key = pem("key");
  if ((cert === undefined) !== (key === undefined)) {
    throw new ConfigError(
      cert === undefined ? "tls.cert" : "tls.key",
      `a client certificate and its key go together: give both or neither (or ${TLS_ENVIRONMENT.cert} and ${TLS_ENVIRONMENT.key})`,
    );
  }
  const servername = given.servername;
  if (servername !== undefined && (typeof servername !== "string" || servername === "" || /\s/.test(servername))) {
    throw new ConfigError("tls.servername", `must be a host name, got ${JSON.stringify(servername)}`);
  }
  return {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(servername === undefined ? {} : { servername }),
    rejectUnauthorized: booleanOption("tls.rejectUnauthorized", given.rejectUnauthorized, true),
  };
}

export function resolveConnectionOptions(options: ConnectionOptions = {}): ResolvedConnectionOptions {
  const reconnect =
    typeof options.reconnect === "function"
      ? options.reconnect
      : exponentialBackoff(resolveBackoffOptions(options.reconnect ?? {}));
  const tlsForAll = options.tls !== undefined && options.tls !== false;
  const servers = parseServers(options.servers).map((s) => (tlsForAll && s.tls !== true ? { ...s, tls: true } : s));
  return {
    servers,
    connection: {
      tls: resolveTlsOptions(
        options.tls,
        servers.some((s) => s.tls === true),
      ),
      connectTimeout: numberOption("connectTimeout", options.connectTimeout, CONNECTION_DEFAULTS.connectTimeout, 1),
      keepAlive: booleanOption("keepAlive", options.keepAlive, CONNECTION_DEFAULTS.keepAlive),
      keepAliveDelay: numberOption("keepAliveDelay", options.keepAliveDelay, CONNECTION_DEFAULTS.keepAliveDelay, 1000),
      heartbeatInterval:
        options.heartbeatInterval === false
          ? 0
          : numberOption("heartbeatInterval", options.heartbeatInterval, CONNECTION_DEFAULTS.heartbeatInterval, 0),
      heartbeatTimeout: numberOption(
        "heartbeatTimeout",
        options.heartbeatTimeout,
        CONNECTION_DEFAULTS.heartbeatTimeout,
        1,
      ),
      reconnect,
      maxPacketSize: numberOption("maxPacketSize", options.maxPacketSize, CONNECTION_DEFAULTS.maxPacketSize, 1024),
      highWaterMark: numberOption("highWaterMark", options.highWaterMark, CONNECTION_DEFAULTS.highWaterMark, 0),
      handshake: true,
    },
  };
}
